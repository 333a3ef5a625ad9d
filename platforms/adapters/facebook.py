"""Facebook Pages through the Graph API (platform-apis.md §1).

A channel is a Page, and only its Page token is stored (C1). That token never expires
but has no refresh either: when Facebook stops accepting it (password changed, admin
removed, app removed) an administrator must reconnect, so every 190 is NeedsReconnect
at once, with no silent refresh (§0.2 rule 4).

Errors are classified by Graph's `error.code` / `error_subcode`, never by the HTTP
status alone: Graph answers 400 for most of them (§1.6).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import requests

from platforms.adapters.base import (
    CommentBatch,
    ConnectedAccount,
    ConnectRefused,
    ConnectStart,
    IncomingComment,
    NeedsReconnect,
    OutgoingPost,
    PlatformAdapter,
    PlatformError,
    Profile,
    Published,
    Rejected,
    RetryLater,
    backoff,
)
from platforms.adapters.base import Connector as BaseConnector
from platforms.length import FACEBOOK_LIMIT

GRAPH_VERSION = "v26.0"
SCOPES = (
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "pages_read_user_content",
    "pages_manage_engagement",
    "pages_manage_metadata",
)
# Publishing, moderating and subscribing the Page to webhooks need all three (§1.1).
REQUIRED_TASKS = {"CREATE_CONTENT", "MODERATE", "MANAGE"}
COMMENT_FIELDS = (
    "id,message,from{id,name},created_time,parent{id},is_hidden,can_hide,can_remove,"
    "comment_count,attachment,permalink_url"
)
# Reconcile looks this far before the first attempt: our clock and Facebook's differ.
RECONCILE_SLACK_S = 120
# Comments can land with a created_time a little behind ones already read; re-reading
# this much before the watermark catches them (the caller dedupes by id, §1.4).
WATERMARK_OVERLAP_S = 300
# Polling reads the comments of the posts of the last week; older posts still get
# their comments through the webhook, and a week holds nearly all of a post's replies.
WATCHED_POSTS_S = 7 * 86400
THROTTLED_WAIT_S = 15 * 60
POLICY_BLOCK_WAIT_S = 3600
PAGE_SIZE = 100

_THROTTLES = {4, 17, 32, 341, 613, 80001}
# Duplicate post, invalid parameter or missing object, link not fetchable: final even
# when Graph sends them with a 5xx.
_FINAL = {100, 506, 1609005}
_TOKEN_PROBLEMS = {
    458: "the app was removed from the account",
    459: "the account is locked by a security checkpoint",
    460: "the password was changed",
    463: "the access has expired",
    464: "the account is not confirmed",
    467: "the access token is no longer valid",
    492: "the session is no longer valid",
}
_USAGE_KEYS = ("call_count", "total_cputime", "total_time")


class GraphRejected(Rejected):
    """A final no from Graph, with its code: 506 and 100 mean something to the caller."""

    def __init__(self, reason: str, *, code: int, subcode: int | None = None):
        super().__init__(reason)
        self.code, self.subcode = code, subcode


def verify_webhook_signature(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether X-Hub-Signature-256 is Facebook's HMAC-SHA256 of the raw body (§1.4)."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").lower())


def graph_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)


def _usage_entries(response: requests.Response) -> list[dict]:
    try:
        usage = json.loads(response.headers.get("X-Business-Use-Case-Usage") or "{}")
    except ValueError:
        return []
    if not isinstance(usage, dict):
        return []
    return [
        e
        for per_page in usage.values()
        if isinstance(per_page, list)
        for e in per_page
        if isinstance(e, dict)
    ]


def _regain_wait(entries: list[dict]) -> float | None:
    """Seconds until Facebook lets the Page call again, if its usage header says."""
    minutes = max((e.get("estimated_time_to_regain_access") or 0 for e in entries), default=0)
    return minutes * 60.0 if minutes else None


def graph_failure(response: requests.Response, *, write: bool) -> PlatformError:
    """The one error an answer that is not a success turns into (§1.6)."""
    try:
        error = response.json()["error"]
        code, subcode = int(error["code"]), error.get("error_subcode")
    except (ValueError, KeyError, TypeError):
        if response.status_code >= 500:
            # A write may have landed before the failure: the caller reconciles first.
            return RetryLater(
                f"Facebook answered {response.status_code}.",
                retry_after=backoff(0),
                ambiguous=write,
            )
        return Rejected(f"Facebook refused the request ({response.status_code}).")
    message = error.get("error_user_msg") or error.get("message") or f"error {code}"
    if code in (190, 102):
        why = _TOKEN_PROBLEMS.get(subcode, "the access is no longer valid")
        return NeedsReconnect(
            f"Facebook no longer accepts SMC's access to this Page ({why}). Reconnect the channel."
        )
    if code == 10 or 200 <= code <= 299:
        return NeedsReconnect(
            f"Facebook says SMC lacks a permission on this Page ({message}). "
            "Reconnect the channel and grant every permission asked for."
        )
    if code in _THROTTLES:
        wait = _regain_wait(_usage_entries(response)) or THROTTLED_WAIT_S
        return RetryLater("Facebook's request limit for this Page is reached.", retry_after=wait)
    if code == 368:
        wait = max(POLICY_BLOCK_WAIT_S, _regain_wait(_usage_entries(response)) or 0)
        return RetryLater(
            f"Facebook has temporarily blocked this Page from this action ({message}). "
            "An administrator should check the Page.",
            retry_after=wait,
        )
    if code in (1, 2) or error.get("is_transient"):
        return RetryLater(
            f"Facebook had a temporary problem ({message}).",
            retry_after=backoff(0),
            ambiguous=write,
        )
    if code not in _FINAL and response.status_code >= 500:
        return RetryLater(f"Facebook failed ({message}).", retry_after=backoff(0), ambiguous=write)
    return GraphRejected(f"Facebook refused: {message}", code=code, subcode=subcode)


def _unix(cursor: str) -> float:
    """A fetch cursor: Unix seconds (what we hand out) or an ISO 8601 time."""
    if cursor.isdigit():
        return float(cursor)
    return datetime.fromisoformat(cursor.replace("Z", "+00:00")).timestamp()


class FacebookAdapter(PlatformAdapter):
    platform = "facebook"

    @property
    def max_length(self) -> int:
        return FACEBOOK_LIMIT

    def text_length(self, text: str) -> int:
        return len(text)

    # Publish ------------------------------------------------------------------------------

    def publish(self, post: OutgoingPost) -> Published:
        message = self._message(post)
        if self.text_length(message) > self.max_length:
            raise Rejected(
                f"The post is {self.text_length(message)} characters long; Facebook "
                f"takes at most {self.max_length}."
            )
        try:
            post_id = self._publish(post, message)
        except GraphRejected as refusal:
            # Facebook refuses identical text from a Page within a day. When the identical
            # post is from this attempt series, an earlier attempt landed (§1.6).
            landed = self.find_published(post) if refusal.code == 506 else None
            if landed is None:
                raise
            return landed
        return Published(post_id, self._permalink(post_id))

    def _message(self, post: OutgoingPost) -> str:
        # A photo post shows no link preview, so its link goes in the caption (§1.2).
        if post.images and post.link and post.link not in post.text:
            return f"{post.text}\n\n{post.link}"
        return post.text

    def _publish(self, post: OutgoingPost, message: str) -> str:
        page = self.credentials.account_id
        if len(post.images) == 1:
            image = post.images[0]
            answer = self._graph(
                "POST",
                f"/{page}/photos",
                data={"message": message, "published": "true"},
                files={"source": ("image", image.data, image.mime_type)},
            )
            return answer["post_id"]
        form = {"message": message, "published": "true"}
        if post.images:
            # Several images: each uploaded unpublished, then one post carries them all.
            for index, image in enumerate(post.images):
                uploaded = self._graph(
                    "POST",
                    f"/{page}/photos",
                    data={"published": "false"},
                    files={"source": ("image", image.data, image.mime_type)},
                )
                form[f"attached_media[{index}]"] = json.dumps({"media_fbid": uploaded["id"]})
        elif post.link:
            form["link"] = post.link
        return self._graph("POST", f"/{page}/feed", data=form)["id"]

    def find_published(self, post: OutgoingPost) -> Published | None:
        started = post.first_attempt_at if post.first_attempt_at is not None else self.clock()
        message = self._message(post)
        params = {"fields": "id,message,created_time", "since": int(started - RECONCILE_SLACK_S)}
        for found in self._each(f"/{self.credentials.account_id}/posts", params):
            if found.get("message") == message:
                return Published(found["id"], self._permalink(found["id"]))
        return None

    def delete(self, platform_post_id: str) -> None:
        try:
            self._graph("DELETE", f"/{platform_post_id}")
        except GraphRejected as refusal:
            if refusal.code != 100:  # 100: the post no longer exists, which is the goal
                raise

    def _permalink(self, post_id: str) -> str:
        return self.url("www", f"/{post_id}")

    # Comments -----------------------------------------------------------------------------

    def fetch_comments(self, *, since: str | None) -> CommentBatch:
        """Polling (§1.4): each recent post's comments and replies, newest first, down to
        a little before the watermark `since`."""
        watermark = _unix(since) if since else None
        newest = watermark
        found: dict[str, IncomingComment] = {}
        posts = {"fields": "id,created_time", "since": int(self.clock() - WATCHED_POSTS_S)}
        for post in self._each(f"/{self.credentials.account_id}/posts", posts):
            params = {
                "filter": "stream",
                "order": "reverse_chronological",
                "fields": COMMENT_FIELDS,
            }
            for raw in self._each(f"/{post['id']}/comments", params):
                comment = self._comment(raw, post["id"])
                created = comment.created_at.timestamp()
                if watermark is not None and created <= watermark - WATERMARK_OVERLAP_S:
                    break
                found.setdefault(comment.platform_comment_id, comment)
                newest = max(newest or created, created)
        return CommentBatch(list(found.values()), None if newest is None else str(int(newest)))

    def read_comment(self, comment_id: str, *, post_id: str = "") -> IncomingComment | None:
        """§1.4: a webhook is a hint; this is the comment as Facebook has it now. `post_id`
        comes from the (signed) notification: a single comment's fields do not name it."""
        try:
            raw = self._graph("GET", f"/{comment_id}", params={"fields": COMMENT_FIELDS})
        except GraphRejected as refusal:
            if refusal.code == 100:  # it no longer exists: the removal notice says so
                return None
            raise
        return self._comment(raw, post_id)

    @staticmethod
    def _comment(raw: dict, post_id: str) -> IncomingComment:
        author = raw.get("from") or {}
        return IncomingComment(
            platform_comment_id=raw["id"],
            platform_post_id=post_id,
            parent_id=(raw.get("parent") or {}).get("id"),
            author_id=author.get("id", ""),
            author_name=author.get("name", ""),
            author_handle="",  # Graph shows people by name only
            text=raw.get("message", ""),
            created_at=graph_time(raw["created_time"]),
            is_hidden=bool(raw.get("is_hidden")),
            raw=raw,
        )

    def hide_comment(self, comment_id: str) -> None:
        self._set_hidden(comment_id, hidden=True)

    def unhide_comment(self, comment_id: str) -> None:
        self._set_hidden(comment_id, hidden=False)

    def _set_hidden(self, comment_id: str, *, hidden: bool) -> None:
        self._require(
            comment_id, "can_hide", "Facebook does not let this Page hide or unhide this comment."
        )
        self._graph("POST", f"/{comment_id}", data={"is_hidden": "true" if hidden else "false"})

    def delete_comment(self, comment_id: str) -> None:
        try:
            self._require(
                comment_id, "can_remove", "Facebook does not let this Page delete this comment."
            )
            self._graph("DELETE", f"/{comment_id}")
        except GraphRejected as refusal:
            if refusal.code != 100:  # 100: the comment no longer exists, which is the goal
                raise

    def _require(self, comment_id: str, ability: str, refusal: str) -> None:
        """§1.5: check can_hide / can_remove first; Facebook's no is final."""
        comment = self._graph("GET", f"/{comment_id}", params={"fields": f"id,{ability}"})
        if not comment.get(ability):
            raise Rejected(refusal)

    def reply(self, comment_id: str, text: str, *, attempt_key: str = "") -> Published:
        answer = self._graph("POST", f"/{comment_id}/comments", data={"message": text})
        return Published(answer["id"])

    # Profile (C3) -------------------------------------------------------------------------

    def read_profile(self) -> Profile:
        page = self._graph(
            "GET",
            f"/{self.credentials.account_id}",
            params={"fields": "name,about,description,website,link"},
        )
        bio = "\n\n".join(part for part in (page.get("about"), page.get("description")) if part)
        return Profile(
            display_name=page.get("name", ""), bio=bio, website=page.get("website") or "", raw=page
        )

    # Graph calls --------------------------------------------------------------------------

    def _graph(self, method: str, path: str, **kwargs) -> dict:
        version = self.credentials.settings.get("graph_version", GRAPH_VERSION)
        token = self.credentials.secrets["access_token"]
        # The token travels in a header, never in a URL that could end up in a log.
        response = self.send(
            method,
            self.url("graph", f"/{version}{path}"),
            bucket="page",
            headers={"Authorization": f"Bearer {token}"},
            **kwargs,
        )
        if not response.ok:
            raise graph_failure(response, write=method != "GET")
        try:
            return response.json()
        except ValueError:
            raise RetryLater(
                "Facebook's answer could not be read.",
                retry_after=backoff(0),
                ambiguous=method != "GET",
            ) from None

    def _each(self, path: str, params: dict) -> Iterator[dict]:
        """Every item of a Graph list, page by page along the `after` cursor."""
        params = {**params, "limit": PAGE_SIZE}
        while True:
            answer = self._graph("GET", path, params=params)
            yield from answer.get("data", [])
            paging = answer.get("paging") or {}
            if not paging.get("next"):
                return
            params = {**params, "after": paging["cursors"]["after"]}

    def read_rate_headers(self, response: requests.Response) -> tuple[int, float] | None:
        """From X-Business-Use-Case-Usage: usage is a percentage, so "remaining" is the
        percentage left; at 100 % Facebook throttles until estimated_time_to_regain_access
        (minutes) has passed."""
        entries = _usage_entries(response)
        if not entries:
            return None
        used = max(max(e.get(key) or 0 for key in _USAGE_KEYS) for e in entries)
        now = self.clock()
        if used >= 100:
            return 0, now + (_regain_wait(entries) or THROTTLED_WAIT_S)
        return 100 - used, now


# --- Connecting a Page (C1, §1.1) ----------------------------------------------------------


class Connector(BaseConnector):
    platform = "facebook"
    display_name = "Facebook"

    def __init__(self, *, graph_version: str = GRAPH_VERSION, **kwargs):
        super().__init__(**kwargs)
        self.graph_version = graph_version

    def start(self, *, state: str) -> ConnectStart:
        # Facebook's login dialog has no PKCE; the state alone ties the answer to us.
        query = urlencode(
            {
                "client_id": self.client.client_id,
                "redirect_uri": self.client.redirect_uri,
                "state": state,
                "response_type": "code",
                "scope": ",".join(SCOPES),
            }
        )
        url = f"{self.base_urls['www'].rstrip('/')}/{self.graph_version}/dialog/oauth?{query}"
        return ConnectStart(authorize_url=url, state=state)

    def finish(self, *, callback_url: str, start: ConnectStart) -> list[ConnectedAccount]:
        answer = self.read_callback(callback_url, start)
        client = {"client_id": self.client.client_id, "client_secret": self.client.client_secret}
        short = self._graph(
            "GET",
            "/oauth/access_token",
            params={**client, "redirect_uri": self.client.redirect_uri, "code": answer["code"]},
        )
        # Only a Page token got through a long-lived user token never expires (§1.1 step 4).
        long = self._graph(
            "GET",
            "/oauth/access_token",
            params={
                **client,
                "grant_type": "fb_exchange_token",
                "fb_exchange_token": short["access_token"],
            },
        )
        pages = self._pages(long["access_token"])
        if not pages:
            raise ConnectRefused(
                "Facebook shared no Page with SMC. Connect again and choose the agency's Page.",
                code="no_pages",
            )
        usable = [page for page in pages if set(page.get("tasks") or ()) >= REQUIRED_TASKS]
        if not usable:
            raise ConnectRefused(
                "SMC cannot connect this Page: the person connecting must be able to create "
                "content, moderate and manage the Page. Ask a Page admin to give them full "
                "control, or to connect it themselves.",
                code="page_tasks",
            )
        for page in usable:
            # Feed webhooks bring comments in seconds; polling remains the backstop.
            self._graph(
                "POST",
                f"/{page['id']}/subscribed_apps",
                data={"subscribed_fields": "feed"},
                token=page["access_token"],
            )
        return [
            ConnectedAccount(
                account_id=page["id"],
                handle=page["name"],
                display_name=page["name"],
                secrets={"access_token": page["access_token"]},
            )
            for page in usable
        ]

    def _pages(self, user_token: str) -> list[dict]:
        pages, params = [], {"fields": "id,name,access_token,tasks", "limit": PAGE_SIZE}
        while True:
            answer = self._graph("GET", "/me/accounts", params=params, token=user_token)
            pages += answer.get("data", [])
            paging = answer.get("paging") or {}
            if not paging.get("next"):
                return pages
            params = {**params, "after": paging["cursors"]["after"]}

    def _graph(self, method: str, path: str, *, token: str | None = None, **kwargs) -> dict:
        url = f"{self.base_urls['graph'].rstrip('/')}/{self.graph_version}{path}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self.session.request(
                method, url, headers=headers, timeout=self.timeout, **kwargs
            )
        except (requests.ConnectionError, requests.Timeout):
            raise ConnectRefused(
                "Facebook did not answer. Try connecting again in a few minutes.",
                code="unreachable",
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not response.ok or not isinstance(answer, dict) or "error" in answer:
            error = answer.get("error") if isinstance(answer, dict) else None
            why = (error or {}).get("message") or f"it answered {response.status_code}"
            raise ConnectRefused(f"Facebook refused to connect the Page: {why}.", code="graph")
        return answer
