"""One interface for every platform (C2); platform-apis.md §0 is its contract.

Adapters speak plain dataclasses: no database, no audit, no decisions. Exactly one of
three errors leaves an adapter, and the calling service decides what it means:

- RetryLater(retry_after): transient (5xx, 429, timeouts, rate limit reached).
  `ambiguous=True` means a write may have landed: reconcile (find_published) first.
- Rejected(reason): a final no, with the platform's reason.
- NeedsReconnect(reason): the credential is dead beyond refresh; the channel must be
  reconnected by an administrator.

An expired access token is refreshed once, silently, and the call retried; only a failed
refresh is NeedsReconnect (§0.2 rule 4).
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol
from urllib.parse import parse_qsl, urlsplit

import requests

# --- What adapters take and give -----------------------------------------------------------


@dataclass(frozen=True)
class Image:
    data: bytes
    mime_type: str = "image/jpeg"
    alt: str = ""
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class OutgoingPost:
    text: str
    images: tuple[Image, ...] = ()
    link: str | None = None
    # One key per publish attempt series: sent as Idempotency-Key where the platform
    # supports it (Mastodon), turned into the record key on Bluesky (§0.3).
    attempt_key: str = ""
    # When the first attempt started (Unix seconds), for reconcile look-ups.
    first_attempt_at: float | None = None


@dataclass(frozen=True)
class Published:
    platform_post_id: str
    url: str = ""


@dataclass(frozen=True)
class IncomingComment:
    platform_comment_id: str
    platform_post_id: str  # the agency post (or video) it belongs to
    parent_id: str | None  # the comment it answers, if it answers a comment
    author_id: str
    author_name: str
    author_handle: str
    text: str
    created_at: datetime
    is_hidden: bool = False
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class CommentBatch:
    comments: list[IncomingComment]
    # Store this only after the comments are committed (M1: nothing is missed).
    cursor: str | None


@dataclass(frozen=True)
class Profile:
    display_name: str
    bio: str
    website: str
    raw: dict = field(default_factory=dict, compare=False)


# --- Errors ------------------------------------------------------------------------------------


class PlatformError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RetryLater(PlatformError):
    def __init__(self, reason: str, *, retry_after: float | None = None, ambiguous: bool = False):
        super().__init__(reason)
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class Rejected(PlatformError):
    pass


class NeedsReconnect(PlatformError):
    pass


class TokenExpired(Exception):
    """Internal: the access token expired; the adapter refreshes once and retries."""


def backoff(attempt: int) -> float:
    """§0.2 rule 3: 2^n × 5 s, ±20 % jitter, capped at 15 min."""
    return min(900.0, (2**attempt) * 5.0) * random.uniform(0.8, 1.2)  # noqa: S311


# --- Credentials ------------------------------------------------------------------------------


@dataclass
class ChannelCredentials:
    """What an adapter needs for one channel. Secrets stay out of repr and logs."""

    platform: str
    account_id: str  # the platform's id of the account (page id, user id, DID, UC…, …)
    handle: str = ""
    base_urls: dict[str, str] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)  # non-secret (instance limits, PDS, …)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    # Called with the new secrets after a refresh, so the caller can store them
    # (refresh tokens rotate: the old one stops working).
    on_secrets_changed: Callable[[dict[str, str]], None] | None = field(default=None, repr=False)
    channel_id: int | None = None

    def update_secrets(self, **changed: str) -> None:
        self.secrets = {**self.secrets, **changed}
        if self.on_secrets_changed is not None:
            self.on_secrets_changed(dict(self.secrets))


# --- Rate limits known before a 429 ------------------------------------------------------------


class RateBook(Protocol):
    def wait_before(self, bucket: str) -> float | None: ...
    def record(self, bucket: str, *, remaining: int, reset_at: float) -> None: ...


class MemoryRateBook:
    """Rate-limit headers remembered in this process (tests, benches, one worker).
    Workers share platforms.ratebook.SharedRateBook instead."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._lock = threading.Lock()
        self._book: dict[str, tuple[int, float]] = {}

    def wait_before(self, bucket: str) -> float | None:
        with self._lock:
            remaining, reset_at = self._book.get(bucket, (1, 0.0))
        wait = reset_at - self.clock()
        return wait if remaining <= 0 and wait > 0 else None

    def record(self, bucket: str, *, remaining: int, reset_at: float) -> None:
        with self._lock:
            self._book[bucket] = (remaining, reset_at)


# --- The adapter -------------------------------------------------------------------------------


class PlatformAdapter:
    platform: ClassVar[str]
    can_publish: ClassVar[bool] = True
    can_hide: ClassVar[bool] = True
    can_delete_comment: ClassVar[bool] = True

    def __init__(
        self,
        credentials: ChannelCredentials,
        *,
        session: requests.Session | None = None,
        rate_book: RateBook | None = None,
        timeout: tuple[float, float] = (5.0, 20.0),
        clock: Callable[[], float] = time.time,
    ):
        self.credentials = credentials
        self.session = session or requests.Session()
        self.rate_book = rate_book or MemoryRateBook(clock)
        self.timeout = timeout
        self.clock = clock

    def __repr__(self):
        return f"<{type(self).__name__} {self.credentials.handle or self.credentials.account_id}>"

    # The interface ------------------------------------------------------------------------

    @property
    def max_length(self) -> int:
        raise NotImplementedError

    def text_length(self, text: str) -> int:
        raise NotImplementedError

    def publish(self, post: OutgoingPost) -> Published:
        raise NotImplementedError

    def find_published(self, post: OutgoingPost) -> Published | None:
        """§0.3 reconcile: the post, if an earlier attempt of it landed."""
        raise NotImplementedError

    def delete(self, platform_post_id: str) -> None:
        raise NotImplementedError

    def fetch_comments(self, *, since: str | None) -> CommentBatch:
        raise NotImplementedError

    def read_comment(self, comment_id: str, *, post_id: str = "") -> IncomingComment | None:
        """One comment as the platform shows it now (the authoritative copy a webhook
        hint is archived from); None when it no longer exists. Platforms with webhooks."""
        raise NotImplementedError

    def hide_comment(self, comment_id: str) -> None:
        raise NotImplementedError

    def unhide_comment(self, comment_id: str) -> None:
        raise NotImplementedError

    def delete_comment(self, comment_id: str) -> None:
        raise NotImplementedError

    def reply(self, comment_id: str, text: str, *, attempt_key: str = "") -> Published:
        raise NotImplementedError

    def read_profile(self) -> Profile:
        raise NotImplementedError

    # Shared machinery --------------------------------------------------------------------

    def url(self, base: str, path: str) -> str:
        return self.credentials.base_urls[base].rstrip("/") + path

    def rate_bucket(self, bucket: str) -> str:
        return f"{self.platform}:{self.credentials.account_id}:{bucket}"

    def send(self, method: str, url: str, *, bucket: str, **kwargs) -> requests.Response:
        """One HTTP call: refuses early when the platform's limit is known to be spent,
        turns network failures into RetryLater, and remembers rate-limit headers.
        The caller classifies a non-2xx answer with its platform's rules."""
        key = self.rate_bucket(bucket)
        wait = self.rate_book.wait_before(key)
        if wait:
            raise RetryLater(
                "The platform's rate limit is reached; waiting for its reset.", retry_after=wait
            )
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as error:
            # A write that got no answer may have landed: the caller reconciles first.
            raise RetryLater(
                f"{self.platform} did not answer ({type(error).__name__}).",
                retry_after=backoff(0),
                ambiguous=method.upper() != "GET",
            ) from None
        limit = self.read_rate_headers(response)
        if limit is not None:
            remaining, reset_at = limit
            self.rate_book.record(key, remaining=remaining, reset_at=reset_at)
        return response

    def read_rate_headers(self, response: requests.Response) -> tuple[int, float] | None:
        """(remaining, reset epoch) from the platform's rate-limit headers, if any."""
        return None

    def with_refresh(self, call: Callable[[], object]):
        """Run a call; on an expired token refresh once and run it again (§0.2 rule 4)."""
        try:
            return call()
        except TokenExpired:
            self.refresh()
        try:
            return call()
        except TokenExpired:
            raise NeedsReconnect(
                f"{self.platform} refused the refreshed credential. Reconnect the channel."
            ) from None

    def refresh(self) -> None:
        """Renew the access token, or raise NeedsReconnect. Platforms without refresh
        (Facebook Page tokens, Mastodon) raise NeedsReconnect at once."""
        raise NeedsReconnect(f"The {self.platform} credential has expired. Reconnect the channel.")


# --- Connecting a channel (C1) ---------------------------------------------------------------


class ConnectRefused(Exception):
    """Connecting failed; .message says why in words an administrator can act on
    (consent denied, state mismatch, not a Mastodon server, wrong app password, …)."""

    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.message, self.code = message, code


@dataclass(frozen=True)
class ConnectStart:
    authorize_url: str
    state: str
    code_verifier: str | None = None  # PKCE: keep it server-side until the callback


@dataclass
class ConnectedAccount:
    account_id: str
    handle: str
    display_name: str
    secrets: dict[str, str] = field(repr=False)
    settings: dict = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str = ""


class Connector:
    """A platform's connect flow. OAuth platforms implement start() and finish();
    Bluesky implements login() (handle + app password)."""

    platform: ClassVar[str]

    def __init__(
        self,
        *,
        base_urls: dict[str, str],
        client: OAuthClient | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 20.0),
    ):
        self.base_urls, self.client = base_urls, client
        self.session = session or requests.Session()
        self.timeout = timeout

    # How the platform is named to the administrator in refusals ("X", "Google", …).
    display_name: ClassVar[str] = ""

    def start(self, *, state: str) -> ConnectStart:
        raise NotImplementedError

    def read_callback(self, callback_url: str, start: ConnectStart) -> dict[str, str]:
        """The platform's answer on the callback, checked: it belongs to this attempt
        (state, compared in constant time), consent was given, and a code came back."""
        answer = dict(parse_qsl(urlsplit(callback_url).query))
        name = self.display_name or self.platform
        if not secrets.compare_digest(answer.get("state", ""), start.state):
            raise ConnectRefused(
                f"This answer from {name} does not belong to the connection you started, so "
                "SMC ignored it. Start connecting the channel again.",
                code="state_mismatch",
            )
        if answer.get("error") == "access_denied":
            raise ConnectRefused(
                f"{name} did not give SMC access: the person connecting declined. Connect "
                "again and allow SMC.",
                code="access_denied",
            )
        if answer.get("error") or not answer.get("code"):
            why = answer.get("error_description") or answer.get("error") or "no code came back"
            raise ConnectRefused(
                f"{name} did not give SMC access ({why}). Start connecting the channel again.",
                code="oauth_error",
            )
        return answer

    def finish(self, *, callback_url: str, start: ConnectStart) -> list[ConnectedAccount]:
        """Exchange the callback's code for credentials. Raises ConnectRefused for a
        denied consent, a state mismatch or a platform that does not answer."""
        raise NotImplementedError

    def login(self, *, identifier: str, app_password: str) -> ConnectedAccount:
        raise NotImplementedError
