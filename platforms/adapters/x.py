"""X (API v2): publish, reconcile, delete, replies, hide/unhide and profile (§2), and the
OAuth 2.0 Authorization Code flow with PKCE that connects an account (§2.1).

Error classes follow §2.6: a 401 refreshes the access token once; a missing scope needs
a reconnect; duplicate content, the self-serve reply rule and other 4xx are final; 429
waits for X's reset and 5xx is retried. X has no idempotency key, so an uncertain
publish is reconciled against the account's own timeline (§0.3).
"""

from __future__ import annotations

import html
import unicodedata
from datetime import UTC, datetime

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
    OAuthClient,
    OutgoingPost,
    PlatformAdapter,
    Profile,
    Published,
    Rejected,
    RetryLater,
    TokenExpired,
    backoff,
)
from platforms.adapters.base import Connector as BaseConnector
from platforms.length import X_LIMIT, x_weighted_length

SCOPES = [
    "tweet.read", "users.read", "tweet.write", "tweet.moderate.write", "media.write",
    "offline.access",
]  # fmt: skip
MAX_IMAGES = 4
MAX_ALT_TEXT = 1000
# Reconcile looks this far before the first attempt, for clock skew between SMC and X.
RECONCILE_SLACK_S = 120
# X refuses identical text from one account for 24 hours; a retry of a reply can only
# collide with an earlier attempt inside that window.
DUPLICATE_WINDOW_S = 24 * 3600
COMMENT_FIELDS = {
    "max_results": "100",
    "tweet.fields": "author_id,conversation_id,created_at,in_reply_to_user_id,"
    "referenced_tweets,entities",
    "expansions": "author_id",
    "user.fields": "username,name",
}


class DuplicateContent(Rejected):
    """X's 403 for identical text within 24 h: final, unless an earlier attempt of the
    same post is what it collides with."""


class XAdapter(PlatformAdapter):
    platform = "x"
    max_length = X_LIMIT
    can_delete_comment = False

    def __init__(self, credentials, *, client: OAuthClient | None = None, **options):
        super().__init__(credentials, **options)
        # With a client secret, refreshes authenticate as a confidential client (Basic);
        # without one, as a public client naming its client_id (§2.1).
        self.client = client

    def text_length(self, text: str) -> int:
        return x_weighted_length(text)

    # -- publish and reconcile (§2.2, §0.3) ---------------------------------------------

    def publish(self, post: OutgoingPost) -> Published:
        text = _with_link(post)
        self._check_length(text)
        if len(post.images) > MAX_IMAGES:
            raise Rejected(f"X takes at most {MAX_IMAGES} images per post.")
        if any(len(image.alt) > MAX_ALT_TEXT for image in post.images):
            raise Rejected(f"X takes at most {MAX_ALT_TEXT} characters of image description.")
        body: dict = {"text": text}
        if post.images:
            body["media"] = {"media_ids": [self._upload(image) for image in post.images]}
        try:
            created = self._call("POST", "/2/tweets", json=body)
        except DuplicateContent:
            # Only a post with a recorded first attempt can be a retry whose earlier
            # attempt landed; otherwise the duplicate is a real one and stays refused.
            found = self.find_published(post) if post.first_attempt_at else None
            if found is None:
                raise
            return found
        return self._published(created["data"]["id"])

    def find_published(self, post: OutgoingPost) -> Published | None:
        # An attempt without a recorded start is one that has only just happened.
        started = post.first_attempt_at or self.clock()
        text = _with_link(post)
        for tweet in self._own_tweets(since=started - RECONCILE_SLACK_S):
            if not _replied_to(tweet) and _same_text(tweet, text):
                return self._published(tweet["id"])
        return None

    def _own_tweets(self, *, since: float):
        params = {
            "start_time": datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "max_results": "10",
            "tweet.fields": "created_at,referenced_tweets,entities",
        }
        yield from self._pages(f"/2/users/{self.credentials.account_id}/tweets", params)

    def _upload(self, image) -> str:
        uploaded = self._call(
            "POST",
            "/2/media/upload",
            data={"media_category": "tweet_image", "media_type": image.mime_type},
            files={"media": ("image", image.data, image.mime_type)},
        )
        media_id = uploaded["data"]["id"]
        if image.alt:
            self._call(
                "POST",
                "/2/media/metadata",
                json={"id": media_id, "metadata": {"alt_text": {"text": image.alt}}},
            )
        return media_id

    def delete(self, platform_post_id: str) -> None:
        # Already gone counts as deleted (§2.3).
        self._call("DELETE", f"/2/tweets/{platform_post_id}", gone_ok=True)

    # -- replies (§2.4, §2.5) -----------------------------------------------------------

    def fetch_comments(self, *, since: str | None) -> CommentBatch:
        """Mentions newer than `since` (the newest id already stored), every page, with
        the first page's newest id as the next cursor. Replies to our posts mention us,
        so mentions hold them; X's ids grow with time, so since_id misses nothing."""
        params = dict(COMMENT_FIELDS)
        if since:
            params["since_id"] = since
        comments, newest = [], None
        for page in self._page_bodies(f"/2/users/{self.credentials.account_id}/mentions", params):
            newest = newest or page.get("meta", {}).get("newest_id")
            users = {u["id"]: u for u in page.get("includes", {}).get("users", [])}
            comments += [_comment(tweet, users) for tweet in page.get("data", [])]
        return CommentBatch(comments=comments, cursor=newest or since)

    def hide_comment(self, comment_id: str) -> None:
        self._call("PUT", f"/2/tweets/{comment_id}/hidden", json={"hidden": True})

    def unhide_comment(self, comment_id: str) -> None:
        self._call("PUT", f"/2/tweets/{comment_id}/hidden", json={"hidden": False})

    def delete_comment(self, comment_id: str) -> None:
        raise Rejected(
            "X does not let an account delete other people's replies. Hide the reply "
            "instead; SMC keeps its own record of the decision."
        )

    def reply(self, comment_id: str, text: str, *, attempt_key: str = "") -> Published:
        self._check_length(text)
        body = {"text": text, "reply": {"in_reply_to_tweet_id": comment_id}}
        try:
            created = self._call("POST", "/2/tweets", json=body)
        except DuplicateContent:
            # The same text answering the same comment is an earlier attempt that
            # landed; the same text elsewhere is a real duplicate and stays refused.
            for tweet in self._own_tweets(since=self.clock() - DUPLICATE_WINDOW_S):
                if _replied_to(tweet) == comment_id and _same_text(tweet, text):
                    return self._published(tweet["id"])
            raise
        return self._published(created["data"]["id"])

    # -- profile (§2.7) -------------------------------------------------------------------

    def read_profile(self) -> Profile:
        user = self._call("GET", "/2/users/me", params={"user.fields": "description,url,entities"})
        data = user["data"]
        # The website is a t.co link in `url`; compare the expanded address (§2.7).
        links = data.get("entities", {}).get("url", {}).get("urls", [])
        website = links[0].get("expanded_url", "") if links else data.get("url", "")
        description_links = data.get("entities", {}).get("description", {}).get("urls", [])
        return Profile(
            display_name=data.get("name", ""),
            bio=_expand(data.get("description", ""), description_links),
            website=website,
            raw=data,
        )

    # -- the HTTP calls ------------------------------------------------------------------

    def _published(self, post_id: str) -> Published:
        handle = self.credentials.handle or "i/web"
        return Published(post_id, url=self.url("www", f"/{handle}/status/{post_id}"))

    def _check_length(self, text: str) -> None:
        length = x_weighted_length(text)
        if length > X_LIMIT:
            raise Rejected(
                f"The text is {length} characters as X counts them (links count 23, emoji "
                f"and many non-Latin characters 2); X allows {X_LIMIT}. Shorten it."
            )

    def _call(self, method: str, path: str, *, gone_ok: bool = False, **kwargs) -> dict:
        """One API call under the access token, refreshed once if X says it expired."""
        # Endpoint-wide rate windows: the id in a path shares its endpoint's limit.
        bucket = method + " " + "/".join(p if not p.isdigit() else ":id" for p in path.split("/"))

        def attempt() -> dict:
            token = self.credentials.secrets["access_token"]
            response = self.send(
                method,
                self.url("api", path),
                bucket=bucket,
                headers={"Authorization": f"Bearer {token}"},
                **kwargs,
            )
            if response.status_code == 401:
                raise TokenExpired
            if response.status_code == 404 and gone_ok:
                return {}
            if response.ok:
                return response.json() if response.content else {}
            raise self._error(response, write=method != "GET")

        return self.with_refresh(attempt)

    def _page_bodies(self, path: str, params: dict):
        """Every page of a timeline, following X's next_token."""
        params = dict(params)
        while True:
            body = self._call("GET", path, params=params)
            yield body
            token = body.get("meta", {}).get("next_token")
            if not token:
                return
            params["pagination_token"] = token

    def _pages(self, path: str, params: dict):
        for body in self._page_bodies(path, params):
            yield from body.get("data", [])

    def _error(self, response: requests.Response, *, write: bool) -> Exception:
        """§2.6 and §0.2: which of the three errors an unsuccessful answer is."""
        status = response.status_code
        body = _json(response)
        detail = _detail(body) or f"HTTP {status}"
        if status == 429:
            usage_capped = str(body.get("type", "")).endswith("/usage-capped")
            reason = (
                "X's usage cap for SMC's app is reached; an operator should review the X plan."
                if usage_capped
                else "X's rate limit for this is reached; SMC will try again after it resets."
            )
            return RetryLater(reason, retry_after=self._rate_wait(response))
        if status >= 500:
            # X answers 5xx to writes that sometimes landed: reconcile before resending.
            return RetryLater(
                f"X had a problem ({detail}).", retry_after=backoff(0), ambiguous=write
            )
        if status == 403:
            if str(body.get("type", "")).endswith("/client-forbidden"):
                return Rejected(
                    f"X refused SMC's app for this ({detail}). An operator must enrol the "
                    "app for this X API access."
                )
            if "scope" in detail.lower():
                return NeedsReconnect(
                    "X no longer lets SMC do this for the channel (a permission is missing). "
                    "An administrator needs to reconnect it and allow every permission."
                )
            if "duplicate content" in detail.lower():
                return DuplicateContent(
                    f"X refused: {detail} (X takes the same text from an account only once "
                    "in 24 hours.)"
                )
        return Rejected(f"X refused: {detail}")

    def _rate_wait(self, response: requests.Response) -> float:
        """Seconds until the latest reset among X's spent limits: the 15-minute window,
        and the 24-hour post cap when that is the one spent."""
        resets = []
        for prefix in ("x-rate-limit", "x-user-limit-24hour"):
            reset = response.headers.get(f"{prefix}-reset")
            if reset and response.headers.get(f"{prefix}-remaining", "0") == "0":
                resets.append(float(reset))
        if not resets:
            return backoff(0)
        return max(1.0, max(resets) - self.clock())

    def read_rate_headers(self, response: requests.Response) -> tuple[int, float] | None:
        remaining = response.headers.get("x-rate-limit-remaining")
        reset = response.headers.get("x-rate-limit-reset")
        if remaining is None or reset is None:
            return None
        return int(remaining), float(reset)

    def refresh(self) -> None:
        """Renew the access token with the refresh token; X rotates it, so the new pair
        is handed back for storage at once (§2.1)."""
        refresh_token = self.credentials.secrets.get("refresh_token")
        if not refresh_token:
            raise NeedsReconnect(
                "X's access for this channel has expired and cannot be renewed. An "
                "administrator needs to reconnect it."
            )
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        auth = None
        if self.client is not None and self.client.client_secret:
            auth = (self.client.client_id, self.client.client_secret)
        else:
            form["client_id"] = (
                self.client.client_id if self.client else self.credentials.settings["client_id"]
            )
        response = self.send(
            "POST", self.url("api", "/2/oauth2/token"), bucket="POST /2/oauth2/token",
            data=form, auth=auth,
        )  # fmt: skip
        if response.status_code >= 500:
            raise RetryLater("X could not renew access just now.", retry_after=backoff(0))
        if not response.ok:
            raise NeedsReconnect(
                "X no longer accepts SMC's access to this channel (it was revoked or has "
                "expired). An administrator needs to reconnect it."
            )
        tokens = response.json()
        self.credentials.update_secrets(
            access_token=tokens["access_token"],
            refresh_token=tokens.get("refresh_token", refresh_token),
        )


# --- Connecting an account (§2.1) ----------------------------------------------------------


class Connector(BaseConnector):
    platform = "x"
    display_name = "X"

    def start(self, *, state: str) -> ConnectStart:
        authorize = self.base_urls["www"].rstrip("/") + "/i/oauth2/authorize"
        oauth = WebApplicationClient(self.client.client_id)
        session = OAuth2Session(
            client=oauth, redirect_uri=self.client.redirect_uri, scope=SCOPES, pkce="S256"
        )
        try:
            url, state = session.authorization_url(authorize, state=state)
        except InsecureTransportError:
            raise ConnectRefused(
                "X's sign-in address is not HTTPS, so SMC will not send anyone there. "
                "The operator should check X_WWW_BASE.",
                code="insecure",
            ) from None
        # The verifier stays with SMC until the callback; only its hash went to X.
        return ConnectStart(authorize_url=url, state=state, code_verifier=oauth.code_verifier)

    def finish(self, *, callback_url: str, start: ConnectStart) -> list[ConnectedAccount]:
        answer = self.read_callback(callback_url, start)
        tokens = self._exchange(answer["code"], start)
        missing = [s for s in SCOPES if s not in tokens.get("scope", "").split()]
        if missing or not tokens.get("refresh_token"):
            raise ConnectRefused(
                "X gave SMC fewer permissions than it needs (missing: "
                f"{', '.join(missing) or 'offline.access'}). Connect again and allow them all.",
                code="scopes",
            )
        me = self._request(
            "GET", "/2/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )["data"]
        return [
            ConnectedAccount(
                account_id=me["id"],
                handle=me["username"],
                display_name=me.get("name", ""),
                secrets={
                    "access_token": tokens["access_token"],
                    "refresh_token": tokens["refresh_token"],
                },
                # A public client names itself when it renews access (see XAdapter).
                settings={"client_id": self.client.client_id},
                base_urls=dict(self.base_urls),
            )
        ]

    def _exchange(self, code: str, start: ConnectStart) -> dict:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.client.redirect_uri,
            "code_verifier": start.code_verifier or "",
        }
        auth = None
        if self.client.client_secret:
            auth = (self.client.client_id, self.client.client_secret)
        else:
            form["client_id"] = self.client.client_id
        return self._request("POST", "/2/oauth2/token", data=form, auth=auth)

    def _request(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self.session.request(
                method, self.base_urls["api"].rstrip("/") + path, timeout=self.timeout, **kwargs
            )
        except (requests.ConnectionError, requests.Timeout):
            raise ConnectRefused(
                "X did not answer. Check that SMC can reach X, then try connecting again.",
                code="unreachable",
            ) from None
        if response.status_code >= 500:
            raise ConnectRefused(
                f"X had a problem (HTTP {response.status_code}). Try connecting again in a "
                "few minutes.",
                code="unreachable",
            )
        if not response.ok:
            body = _json(response)
            why = body.get("error_description") or _detail(body) or f"HTTP {response.status_code}"
            raise ConnectRefused(
                f"X refused to connect the account ({why}). The sign-in may have taken too "
                "long; start connecting the channel again.",
                code="refused",
            )
        return response.json()


# --- helpers ---------------------------------------------------------------------------------


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _detail(body: dict) -> str:
    """X's reason: a problem's detail, or its first listed error's message."""
    errors = body.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    if first.get("message") and body.get("type", "").endswith("/invalid-request"):
        return first["message"]
    return body.get("detail") or body.get("title") or first.get("message") or first.get("detail")


def _with_link(post: OutgoingPost) -> str:
    # X has no link field: a URL in the text is the link, and X builds its card.
    if post.link and post.link not in post.text:
        return f"{post.text}\n\n{post.link}"
    return post.text


def _expand(text: str, urls: list[dict]) -> str:
    """X's text as it was written: t.co links back to their addresses, HTML unescaped."""
    for link in urls:
        if link.get("url") and link.get("expanded_url"):
            text = text.replace(link["url"], link["expanded_url"])
    return html.unescape(text)


def _plain(tweet: dict) -> str:
    return _expand(tweet.get("text", ""), tweet.get("entities", {}).get("urls", []))


def _same_text(tweet: dict, text: str) -> bool:
    def normal(value: str) -> str:
        return unicodedata.normalize("NFC", value).strip()

    return normal(_plain(tweet)) == normal(text)


def _replied_to(tweet: dict) -> str | None:
    return next(
        (r["id"] for r in tweet.get("referenced_tweets", []) if r.get("type") == "replied_to"),
        None,
    )


def _comment(tweet: dict, users: dict[str, dict]) -> IncomingComment:
    author = users.get(tweet.get("author_id", ""), {})
    conversation = tweet.get("conversation_id") or tweet["id"]
    answered = _replied_to(tweet)
    return IncomingComment(
        platform_comment_id=tweet["id"],
        # The post the conversation hangs from: for a reply to our post, our post.
        platform_post_id=conversation,
        parent_id=answered if answered and answered != conversation else None,
        author_id=tweet.get("author_id", ""),
        author_name=author.get("name", ""),
        author_handle=author.get("username", ""),
        text=_plain(tweet),
        created_at=datetime.fromisoformat(tweet["created_at"]),
        raw=tweet,
    )
