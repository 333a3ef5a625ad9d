"""Mastodon, any instance (platform-apis.md §4).

Each channel lives on its own server: base_urls["instance"] is its origin, and the
instance's own limits (max_characters, characters_reserved_per_url) are read when the
channel connects and kept in its settings. Tokens never expire and there is no refresh:
a 401 means the token was revoked, so the channel needs reconnecting (§0.2 rule 4).

Mastodon cannot hide or delete another account's reply (§4.5); SMC holds such a comment
in its own queue, and this adapter refuses hide, unhide and delete_comment.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

import requests
from oauthlib.oauth2 import InsecureTransportError, WebApplicationClient
from requests_oauthlib import OAuth2Session

from platforms.adapters import base
from platforms.adapters.base import (
    CommentBatch,
    ConnectedAccount,
    ConnectRefused,
    ConnectStart,
    Image,
    IncomingComment,
    NeedsReconnect,
    OAuthClient,
    OutgoingPost,
    PlatformAdapter,
    Profile,
    Published,
    Rejected,
    RetryLater,
    backoff,
)
from platforms.length import URL, mastodon_length

# What SMC asks an instance for: post, read replies and the profile, and the
# policy-gated report/mute/block of §4.5. Nothing else.
SCOPES = [
    "read:accounts", "read:statuses", "read:notifications", "write:statuses", "write:media",
    "write:blocks", "write:mutes", "write:reports",
]  # fmt: skip
DEFAULT_MAX_CHARACTERS = 500
DEFAULT_PER_URL = 23
DEFAULT_MAX_MEDIA = 4
NOTIFICATIONS_PAGE = 80  # the most Mastodon gives per page
# One fetch reads at most this many pages; the cursor then resumes where it stopped.
MAX_PAGES = 20
RECENT_STATUSES = 40  # the most one page of an account's statuses holds
# Seconds to wait before each look at media Mastodon is still processing (GIF → video).
MEDIA_POLL_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
REFUSED_MODERATION = (
    "Mastodon cannot hide or delete another account's reply; SMC holds it in its own queue instead."
)
NOT_READY = "not finished processing"  # Mastodon's 422 for media still being processed
REMOTE_MENTION = re.compile(r"(?<![\w/])@(\w+)@[\w.-]+\w")


class _TextOfHtml(HTMLParser):
    """Statuses of others come only as HTML: paragraphs and line breaks become newlines,
    and the hidden parts of shortened links are kept, so a URL reads in full."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")
        elif tag in ("p", "li", "blockquote") and self.parts:
            self.parts.append("\n\n" if tag == "p" else "\n")

    def handle_data(self, data):
        self.parts.append(data)


def text_of(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html or "")
    parser.close()
    return "".join(parser.parts)


def _comparable(text: str) -> str:
    # Mastodon renders a remote mention as its local part and may reflow whitespace.
    return " ".join(REMOTE_MENTION.sub(r"@\1", text).split())


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        return str(body.get("error_description") or body["error"])
    return f"HTTP {response.status_code} {response.reason or ''}".strip()


class MastodonAdapter(PlatformAdapter):
    platform = "mastodon"
    can_hide = False
    can_delete_comment = False

    # -- length -------------------------------------------------------------------------------

    @property
    def max_length(self) -> int:
        return int(self.credentials.settings.get("max_characters", DEFAULT_MAX_CHARACTERS))

    def text_length(self, text: str) -> int:
        per_url = self.credentials.settings.get("characters_reserved_per_url", DEFAULT_PER_URL)
        return mastodon_length(text, per_url=int(per_url))

    def _check_length(self, text: str) -> None:
        length = self.text_length(text)
        if length > self.max_length:
            raise Rejected(
                f"The text is {length} characters long; this Mastodon server allows "
                f"{self.max_length}."
            )

    # -- HTTP ---------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        bucket: str = "api",
        headers=None,
        done: tuple[int, ...] = (),
        **kwargs,
    ):
        """One API call; a status outside 2xx (and `done`) raises per §4.6."""
        token = self.credentials.secrets["access_token"]
        response = self.send(
            method,
            self.url("instance", path),
            bucket=bucket,
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
            **kwargs,
        )
        if response.status_code >= 300 and response.status_code not in done:
            raise self._classify(response, method)
        return response

    def _json(self, response: requests.Response):
        try:
            return response.json()
        except ValueError:
            raise RetryLater(
                f"Mastodon answered HTTP {response.status_code} without JSON.",
                retry_after=backoff(0),
            ) from None

    def _classify(self, response: requests.Response, method: str) -> Exception:
        """§4.6: the HTTP status decides, the message refines."""
        status, message = response.status_code, _error_text(response)
        if status == 401:
            return NeedsReconnect(
                f"Mastodon no longer accepts this channel's access token ({message}). "
                "Reconnect the channel."
            )
        if status == 403 and "outside the authorized scopes" in message:
            return NeedsReconnect(
                f"SMC lacks a permission on Mastodon ({message}). Reconnect the channel to "
                "grant it."
            )
        if status == 429:
            return RetryLater(
                "Mastodon's rate limit is reached; waiting for its reset.",
                retry_after=self._wait_for_reset(response),
            )
        if status == 422 and NOT_READY in message:
            return RetryLater(f"Mastodon: {message}", retry_after=5.0)
        if status >= 500:
            # A write answered 5xx may still have been committed before the failure.
            return RetryLater(
                f"Mastodon answered {status}: {message}",
                retry_after=backoff(0),
                ambiguous=method.upper() != "GET",
            )
        return Rejected(f"Mastodon refused: {message}")

    def read_rate_headers(self, response: requests.Response) -> tuple[int, float] | None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset = response.headers.get("X-RateLimit-Reset")
        if remaining is None or reset is None:
            return None
        try:
            return int(remaining), _when(reset).timestamp()
        except ValueError:
            return None

    def _wait_for_reset(self, response: requests.Response) -> float:
        limit = self.read_rate_headers(response)
        if limit is None:
            return backoff(0)
        return max(1.0, limit[1] - self.clock())

    # -- publish ------------------------------------------------------------------------------

    @staticmethod
    def _status_text(post: OutgoingPost) -> str:
        # Links are plain text on Mastodon (the server builds the preview card itself).
        if post.link and post.link not in post.text:
            return f"{post.text}\n\n{post.link}"
        return post.text

    def publish(self, post: OutgoingPost) -> Published:
        text = self._status_text(post)
        self._check_length(text)
        most = int(self.credentials.settings.get("max_media_attachments", DEFAULT_MAX_MEDIA))
        if len(post.images) > most:
            raise Rejected(f"A Mastodon post takes at most {most} images.")
        body: dict = {"status": text, "visibility": "public"}
        if post.images:
            body["media_ids"] = [self._upload(image, n) for n, image in enumerate(post.images)]
        status = self._post_status(body, post.attempt_key)
        return Published(status["id"], status.get("url") or "")

    def _post_status(self, body: dict, attempt_key: str) -> dict:
        # Mastodon keeps an Idempotency-Key for an hour: a resend of this attempt returns
        # the status it already made instead of a second one (§0.3).
        headers = {"Idempotency-Key": attempt_key} if attempt_key else {}
        return self._json(self._call("POST", "/api/v1/statuses", json=body, headers=headers))

    def _upload(self, image: Image, number: int) -> str:
        extension = image.mime_type.rsplit("/", 1)[-1]
        files = {"file": (f"image{number + 1}.{extension}", image.data, image.mime_type)}
        data = {"description": image.alt} if image.alt else {}
        response = self._call("POST", "/api/v2/media", bucket="media", files=files, data=data)
        media = self._json(response)
        if response.status_code == 202:
            self._wait_until_processed(media["id"])
        return media["id"]

    def _wait_until_processed(self, media_id: str) -> None:
        for delay in MEDIA_POLL_DELAYS:
            time.sleep(delay)
            if self._call("GET", f"/api/v1/media/{media_id}").status_code == 200:
                return
        raise RetryLater("Mastodon is still processing an image of this post.", retry_after=30)

    def find_published(self, post: OutgoingPost) -> Published | None:
        """§0.3: our recent top-level statuses, matched by text. A later resend would also
        be safe within the hour (same Idempotency-Key), but this look-up creates nothing."""
        wanted = _comparable(self._status_text(post))
        # Agencies repeat texts ("Main St is closed"): only a status from this attempt's
        # time counts, with two minutes for clock differences.
        since = post.first_attempt_at - 120 if post.first_attempt_at else None
        params = {"limit": RECENT_STATUSES, "exclude_replies": "true", "exclude_reblogs": "true"}
        path = f"/api/v1/accounts/{self.credentials.account_id}/statuses"
        for status in self._json(self._call("GET", path, params=params)):
            if since is not None and _when(status["created_at"]).timestamp() < since:
                continue
            if _comparable(text_of(status["content"])) == wanted:
                return Published(status["id"], status.get("url") or "")
        return None

    def delete(self, platform_post_id: str) -> None:
        # 404/410 mean already gone: Mastodon says 404 for another's status too, but SMC
        # only deletes ids it published.
        path = f"/api/v1/statuses/{platform_post_id}"
        self._call("DELETE", path, bucket="delete", done=(404, 410))

    # -- comments -----------------------------------------------------------------------------

    def fetch_comments(self, *, since: str | None) -> CommentBatch:
        """Mentions since the cursor (the newest notification id seen), oldest page first.

        A channel's first fetch reads only its newest page rather than replaying the
        account's whole history. If it finds nothing, the cursor becomes "0" (read from
        the start next time): otherwise a burst before the next fetch would again be
        read newest page only, and its oldest mentions lost (M1)."""
        comments: list[IncomingComment] = []
        cursor, owners = since, {}
        for _ in range(MAX_PAGES):
            params = [
                ("types[]", "mention"),
                ("limit", NOTIFICATIONS_PAGE),
                ("include_filtered", "true"),
            ]
            if cursor is not None:
                params.append(("min_id", cursor))
            page = self._json(self._call("GET", "/api/v1/notifications", params=params))
            if not page:
                break
            page.sort(key=lambda n: int(n["id"]))
            cursor = page[-1]["id"]
            comments += [self._comment(n, owners) for n in page if n.get("status")]
        return CommentBatch(comments=comments, cursor=cursor or "0")

    def _comment(self, notification: dict, owners: dict[str, str]) -> IncomingComment:
        status, me = notification["status"], self.credentials.account_id
        replied_to = status.get("in_reply_to_id")
        if replied_to and status.get("in_reply_to_account_id") == me:
            post_id, parent_id = replied_to, None
        elif replied_to:
            post_id, parent_id = self._our_status_above(replied_to, owners), replied_to
        else:
            # A bare mention answers no post of ours; it is still a public message to the
            # agency and is ingested (M1), with no post to file it under.
            post_id, parent_id = "", None
        account = status["account"]
        acct = account["acct"]
        if "@" not in acct:
            # A local account's acct has no domain; the handle names the instance.
            acct += "@" + urlsplit(self.credentials.base_urls["instance"]).netloc
        text = text_of(status["content"])
        if status.get("spoiler_text"):
            # The content warning is part of what was written; the policy must see it.
            text = f"{status['spoiler_text']}\n\n{text}"
        return IncomingComment(
            platform_comment_id=status["id"],
            platform_post_id=post_id,
            parent_id=parent_id,
            author_id=account["id"],
            author_name=account.get("display_name") or account["username"],
            author_handle=f"@{acct}",
            text=text,
            created_at=_when(status["created_at"]),
            raw=notification,
        )

    def _our_status_above(self, reply_id: str, owners: dict[str, str]) -> str:
        """The nearest status of ours above a public reply (so, above every answer to it);
        `owners` keeps what one fetch already looked up."""
        if reply_id not in owners:
            context = self._json(self._call("GET", f"/api/v1/statuses/{reply_id}/context"))
            ours = [
                s["id"]
                for s in context["ancestors"]
                if s["account"]["id"] == self.credentials.account_id
            ]
            owners[reply_id] = ours[-1] if ours else ""
        return owners[reply_id]

    def hide_comment(self, comment_id: str) -> None:
        raise Rejected(REFUSED_MODERATION)

    def unhide_comment(self, comment_id: str) -> None:
        raise Rejected(REFUSED_MODERATION)

    def delete_comment(self, comment_id: str) -> None:
        raise Rejected(REFUSED_MODERATION)

    def reply(self, comment_id: str, text: str, *, attempt_key: str = "") -> Published:
        comment = self._json(self._call("GET", f"/api/v1/statuses/{comment_id}"))
        # Mastodon threads a reply but does not address it: the mention goes in the text.
        mention = f"@{comment['account']['acct']}"
        if not text.startswith(mention):
            text = f"{mention} {text}"
        self._check_length(text)
        # Never widen the audience: a followers-only or direct comment gets a reply that
        # stays followers-only or direct, or a private message would be answered publicly.
        visibility = comment.get("visibility")
        if visibility not in ("unlisted", "private", "direct"):
            visibility = "public"
        body = {"status": text, "in_reply_to_id": comment_id, "visibility": visibility}
        status = self._post_status(body, attempt_key)
        return Published(status["id"], status.get("url") or "")

    # -- profile (C3) -------------------------------------------------------------------------

    def read_profile(self) -> Profile:
        account = self._json(self._call("GET", "/api/v1/accounts/verify_credentials"))
        source = account.get("source") or {}
        bio = source.get("note") if source.get("note") is not None else text_of(account["note"])
        fields = source.get("fields") or [
            {**f, "value": text_of(f["value"])} for f in account.get("fields", [])
        ]
        # A link verified with rel="me" is the strongest claim to be the agency's site.
        fields = sorted(fields, key=lambda f: f.get("verified_at") is None)
        website = next((m[0] for f in fields if (m := URL.search(f["value"]))), "")
        return Profile(
            display_name=account.get("display_name") or account["username"],
            bio=bio,
            website=website,
            raw=account,
        )


# --- Connecting a channel (C1) ---------------------------------------------------------------


class Connector(base.Connector):
    """OAuth with PKCE against one instance, after registering SMC there.

    The caller registers once per instance origin (register_app; platforms.connect keeps
    the registration), then builds Connector(base_urls={"instance": origin},
    client=<that OAuthClient>) and runs start() and finish()."""

    platform = "mastodon"

    @classmethod
    def register_app(
        cls,
        instance_url: str,
        redirect_uri: str,
        *,
        website: str = "",
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 20.0),
    ) -> OAuthClient:
        origin = instance_url.rstrip("/")
        http = session or requests.Session()
        _read_instance(http, origin, timeout)
        body = {"client_name": "SMC", "redirect_uris": [redirect_uri], "scopes": " ".join(SCOPES)}
        if website:
            body["website"] = website
        response = _request(http, "POST", origin, "/api/v1/apps", timeout, json=body)
        if response.status_code != 200:
            raise ConnectRefused(
                f"{origin} refused to register SMC: {_error_text(response)}",
                code="registration_refused",
            )
        app = response.json()
        return OAuthClient(app["client_id"], app["client_secret"], redirect_uri)

    @property
    def origin(self) -> str:
        return self.base_urls["instance"]

    @property
    def display_name(self) -> str:  # refusals name the instance, e.g. mastodon.social
        return urlsplit(self.origin).netloc

    def start(self, *, state: str) -> ConnectStart:
        # Our own oauthlib client, so the PKCE verifier is read from a public attribute.
        client = WebApplicationClient(self.client.client_id)
        oauth = OAuth2Session(
            client=client, redirect_uri=self.client.redirect_uri, scope=SCOPES, pkce="S256"
        )
        # force_login: the administrator signs in as the agency's account, not as
        # whoever is signed in to that instance in this browser.
        try:
            url, state = oauth.authorization_url(
                f"{self.origin}/oauth/authorize", state=state, force_login="true"
            )
        except InsecureTransportError:
            raise ConnectRefused(
                f"{self.origin} does not use HTTPS, so SMC will not sign in there. Check the "
                "address, e.g. https://mastodon.social.",
                code="not_https",
            ) from None
        return ConnectStart(authorize_url=url, state=state, code_verifier=client.code_verifier)

    def finish(self, *, callback_url: str, start: ConnectStart) -> list[ConnectedAccount]:
        answer = self.read_callback(callback_url, start)
        host = self.display_name
        form = {
            "grant_type": "authorization_code", "code": answer["code"],
            "client_id": self.client.client_id, "client_secret": self.client.client_secret,
            "redirect_uri": self.client.redirect_uri,
        }  # fmt: skip
        if start.code_verifier:
            form["code_verifier"] = start.code_verifier
        response = _request(
            self.session, "POST", self.origin, "/oauth/token", self.timeout, data=form
        )
        if response.status_code != 200:
            raise ConnectRefused(
                f"{host} refused SMC's sign-in ({_error_text(response)}). Start connecting again.",
                code="token_refused",
            )
        token = response.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        me = "/api/v1/accounts/verify_credentials"
        response = _request(self.session, "GET", self.origin, me, self.timeout, headers=auth)
        if response.status_code != 200:
            raise ConnectRefused(
                f"{host} did not show the account just authorized ({_error_text(response)}).",
                code="verify_failed",
            )
        account = response.json()
        limits = _read_instance(self.session, self.origin, self.timeout)["configuration"]
        statuses = limits.get("statuses", {})
        return [
            ConnectedAccount(
                account_id=account["id"],
                handle=f"{account['acct']}@{host}",
                display_name=account.get("display_name") or account["username"],
                secrets={"access_token": token},
                settings={
                    "max_characters": statuses.get("max_characters", DEFAULT_MAX_CHARACTERS),
                    "characters_reserved_per_url": statuses.get(
                        "characters_reserved_per_url", DEFAULT_PER_URL
                    ),
                    "max_media_attachments": statuses.get(
                        "max_media_attachments", DEFAULT_MAX_MEDIA
                    ),
                },
                base_urls={"instance": self.origin},
            )
        ]


def _request(http: requests.Session, method: str, origin: str, path: str, timeout, **kwargs):
    try:
        return http.request(method, origin + path, timeout=timeout, **kwargs)
    except requests.RequestException:
        raise ConnectRefused(
            f"{origin} did not answer. Check the address and try again in a few minutes.",
            code="no_answer",
        ) from None


def _read_instance(http: requests.Session, origin: str, timeout) -> dict:
    """The instance's description; refuses a server that is not Mastodon, since only
    a Mastodon server answers /api/v2/instance with its configuration."""
    response = _request(http, "GET", origin, "/api/v2/instance", timeout)
    if response.status_code >= 500:
        raise ConnectRefused(
            f"{origin} did not answer properly (HTTP {response.status_code}). Try again in a "
            "few minutes.",
            code="no_answer",
        )
    try:
        instance = response.json() if response.status_code == 200 else None
    except ValueError:
        instance = None
    if not isinstance(instance, dict) or not isinstance(instance.get("configuration"), dict):
        raise ConnectRefused(
            f"{origin} is not a Mastodon server. Check the address, e.g. https://mastodon.social.",
            code="not_mastodon",
        )
    return instance
