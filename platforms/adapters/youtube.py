"""YouTube (Data API v3): platform-apis.md §3.

SMC only moderates on YouTube: it reads the comments on all the channel's videos, holds,
releases and rejects them, and replies. The Data API cannot make Community posts and SMC
uploads no videos, so publish is refused (§3.2).

Google sends no rate-limit headers; what limits SMC is the project's daily quota of
10,000 units, reset at midnight Pacific Time. The adapter counts the units it spends and
refuses a call that would overrun the day, rather than let Google refuse it (§3.6).

Credentials: secrets {access_token, refresh_token, client_secret}, settings {client_id}.
Google's access tokens live an hour; a refresh needs SMC's OAuth client, and the channel
is the only thing an adapter is given, so the client travels with it.
"""

from __future__ import annotations

import threading
import weakref
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import requests
from oauthlib.oauth2 import InsecureTransportError, WebApplicationClient
from requests_oauthlib import OAuth2Session

from platforms.adapters.base import (
    CommentBatch,
    ConnectedAccount,
    ConnectRefused,
    ConnectStart,
    IncomingComment,
    NeedsReconnect,
    OutgoingPost,
    PlatformAdapter,
    Profile,
    Published,
    RateBook,
    Rejected,
    RetryLater,
    TokenExpired,
    backoff,
)
from platforms.adapters.base import Connector as BaseConnector
from platforms.length import urls

SCOPE = "https://www.googleapis.com/auth/youtube.force-ssl"
PACIFIC = ZoneInfo("America/Los_Angeles")
DAILY_QUOTA = 10_000
LIST_UNITS, WRITE_UNITS = 1, 50  # §3.6: every list 1; insert, setModerationStatus, delete 50
# No "since" filter exists: threads are read newest first down to the watermark, with
# five minutes of overlap for comments that Google indexed late.
OVERLAP = timedelta(minutes=5)
# heldForReview and likelySpam threads are only shown to the owner, one list per status.
STATUSES = ("published", "heldForReview", "likelySpam")
NOT_PUBLIC = {"heldForReview", "likelySpam"}


def next_pacific_midnight(now: float) -> float:
    """When Google's quota day ends (Unix seconds); midnight exists on every US DST day."""
    today = datetime.fromtimestamp(now, PACIFIC).date()
    return datetime.combine(today + timedelta(days=1), time(0), PACIFIC).timestamp()


def _google_error(response: requests.Response) -> tuple[str, str]:
    """(errors[0].reason, message) of Google's error body; empty when it has none."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return "", ""
    if not isinstance(error, dict):
        return "", ""
    first = (error.get("errors") or [{}])[0]
    return first.get("reason", ""), error.get("message", "")


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).astimezone(UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _quota_day(now: float) -> str:
    return datetime.fromtimestamp(now, PACIFIC).date().isoformat()


def _author_channel(comment: dict) -> str:
    return comment["snippet"].get("authorChannelId", {}).get("value", "")


class _QuotaLedger:
    """Units spent per Google project and Pacific day.

    A RateBook can record what remains but cannot be asked for it, so the count lives
    here, one ledger per rate book: adapters sharing a book share the count, as they
    share what the book records."""

    def __init__(self):
        self._lock = threading.Lock()
        self._spent: dict[tuple[str, str], int] = {}

    def spent(self, project: str, day: str) -> int:
        with self._lock:
            return self._spent.get((project, day), 0)

    def add(self, project: str, day: str, units: int) -> int:
        with self._lock:
            # Past days are never read again.
            self._spent = {k: v for k, v in self._spent.items() if k[1] >= day}
            self._spent[(project, day)] = self._spent.get((project, day), 0) + units
            return self._spent[(project, day)]


_LEDGERS: weakref.WeakKeyDictionary[RateBook, _QuotaLedger] = weakref.WeakKeyDictionary()
_LEDGERS_LOCK = threading.Lock()


def _ledger_of(book: RateBook) -> _QuotaLedger:
    with _LEDGERS_LOCK:
        return _LEDGERS.setdefault(book, _QuotaLedger())


class YouTubeAdapter(PlatformAdapter):
    platform = "youtube"
    can_publish = False
    max_length = 10_000  # characters in a comment or reply

    def text_length(self, text: str) -> int:
        return len(text)

    # -- posts: none (§3.2) -------------------------------------------------------------------

    def publish(self, post: OutgoingPost) -> Published:
        raise Rejected("YouTube accepts no posts from SMC")

    def find_published(self, post: OutgoingPost) -> Published | None:
        return None

    def delete(self, platform_post_id: str) -> None:
        """Delete one of SMC's own replies (§3.3); one already gone counts as done."""
        self._call(
            "DELETE",
            "/youtube/v3/comments",
            units=WRITE_UNITS,
            params={"id": platform_post_id},
            done_if=("commentNotFound",),
        )

    # -- comments (§3.4) ------------------------------------------------------------------------

    def fetch_comments(self, *, since: str | None) -> CommentBatch:
        stop_at = _when(since) - OVERLAP if since else None
        newest = _when(since) if since else None
        comments: list[IncomingComment] = []
        for status in STATUSES:
            for thread in self._threads(status, stop_at):
                top = thread["snippet"]["topLevelComment"]
                video_id = thread["snippet"]["videoId"]
                hidden = status in NOT_PUBLIC
                replies = thread.get("replies", {}).get("comments", [])
                if thread["snippet"].get("totalReplyCount", 0) > len(replies):
                    replies = self._replies(top["id"])
                for comment in (top, *replies):
                    published = _when(comment["snippet"]["publishedAt"])
                    newest = max(newest, published) if newest else published
                    if _author_channel(comment) == self.credentials.account_id:
                        continue  # the agency's own words are not incoming comments
                    comments.append(self._incoming(comment, video_id, top["id"], hidden))
        return CommentBatch(comments=comments, cursor=_stamp(newest) if newest else None)

    def _threads(self, status: str, stop_at: datetime | None):
        """Threads of one moderation status, newest first, down to the watermark."""
        params = {
            "part": "snippet,replies",
            "allThreadsRelatedToChannelId": self.credentials.account_id,
            "moderationStatus": status,
            "order": "time",
            "maxResults": 100,
            "textFormat": "plainText",
        }
        while True:
            page = self._call("GET", "/youtube/v3/commentThreads", units=LIST_UNITS, params=params)
            for thread in page.get("items", []):
                published = thread["snippet"]["topLevelComment"]["snippet"]["publishedAt"]
                if stop_at and _when(published) <= stop_at:
                    return
                yield thread
            if not page.get("nextPageToken"):
                return
            params = {**params, "pageToken": page["nextPageToken"]}

    def _replies(self, parent_id: str) -> list[dict]:
        """Every reply of a thread: a thread resource carries only a few (§3.4)."""
        params = {
            "part": "snippet",
            "parentId": parent_id,
            "maxResults": 100,
            "textFormat": "plainText",
        }
        replies = []
        while True:
            page = self._call("GET", "/youtube/v3/comments", units=LIST_UNITS, params=params)
            replies.extend(page.get("items", []))
            if not page.get("nextPageToken"):
                return replies
            params = {**params, "pageToken": page["nextPageToken"]}

    def _incoming(
        self, comment: dict, video_id: str, top_id: str, thread_hidden: bool
    ) -> IncomingComment:
        snippet = comment["snippet"]
        # authorChannelUrl is http://www.youtube.com/@handle for channels with a handle.
        handle = snippet.get("authorChannelUrl", "").rstrip("/").rpartition("/")[2]
        return IncomingComment(
            platform_comment_id=comment["id"],
            platform_post_id=video_id,
            parent_id=top_id if comment["id"] != top_id else None,
            author_id=_author_channel(comment),
            author_name=snippet.get("authorDisplayName", ""),
            author_handle=handle if handle.startswith("@") else "",
            text=snippet.get("textDisplay", ""),
            created_at=_when(snippet["publishedAt"]),
            is_hidden=thread_hidden or snippet.get("moderationStatus") in NOT_PUBLIC,
            raw=comment,
        )

    # -- moderation (§3.5) ----------------------------------------------------------------------

    def hide_comment(self, comment_id: str) -> None:
        # Held, not rejected: a held comment can be released again (unhide).
        self._moderate(comment_id, "heldForReview")

    def unhide_comment(self, comment_id: str) -> None:
        self._moderate(comment_id, "published")

    def delete_comment(self, comment_id: str) -> None:
        """Reject: irreversible on YouTube, so SMC's service decides when (§6)."""
        self._moderate(comment_id, "rejected", done_if=("commentNotFound",))

    def _moderate(self, comment_id: str, status: str, done_if: tuple[str, ...] = ()) -> None:
        self._call(
            "POST",
            "/youtube/v3/comments/setModerationStatus",
            units=WRITE_UNITS,
            params={"id": comment_id, "moderationStatus": status},
            done_if=done_if,
        )

    def reply(self, comment_id: str, text: str, *, attempt_key: str = "") -> Published:
        if self.text_length(text) > self.max_length:
            raise Rejected(
                f"A YouTube reply may have at most {self.max_length:,} characters; "
                f"this one has {self.text_length(text):,}."
            )
        # Replies are one level deep: answering a reply means answering its thread, whose
        # id is the part of a reply id before the dot.
        thread_id = comment_id.partition(".")[0]
        # YouTube has no idempotency key and SMC cannot tell a first attempt from a retry
        # whose answer was lost, so every reply first looks for itself (§0.3).
        landed = self._find_reply(thread_id, text)
        if landed is not None:
            return landed
        comment = self._call(
            "POST",
            "/youtube/v3/comments",
            units=WRITE_UNITS,
            params={"part": "snippet"},
            json={"snippet": {"parentId": thread_id, "textOriginal": text}},
        )
        return self._published(comment)

    def _find_reply(self, thread_id: str, text: str) -> Published | None:
        for reply in self._replies(thread_id):
            snippet = reply["snippet"]
            ours = _author_channel(reply) == self.credentials.account_id
            if ours and snippet.get("textOriginal", snippet.get("textDisplay")) == text:
                return self._published(reply)
        return None

    @staticmethod
    def _published(comment: dict) -> Published:
        video_id = comment.get("snippet", {}).get("videoId", "")
        return Published(
            platform_post_id=comment["id"],
            url=f"https://www.youtube.com/watch?v={video_id}&lc={comment['id']}",
        )

    # -- profile (§3.7) -------------------------------------------------------------------------

    def read_profile(self) -> Profile:
        answer = self._call(
            "GET",
            "/youtube/v3/channels",
            units=LIST_UNITS,
            params={"part": "snippet,brandingSettings", "mine": "true"},
        )
        if not answer.get("items"):
            raise Rejected("This Google account has no YouTube channel.")
        channel = answer["items"][0]
        snippet = channel.get("snippet", {})
        bio = snippet.get("description") or (
            channel.get("brandingSettings", {}).get("channel", {}).get("description", "")
        )
        # The API has no links field: an agency's website can only be in the description.
        found = urls(bio)
        return Profile(
            display_name=snippet.get("title", ""),
            bio=bio,
            website=found[0] if found else "",
            raw=channel,
        )

    # -- calls, errors, quota -------------------------------------------------------------------

    @property
    def _project(self) -> str:
        """The Google project, named by SMC's OAuth client: what the quota belongs to."""
        return self.credentials.settings.get("client_id", "")

    @property
    def _daily_quota(self) -> int:
        # An operator whose project was granted more quota (or a test wanting less) says so.
        return int(self.credentials.settings.get("daily_quota", DAILY_QUOTA))

    def rate_bucket(self, bucket: str) -> str:
        # Quota is the project's, shared by all its channels: keyed by project, not account.
        return f"{self.platform}:{self._project}:{bucket}"

    def _call(
        self,
        method: str,
        path: str,
        *,
        units: int,
        params: dict | None = None,
        json: dict | None = None,
        done_if: tuple[str, ...] = (),
    ) -> dict:
        """One Data API call, refreshed once on 401; its JSON ({} for 204 and done_if)."""

        def attempt() -> dict:
            self._check_quota(units)
            # Read at each attempt: the retry after a refresh carries the new token.
            token = self.credentials.secrets.get("access_token", "")
            response = self.send(
                method,
                self.url("api", path),
                bucket="quota",
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {token}"},
            )
            # Google charges every call it answers, refused ones included.
            self._spend(units)
            if response.ok:
                return response.json() if response.content else {}
            reason, message = _google_error(response)
            if reason and reason in done_if:
                return {}
            raise self._classify(response.status_code, reason, message)

        return self.with_refresh(attempt)

    def _check_quota(self, units: int) -> None:
        now = self.clock()
        spent = _ledger_of(self.rate_book).spent(self._project, _quota_day(now))
        if spent + units > self._daily_quota:
            raise RetryLater(
                f"SMC has used YouTube's daily quota ({spent:,} of {self._daily_quota:,} "
                "units); it renews at midnight Pacific Time.",
                retry_after=next_pacific_midnight(now) - now,
            )

    def _spend(self, units: int) -> None:
        now = self.clock()
        spent = _ledger_of(self.rate_book).add(self._project, _quota_day(now), units)
        self.rate_book.record(
            self.rate_bucket("quota"),
            remaining=self._daily_quota - spent,
            reset_at=next_pacific_midnight(now),
        )

    def _classify(self, status: int, reason: str, message: str) -> Exception:
        """§3.6 and §0.2: what a refusal means."""
        if status == 401:
            return TokenExpired()
        if reason == "insufficientPermissions":
            return NeedsReconnect(
                "SMC may not manage this channel's comments (permission "
                "missing). Reconnect the channel and allow access."
            )
        if reason in ("quotaExceeded", "dailyLimitExceeded"):
            # The day's quota is gone for every channel of the project: the rate book
            # stops all of them until Google's day ends.
            now = self.clock()
            reset_at = next_pacific_midnight(now)
            self.rate_book.record(self.rate_bucket("quota"), remaining=0, reset_at=reset_at)
            return RetryLater(
                "YouTube's daily quota is used up; it renews at midnight Pacific Time.",
                retry_after=reset_at - now,
            )
        if reason in ("rateLimitExceeded", "userRateLimitExceeded") or status == 429:
            return RetryLater(f"YouTube asks SMC to slow down: {message}", retry_after=backoff(0))
        if status >= 500:
            return RetryLater(f"YouTube had a problem ({status}).", retry_after=backoff(0))
        return Rejected(message or f"YouTube refused the request ({status}).")

    def refresh(self) -> None:
        """Google's refresh grant; the refresh token itself stays the same (§3.1)."""
        secrets = self.credentials.secrets
        if not secrets.get("refresh_token"):
            raise NeedsReconnect(
                "The YouTube connection has no refresh token. Reconnect the channel."
            )
        response = self.send(
            "POST",
            self.url("oauth", "/token"),
            bucket="oauth",
            data={
                "grant_type": "refresh_token",
                "refresh_token": secrets["refresh_token"],
                "client_id": self._project,
                "client_secret": secrets.get("client_secret", ""),
            },
        )
        if response.status_code >= 500:
            raise RetryLater(
                "Google could not renew the YouTube access just now.", retry_after=backoff(0)
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not body.get("access_token"):
            said = body.get("error_description") or body.get("error") or response.status_code
            raise NeedsReconnect(
                f"Google would not renew SMC's access to YouTube ({said}). Reconnect the channel."
            )
        self.credentials.update_secrets(access_token=body["access_token"])


class Connector(BaseConnector):
    """Google's web-server flow (§3.1): consent, code, tokens, then which channel it is."""

    platform = "youtube"
    display_name = "Google"

    def start(self, *, state: str) -> ConnectStart:
        authorize = self.base_urls["accounts"].rstrip("/") + "/o/oauth2/v2/auth"
        client = WebApplicationClient(self.client.client_id)
        verifier = client.create_code_verifier(64)
        oauth = OAuth2Session(client=client, redirect_uri=self.client.redirect_uri, scope=[SCOPE])
        try:
            url, _ = oauth.authorization_url(
                authorize,
                state=state,
                code_challenge=client.create_code_challenge(verifier, "S256"),
                code_challenge_method="S256",
                # Offline access and the consent screen are what make Google hand out a
                # refresh token; without one the channel would stop working within the hour.
                access_type="offline",
                prompt="consent",
                include_granted_scopes="true",
            )
        except InsecureTransportError:
            raise ConnectRefused(
                "Google's sign-in address is not HTTPS, so SMC will not send anyone there. "
                "The operator should check GOOGLE_ACCOUNTS_BASE.",
                code="insecure",
            ) from None
        return ConnectStart(authorize_url=url, state=state, code_verifier=verifier)

    def finish(self, *, callback_url: str, start: ConnectStart) -> list[ConnectedAccount]:
        answer = self.read_callback(callback_url, start)
        tokens = self._exchange(answer["code"], start.code_verifier)
        if not tokens.get("refresh_token"):
            raise ConnectRefused(
                "Google gave SMC no lasting access (no refresh token), which it gives only "
                "when its consent screen is shown. Connect again and confirm Google's "
                "consent screen.",
                code="no_refresh_token",
            )
        channel = self._my_channel(tokens["access_token"])
        title = channel.get("snippet", {}).get("title", "")
        return [
            ConnectedAccount(
                account_id=channel["id"],
                handle=title,
                display_name=title,
                secrets={
                    "access_token": tokens["access_token"],
                    "refresh_token": tokens["refresh_token"],
                    "client_secret": self.client.client_secret,
                },
                settings={"client_id": self.client.client_id},
            )
        ]

    def _exchange(self, code: str, verifier: str | None) -> dict:
        # A plain form post, not OAuth2Session.fetch_token: with include_granted_scopes
        # Google may return more scopes than asked, which oauthlib treats as an error.
        form = {
            "code": code,
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret,
            "redirect_uri": self.client.redirect_uri,
            "grant_type": "authorization_code",
        }
        if verifier:
            form["code_verifier"] = verifier
        response = self._answer("POST", self.base_urls["oauth"].rstrip("/") + "/token", data=form)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not body.get("access_token"):
            said = body.get("error_description") or body.get("error") or response.status_code
            raise ConnectRefused(
                f"Google refused to complete the connection ({said}). Start connecting again.",
                code="token",
            )
        return body

    def _my_channel(self, access_token: str) -> dict:
        response = self._answer(
            "GET",
            self.base_urls["api"].rstrip("/") + "/youtube/v3/channels",
            params={"part": "id,snippet", "mine": "true"},
            headers={"Authorization": f"Bearer {access_token}"},
        )
        try:
            items = response.json().get("items") if response.ok else None
        except ValueError:
            items = None
        if not items:
            raise ConnectRefused(
                "This Google account has no YouTube channel SMC can manage.", code="no_channel"
            )
        return items[0]

    def _answer(self, method: str, url: str, **kwargs) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            raise ConnectRefused(
                "Google did not answer. Try connecting again in a few minutes.", code="no_answer"
            ) from None
