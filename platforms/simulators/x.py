"""X (API v2) as SMC uses it (platform-apis.md §2), served for tests and the offline demo.

What it keeps: accounts and their OAuth 2.0 tokens (PKCE, scopes, 2-hour access tokens,
rotating refresh tokens), posts, replies and the public's replies, uploaded images, and
per-user rate windows. What it enforces, because SMC must cope with each in production:
the 280 weighted-character limit, X's 24-hour refusal of identical text, the self-serve
reply rule, hiding only in conversations the account started, and scopes.

Post texts are rendered as X renders them: URLs become t.co links listed in
`entities.urls`, and `&`, `<`, `>` are HTML-escaped, so an adapter that compares texts
must undo both, as it must against the real API.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import struct
from datetime import datetime

from platforms.length import URL, X_LIMIT, x_weighted_length
from platforms.simulators.core import (
    SIM_CLIENT_ID,
    SIM_CLIENT_SECRET,
    Account,
    Item,
    SimError,
    SimRequest,
    SimResponse,
    Simulator,
    add_query,
    route,
)

SCOPES = (
    "tweet.read", "users.read", "tweet.write", "tweet.moderate.write", "media.write",
    "offline.access", "mute.write",
)  # fmt: skip
READ = ("tweet.read", "users.read")  # every endpoint needs these, writes included (§2.1)
WINDOW_S = 15 * 60
ACCESS_LIFETIME_S = 2 * 3600
CODE_LIFETIME_S = 30
DUPLICATE_WINDOW_S = 24 * 3600
SEARCH_WINDOW_S = 7 * 24 * 3600  # recent search sees the last 7 days only
MEDIA_LIFETIME_S = 24 * 3600
MAX_IMAGE_BYTES = 5 * 1024 * 1024
TWITTER_EPOCH_MS = 1288834974657  # where X's snowflake ids count from

PROBLEMS = "https://api.twitter.com/2/problems/"
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
REPLY_RULE = (
    "Reply to this conversation is not allowed because you have not been mentioned or "
    "otherwise engaged by the author of the post you are replying to."
)
TOO_LONG = (
    "Your Tweet text is too long. For more information on how X determines text length "
    "see https://github.com/twitter/twitter-text."
)
NOT_YOUR_CONVERSATION = "You can only hide or unhide replies in conversations you started."

TWEET_FIELDS = {
    "attachments", "author_id", "conversation_id", "created_at", "edit_history_tweet_ids",
    "entities", "id", "in_reply_to_user_id", "referenced_tweets", "text",
}  # fmt: skip
USER_FIELDS = {"created_at", "description", "entities", "id", "name", "url", "username"}
EXPANSIONS = {"author_id", "in_reply_to_user_id", "referenced_tweets.id"}
# X's newest OpenAPI file renames these; its guides keep the old names. Accept both (§2.4).
RENAMED = {"post.fields": "tweet.fields", "referenced_posts.id": "referenced_tweets.id"}

_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")
_OPERATOR = re.compile(r"(-?)(conversation_id|from|to|is):(\S+)")


def problem(status: int, title: str, detail: str, kind: str = "about:blank", **extra):
    payload = {"title": title, "detail": detail, "type": kind, "status": status, **extra}
    return SimResponse.json(status, payload, content_type="application/problem+json")


def invalid(parameter: str, value, message: str) -> SimError:
    """X's 400 for a bad parameter: the problem plus an `errors` entry naming it."""
    return SimError(problem(
        400, "Invalid Request", "One or more parameters to your request was invalid.",
        PROBLEMS + "invalid-request",
        errors=[{"parameters": {parameter: [str(value)]}, "message": message}],
    ))  # fmt: skip


def forbidden(detail: str) -> SimError:
    return SimError(problem(403, "Forbidden", detail))


def not_found(resource: str, value: str) -> SimError:
    return SimError(problem(
        404, "Not Found Error", f"Could not find {resource} with id: [{value}].",
        PROBLEMS + "resource-not-found",
        resource_type=resource, resource_id=value, parameter="id", value=value,
    ))  # fmt: skip


def oauth_error(status: int, error: str, description: str) -> SimError:
    return SimError(SimResponse.json(status, {"error": error, "error_description": description}))


def api(bucket: str, limit: int, *scopes: str):
    """An API v2 endpoint: a valid bearer token (401 otherwise), a per-user rate window of
    `limit` calls per 15 minutes whose x-rate-limit-* headers go on every answer, and the
    scopes it needs besides tweet.read and users.read (403 otherwise)."""

    def decorator(handler):
        @functools.wraps(handler)
        def endpoint(self: XSimulator, request: SimRequest, **params):
            state, token = self.token_state(request.bearer_token)
            if state != "ok":
                return self.expired_token_response()
            account = self.accounts[token.account_id]
            top, remaining, reset = self.rate(bucket, account.account_id, limit, WINDOW_S)
            headers = _rate_headers(top, remaining, reset)
            missing = [s for s in (*READ, *scopes) if s not in token.scopes]
            if remaining < 0:
                response = self.rate_limit_response(reset - self.clock.now())
            elif missing:
                detail = f"Missing required OAuth 2.0 scopes: {' '.join(missing)}."
                response = problem(403, "Forbidden", detail)
            else:
                try:
                    response = handler(self, request, account, **params)
                except SimError as error:
                    response = error.response
            response.headers.update(headers)
            return response

        endpoint.x_rate = (bucket, limit)
        return endpoint

    return decorator


def _rate_headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(max(remaining, 0)),
        "x-rate-limit-reset": str(math.ceil(reset)),
    }


class XSimulator(Simulator):
    platform = "x"

    def reset_platform(self) -> None:
        self.last_id = 0
        self.users: dict[str, dict] = {}  # user id -> {"id", "name", "username"}
        self.media: dict[str, dict] = {}
        self.current: SimRequest | None = None

    def handle(self, request: SimRequest, *, skip_faults: bool = False):
        # A rate-limit fault answers before routing; remembering the request lets it carry
        # that endpoint's own x-rate-limit-limit, as X's 429s do.
        with self.lock:
            self.current = request
            return super().handle(request, skip_faults=skip_faults)

    # -- ids, users, items ---------------------------------------------------------------

    def new_id(self) -> str:
        """A snowflake: milliseconds since X's epoch in the high bits, so ids grow with
        time and since_id works; a sequence keeps ids in one millisecond apart."""
        stamp = (int(self.clock.now() * 1000) - TWITTER_EPOCH_MS) << 22
        self.last_id = max(stamp, self.last_id + 1)
        return str(self.last_id)

    def user_by_handle(self, handle: str) -> dict | None:
        handle = handle.lower()
        return next((u for u in self.users.values() if u["username"].lower() == handle), None)

    def public_user(self, author: dict) -> dict:
        name = author.get("name") or author.get("handle") or "Someone"
        handle = author.get("handle") or re.sub(r"\W", "", name).lower()[:15] or "someone"
        user = self.user_by_handle(handle)
        if user is None:
            user = {"id": self.new_id(), "name": name, "username": handle}
            self.users[user["id"]] = user
        return user

    def add_item(self, *, text: str, author: dict, account_id: str | None,
                 parent: Item | None, created_at: float | None = None,
                 media_keys: list[str] | None = None) -> Item:  # fmt: skip
        item_id = self.new_id()
        item = Item(
            item_id=item_id,
            account_id=account_id,
            kind="reply" if parent else "post",
            text=text,
            created_at=self.clock.now() if created_at is None else created_at,
            parent_id=parent.item_id if parent else None,
            author=dict(author),
            extra={
                "conversation_id": parent.extra["conversation_id"] if parent else item_id,
                "media_keys": media_keys or [],
            },
        )
        self.items[item_id] = item
        return item

    def live_item(self, item_id: str) -> Item | None:
        item = self.items.get(item_id)
        return None if item is None or item.deleted else item

    def mentioned_ids(self, item: Item) -> set[str]:
        """Whom a post mentions. Replies mention the author answered and the one who
        started the conversation, as X's reply composer adds them."""
        ids = {u["id"] for h in _MENTION.findall(item.text) if (u := self.user_by_handle(h))}
        if item.parent_id:
            ids.add(self.items[item.parent_id].author["id"])
            ids.add(self.items[item.extra["conversation_id"]].author["id"])
        ids.discard(item.author["id"])
        return ids

    # -- rendering -------------------------------------------------------------------------

    def render_text(self, text: str) -> tuple[str, dict]:
        """X's view of a text: t.co links for URLs, HTML-escaped, with entities."""
        parts, urls, position = [], [], 0
        for match in URL.finditer(text):
            parts.append(_escape(text[position : match.start()]))
            start = sum(len(p) for p in parts)
            urls.append(_url_entity(match.group(), start))
            parts.append(urls[-1]["url"])
            position = match.end()
        parts.append(_escape(text[position:]))
        rendered = "".join(parts)
        mentions = [
            {"start": m.start(), "end": m.end(), "username": user["username"], "id": user["id"]}
            for m in _MENTION.finditer(rendered)
            if (user := self.user_by_handle(m.group(1)))
        ]
        entities = {k: v for k, v in (("urls", urls), ("mentions", mentions)) if v}
        return rendered, entities

    def tweet(self, item: Item, fields: set[str]) -> dict:
        text, entities = self.render_text(item.text)
        body = {"id": item.item_id, "text": text, "edit_history_tweet_ids": [item.item_id]}
        parent = self.items.get(item.parent_id) if item.parent_id else None
        optional = {
            "author_id": item.author["id"],
            "conversation_id": item.extra["conversation_id"],
            "created_at": self.clock.iso(item.created_at),
            "in_reply_to_user_id": parent.author["id"] if parent else None,
            "referenced_tweets": [{"type": "replied_to", "id": parent.item_id}] if parent else None,
            "entities": entities or None,
            "attachments": {"media_keys": item.extra["media_keys"]}
            if item.extra["media_keys"] else None,
        }  # fmt: skip
        body.update({k: v for k, v in optional.items() if k in fields and v is not None})
        return body

    def user(self, user: dict, fields: set[str]) -> dict:
        body = dict(user)
        account = next((a for a in self.accounts.values() if a.platform_id == user["id"]), None)
        if account is None:
            return body
        description, description_entities = self.render_text(account.bio)
        entities = {}
        if account.website:
            entities["url"] = {"urls": [_url_entity(account.website, 0)]}
        if description_entities.get("urls"):
            entities["description"] = {"urls": description_entities["urls"]}
        optional = {
            "description": description,
            "url": _tco(account.website) if account.website else "",
            "entities": entities or None,
            "created_at": account.extra["created_at"],
        }
        body.update({k: v for k, v in optional.items() if k in fields and v is not None})
        return body

    def page(self, request: SimRequest, items: list[Item], *, token_param: str,
             smallest: int, default: int = 10) -> SimResponse:  # fmt: skip
        """One page of a timeline, newest first, with X's since/until/time filters,
        fields, expansions and meta."""
        tweet_fields = _fields(request, "tweet.fields", TWEET_FIELDS)
        user_fields = _fields(request, "user.fields", USER_FIELDS)
        expansions = _fields(request, "expansions", EXPANSIONS)
        max_results = _number(request, "max_results", default, smallest, 100)
        since_id = _number(request, "since_id", 0, 0, None)
        until_id = _number(request, "until_id", 0, 0, None)
        start, end = _time(request, "start_time"), _time(request, "end_time")
        # Search pages with next_token; it and the timelines also take pagination_token.
        token = request.arg(token_param) or request.arg("pagination_token")
        before = _token_id(token, token_param) if token else None
        chosen = sorted(
            (
                i for i in items
                if int(i.item_id) > since_id
                and (not until_id or int(i.item_id) < until_id)
                and (start is None or i.created_at >= start)
                and (end is None or i.created_at <= end)
                and (before is None or int(i.item_id) < before)
            ),
            key=lambda i: int(i.item_id), reverse=True,
        )[: max_results + 1]  # fmt: skip
        shown, more = chosen[:max_results], len(chosen) > max_results
        meta: dict = {"result_count": len(shown)}
        if shown:
            meta.update(newest_id=shown[0].item_id, oldest_id=shown[-1].item_id)
        if more:
            meta["next_token"] = _token(int(shown[-1].item_id))
        body: dict = {}
        if shown:
            body["data"] = [self.tweet(i, tweet_fields) for i in shown]
            includes = self.includes(shown, expansions, tweet_fields, user_fields)
            if includes:
                body["includes"] = includes
        body["meta"] = meta
        return SimResponse.json(200, body)

    def includes(self, shown: list[Item], expansions: set[str], tweet_fields: set[str],
                 user_fields: set[str]) -> dict:  # fmt: skip
        user_ids: dict[str, None] = {}
        tweets: dict[str, dict] = {}
        for item in shown:
            parent = self.items.get(item.parent_id) if item.parent_id else None
            if "author_id" in expansions:
                user_ids[item.author["id"]] = None
            if "in_reply_to_user_id" in expansions and parent:
                user_ids[parent.author["id"]] = None
            if "referenced_tweets.id" in expansions and parent and not parent.deleted:
                tweets[parent.item_id] = self.tweet(parent, tweet_fields)
        includes: dict = {}
        if user_ids:
            includes["users"] = [self.user(self.users[u], user_fields) for u in user_ids]
        if tweets:
            includes["tweets"] = list(tweets.values())
        return includes

    # -- platform hooks ----------------------------------------------------------------------

    def seed_account(self, payload: dict) -> dict:
        number = len(self.accounts) + 1
        handle = payload.get("handle") or f"agency{number}"
        account = Account(
            account_id=f"acct{number}",
            platform_id=self.stable_number(f"{self.platform}:{handle}"),
            handle=handle,
            display_name=payload.get("display_name") or handle,
            bio=payload.get("bio", ""),
            website=payload.get("website", ""),
            scopes=list(payload.get("scopes") or SCOPES),
            extra={"created_at": self.clock.iso()},
        )
        self.accounts[account.account_id] = account
        self.users[account.platform_id] = {
            "id": account.platform_id, "name": account.display_name, "username": handle,
        }  # fmt: skip
        access, refresh = self.issue_pair(account.account_id, account.scopes)
        return {
            "account_id": account.account_id,
            "platform_id": account.platform_id,
            "access_token": access["access_token"],
            "refresh_token": refresh,
        }

    def create_content(self, account: Account, payload: dict) -> dict:
        created_at = _parse_time(payload["created_at"]) if payload.get("created_at") else None
        item = self.add_item(
            text=payload.get("text", ""),
            author=self.users[account.platform_id],
            account_id=account.account_id,
            parent=None,
            created_at=created_at,
        )
        return {"id": item.item_id}

    def inject(self, payload: dict) -> dict:
        """A member of the public replies to `target`, or without a target posts on their
        own (a conversation the agency did not start)."""
        parent = None
        if payload.get("target"):
            parent = self.live_item(str(payload["target"]))
            if parent is None:
                raise SimError(SimResponse.json(404, {"error": f"no post {payload['target']}"}))
        created_at = _parse_time(payload["created_at"]) if payload.get("created_at") else None
        author = self.public_user(payload.get("author") or {})
        item = self.add_item(text=payload["text"], author=author,
                             account_id=None, parent=parent, created_at=created_at)  # fmt: skip
        return {"data": self.tweet(item, TWEET_FIELDS)}

    def error_response(self, status: int) -> SimResponse:
        titles = {400: "Invalid Request", 401: "Unauthorized", 403: "Forbidden",
                  404: "Not Found Error", 429: "Too Many Requests",
                  500: "Internal Server Error", 502: "Bad Gateway",
                  503: "Service Unavailable", 504: "Gateway Timeout"}  # fmt: skip
        title = titles.get(status, "Error")
        return problem(status, title, title)

    def rate_limit_response(self, reset_in_s: float) -> SimResponse:
        limit = 0
        if self.current is not None:
            for method, pattern, handler in self._routes:
                if method == self.current.method and pattern.fullmatch(self.current.route_path):
                    limit = getattr(handler, "x_rate", ("", 0))[1]
        response = problem(429, "Too Many Requests", "Too Many Requests")
        response.headers.update(_rate_headers(limit, 0, self.clock.now() + reset_in_s))
        return response

    def expired_token_response(self) -> SimResponse:
        return problem(401, "Unauthorized", "Unauthorized")

    def not_found_response(self, request: SimRequest, *, method_not_allowed: bool) -> SimResponse:
        if method_not_allowed:
            return problem(405, "Method Not Allowed", f"{request.method} is not allowed here.")
        return problem(404, "Not Found Error", f"No endpoint {request.path}.")

    # -- OAuth 2.0 (§2.1) ------------------------------------------------------------------

    def issue_pair(self, account_id: str, scopes: list[str]) -> tuple[dict, str | None]:
        """A token response; a refresh token only with offline.access, as on X."""
        access = self.issue_token(account_id, lifetime=ACCESS_LIFETIME_S, scopes=scopes)
        body = {"token_type": "bearer", "expires_in": ACCESS_LIFETIME_S,
                "access_token": access.value, "scope": " ".join(scopes)}  # fmt: skip
        refresh = None
        if "offline.access" in scopes:
            refresh = self.issue_token(account_id, kind="refresh", lifetime=None,
                                       scopes=scopes).value  # fmt: skip
            body["refresh_token"] = refresh
        return body, refresh

    @route("GET", r"/i/oauth2/authorize")
    def authorize(self, request: SimRequest) -> SimResponse:
        redirect_uri, state = request.arg("redirect_uri"), request.arg("state")
        scopes = (request.arg("scope") or "").split()
        unknown = [s for s in scopes if s not in SCOPES]
        problems = [
            request.arg("response_type") != "code" and "response_type must be code",
            request.arg("client_id") != SIM_CLIENT_ID and "unknown client_id",
            not redirect_uri and "redirect_uri is missing",
            not state and "state is missing",
            not request.arg("code_challenge") and "code_challenge is missing (PKCE)",
            request.arg("code_challenge_method", "plain") not in ("S256", "plain")
            and "code_challenge_method must be S256 or plain",
            not scopes and "scope is missing",
            unknown and f"unknown scopes: {' '.join(unknown)}",
        ]  # fmt: skip
        problems = [p for p in problems if p]
        account, deny = (None, False) if problems else self.oauth_account()
        if account is None:
            # X shows its own error page and never redirects to an unverified client.
            problems = problems or ["no account to sign in as: seed one first"]
            page = "<h1>Something went wrong</h1><p>" + "; ".join(problems) + "</p>"
            return SimResponse.text(400, page, "text/html; charset=utf-8")
        if deny:
            return SimResponse.redirect(add_query(redirect_uri, error="access_denied", state=state))
        code = self.new_code({
            "account_id": account.account_id,
            "client_id": SIM_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "challenge": request.arg("code_challenge"),
            "method": request.arg("code_challenge_method", "plain"),
            "scopes": [s for s in scopes if s in account.scopes],
        })  # fmt: skip
        self.codes[code]["expires_at"] = self.clock.now() + CODE_LIFETIME_S
        return SimResponse.redirect(add_query(redirect_uri, state=state, code=code))

    def oauth_client(self, request: SimRequest) -> str:
        """A confidential client authenticates with Basic; a public one names itself."""
        basic = request.basic_auth
        if basic is not None:
            if basic != (SIM_CLIENT_ID, SIM_CLIENT_SECRET):
                raise oauth_error(401, "unauthorized_client", "Missing valid authorization header")
            return basic[0]
        if request.arg("client_id") != SIM_CLIENT_ID:
            raise oauth_error(401, "unauthorized_client", "Missing valid authorization header")
        return SIM_CLIENT_ID

    @route("POST", r"/2/oauth2/token")
    def token(self, request: SimRequest) -> SimResponse:
        self.oauth_client(request)
        invalid_token = oauth_error(400, "invalid_request",
                                    "Value passed for the token was invalid.")  # fmt: skip
        grant = request.arg("grant_type")
        if grant == "authorization_code":
            code = self.take_code(request.arg("code"))
            if (
                code is None
                or request.arg("redirect_uri") != code["redirect_uri"]
                or not self.pkce_ok(code["challenge"], request.arg("code_verifier"), code["method"])
            ):
                raise invalid_token
            body, _ = self.issue_pair(code["account_id"], code["scopes"])
            return SimResponse.json(200, body)
        if grant == "refresh_token":
            state, old = self.token_state(request.arg("refresh_token"), kind="refresh")
            if state != "ok":
                raise invalid_token
            # Rotation: the refresh token just used stops working (§2.1).
            old.revoked = True
            body, _ = self.issue_pair(old.account_id, old.scopes)
            return SimResponse.json(200, body)
        raise oauth_error(400, "invalid_request", "Missing required parameter [grant_type].")

    @route("POST", r"/2/oauth2/revoke")
    def revoke(self, request: SimRequest) -> SimResponse:
        self.oauth_client(request)
        token = self.tokens.get(request.arg("token") or "")
        if token is not None:
            token.revoked = True
        return SimResponse.json(200, {"revoked": True})

    # -- users (§2.1, §2.7) ---------------------------------------------------------------

    @route("GET", r"/2/users/me")
    @api("/2/users/me", 75)
    def me(self, request: SimRequest, account: Account) -> SimResponse:
        fields = _fields(request, "user.fields", USER_FIELDS)
        return SimResponse.json(200, {"data": self.user(self.users[account.platform_id], fields)})

    def known_user(self, user_id: str) -> dict:
        user = self.users.get(user_id)
        if user is None:
            # X answers 200 with an `errors` array for a missing user.
            raise SimError(SimResponse.json(200, {"errors": [{
                "value": user_id, "detail": f"Could not find user with id: [{user_id}].",
                "title": "Not Found Error", "resource_type": "user", "parameter": "id",
                "resource_id": user_id, "type": PROBLEMS + "resource-not-found",
            }]}))  # fmt: skip
        return user

    @route("GET", r"/2/users/(?P<user_id>[^/]+)/tweets")
    @api("/2/users/:id/tweets", 900)  # not in §2.6; X publishes 900 per user
    def user_tweets(self, request: SimRequest, account: Account, user_id: str) -> SimResponse:
        self.known_user(user_id)
        items = [i for i in self.items.values() if i.author["id"] == user_id and not i.deleted]
        return self.page(request, items, token_param="pagination_token", smallest=5)

    @route("GET", r"/2/users/(?P<user_id>[^/]+)/mentions")
    @api("/2/users/:id/mentions", 300)
    def mentions(self, request: SimRequest, account: Account, user_id: str) -> SimResponse:
        self.known_user(user_id)
        items = [i for i in self.items.values()
                 if not i.deleted and user_id in self.mentioned_ids(i)]  # fmt: skip
        return self.page(request, items, token_param="pagination_token", smallest=5)

    # -- posts (§2.2, §2.3) -----------------------------------------------------------------

    @route("POST", r"/2/media/upload")
    @api("/2/media/upload", 500, "media.write")
    def upload(self, request: SimRequest, account: Account) -> SimResponse:
        upload = request.files.get("media")
        if upload is None:
            raise invalid("media", "", "The `media` field is required.")
        category = request.arg("media_category")
        if category not in ("tweet_image", "tweet_gif", "dm_image", "dm_gif"):
            # Video goes through the chunked initialize/append/finalize calls instead.
            message = "`media_category` must be an image category for a simple upload."
            raise invalid("media_category", category or "", message)
        if len(upload.data) > MAX_IMAGE_BYTES:
            raise invalid("media", upload.filename, "Images may be at most 5 MB.")
        found = _image_size(upload.data)
        if found is None:
            raise invalid("media", upload.filename, "The media type is not recognized.")
        image_type, width, height = found
        media_id = self.new_id()
        # The bytes are kept, as the platform keeps them, so a test can check what SMC
        # sent (no EXIF or GPS in a published photo, P1).
        self.media[media_id] = {"account_id": account.account_id, "alt_text": "",
                                "data": upload.data,
                                "expires_at": self.clock.now() + MEDIA_LIFETIME_S}  # fmt: skip
        return SimResponse.json(200, {"data": {
            "id": media_id, "media_key": f"3_{media_id}", "size": len(upload.data),
            "expires_after_secs": MEDIA_LIFETIME_S,
            "image": {"image_type": image_type, "w": width, "h": height},
        }})  # fmt: skip

    def own_media(self, media_id: str, account: Account) -> dict | None:
        media = self.media.get(str(media_id))
        if (
            media is None
            or media["account_id"] != account.account_id
            or media["expires_at"] < self.clock.now()
        ):
            return None
        return media

    @route("POST", r"/2/media/metadata")
    @api("/2/media/metadata", 500, "media.write")  # not in §2.6; as the upload
    def metadata(self, request: SimRequest, account: Account) -> SimResponse:
        body = request.json if isinstance(request.json, dict) else {}
        media = self.own_media(body.get("id", ""), account)
        if media is None:
            raise invalid("id", body.get("id", ""), "Your media IDs are invalid.")
        text = ((body.get("metadata") or {}).get("alt_text") or {}).get("text", "")
        if len(text) > 1000:
            raise invalid("metadata.alt_text.text", text[:20], "Alt text is at most 1000 "
                          "characters.")  # fmt: skip
        media["alt_text"] = text
        return SimResponse.json(200, {"data": {
            "id": body["id"], "associated_metadata": {"alt_text": {"text": text}},
        }})  # fmt: skip

    @route("POST", r"/2/tweets")
    @api("/2/tweets", 100, "tweet.write")
    def create_tweet(self, request: SimRequest, account: Account) -> SimResponse:
        body = request.json
        if not isinstance(body, dict):
            raise invalid("body", "", "The request body must be a JSON object.")
        text = body.get("text") or ""
        media_ids = [str(m) for m in (body.get("media") or {}).get("media_ids") or []]
        if not text and not media_ids:
            raise invalid("text", "", "A post needs text or media.")
        if len(media_ids) > 4 or any(self.own_media(m, account) is None for m in media_ids):
            raise invalid("media.media_ids", ",".join(media_ids), "Your media IDs are invalid.")
        if x_weighted_length(text) > X_LIMIT:
            raise forbidden(TOO_LONG)
        parent = None
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to:
            parent = self.live_item(str(reply_to))
            if parent is None:
                raise forbidden("You attempted to reply to a Tweet that is deleted or not "
                                "visible to you.")  # fmt: skip
            if parent.account_id != account.account_id and account.platform_id not in (
                self.mentioned_ids(parent)
            ):
                raise forbidden(REPLY_RULE)
        if text and self.is_duplicate(account, text):
            raise forbidden(DUPLICATE)
        item = self.add_item(text=text, author=self.users[account.platform_id],
                             account_id=account.account_id, parent=parent,
                             media_keys=[f"3_{m}" for m in media_ids])  # fmt: skip
        rendered, _ = self.render_text(text)
        return SimResponse.json(201, {"data": {
            "id": item.item_id, "text": rendered, "edit_history_tweet_ids": [item.item_id],
        }})  # fmt: skip

    def is_duplicate(self, account: Account, text: str) -> bool:
        since = self.clock.now() - DUPLICATE_WINDOW_S
        return any(
            i.account_id == account.account_id and not i.deleted and i.created_at >= since
            and i.text == text
            for i in self.items.values()
        )  # fmt: skip

    @route("DELETE", r"/2/tweets/(?P<tweet_id>\d+)")
    @api("/2/tweets/:id", 50, "tweet.write")
    def delete_tweet(self, request: SimRequest, account: Account, tweet_id: str) -> SimResponse:
        item = self.live_item(tweet_id)
        if item is None:
            raise not_found("tweet", tweet_id)
        if item.account_id != account.account_id:
            raise forbidden("You are not allowed to delete a Tweet you did not post.")
        item.deleted = True
        return SimResponse.json(200, {"data": {"deleted": True}})

    # -- replies and moderation (§2.4, §2.5) ------------------------------------------------

    @route("GET", r"/2/tweets/search/recent")
    @api("/2/tweets/search/recent", 300)
    def search_recent(self, request: SimRequest, account: Account) -> SimResponse:
        query = request.arg("query") or ""
        if not query or len(query) > 512:
            raise invalid("query", query[:40], "The `query` parameter must be 1 to 512 "
                          "characters.")  # fmt: skip
        tests = [self.search_term(term) for term in query.split()]
        since = self.clock.now() - SEARCH_WINDOW_S
        items = [
            i
            for i in self.items.values()
            if not i.deleted and i.created_at >= since and all(t(i) for t in tests)
        ]
        return self.page(request, items, token_param="next_token", smallest=10)

    def search_term(self, term: str):
        """The operators SMC uses, and plain words; others are refused, not ignored."""
        match = _OPERATOR.fullmatch(term)
        if match is None:
            if ":" in term:
                raise invalid("query", term, f"The query operator in [{term}] is not supported.")
            return lambda item: term.lower() in item.text.lower()
        negate, operator, value = bool(match[1]), match[2], match[3].lower()
        if operator == "is" and value not in ("reply", "retweet", "quote"):
            raise invalid("query", term, f"The query operator in [{term}] is not supported.")

        def test(item: Item) -> bool:
            if operator == "conversation_id":
                return item.extra["conversation_id"] == value
            if operator == "from":
                return item.author["username"].lower() == value
            if operator == "to":
                parent = self.items.get(item.parent_id or "")
                return parent is not None and parent.author["username"].lower() == value
            # is:reply; is:retweet and is:quote never match, as SMC makes neither.
            return value == "reply" and item.parent_id is not None

        return (lambda item: not test(item)) if negate else test

    @route("PUT", r"/2/tweets/(?P<tweet_id>\d+)/hidden")
    @api("/2/tweets/:id/hidden", 50, "tweet.moderate.write")
    def hide(self, request: SimRequest, account: Account, tweet_id: str) -> SimResponse:
        body = request.json if isinstance(request.json, dict) else {}
        if not isinstance(body.get("hidden"), bool):
            raise invalid("hidden", body.get("hidden"), "`hidden` must be true or false.")
        item = self.live_item(tweet_id)
        if item is None:
            raise not_found("tweet", tweet_id)
        root = self.items[item.extra["conversation_id"]]
        if item.parent_id is None or root.account_id != account.account_id:
            raise forbidden(NOT_YOUR_CONVERSATION)
        item.hidden = body["hidden"]
        return SimResponse.json(200, {"data": {"hidden": item.hidden}})


# --- helpers ------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _tco(url: str) -> str:
    # Stable per URL, so the same link always shortens the same way, as on X.
    return "https://t.co/" + hashlib.sha256(url.encode()).hexdigest()[:10]


def _url_entity(found: str, start: int) -> dict:
    expanded = found if "://" in found else "http://" + found
    display = expanded.split("://", 1)[1]
    short = _tco(expanded)
    return {
        "start": start, "end": start + len(short), "url": short, "expanded_url": expanded,
        "display_url": display if len(display) <= 26 else display[:25] + "…",
    }  # fmt: skip


def _fields(request: SimRequest, name: str, allowed: set[str]) -> set[str]:
    values: list[str] = []
    for given in [name, *(old for old, new in RENAMED.items() if new == name)]:
        values += [v for raw in request.args(given) for v in raw.split(",") if v]
    chosen = {RENAMED.get(v, v) for v in values}
    wrong = sorted(chosen - allowed)
    if wrong:
        raise invalid(name, wrong[0], f"The `{name}` query parameter value [{wrong[0]}] is not "
                      f"one of [{','.join(sorted(allowed))}]")  # fmt: skip
    return chosen


def _number(request: SimRequest, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.arg(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bounds = f"between {low} and {high}" if high else "a number"
        raise invalid(name, raw, f"The `{name}` query parameter value [{raw}] is not {bounds}")
    return int(raw)


def _parse_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _time(request: SimRequest, name: str) -> float | None:
    raw = request.arg(name)
    if raw is None:
        return None
    try:
        return _parse_time(raw)
    except ValueError:
        raise invalid(name, raw, f"Invalid '{name}':'{raw}'. '{name}' must be a valid "
                      "RFC 3339 timestamp.") from None  # fmt: skip


_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _token(before_id: int) -> str:
    """An opaque pagination token: where the next page starts, in base 36."""
    digits = ""
    while before_id:
        before_id, rest = divmod(before_id, 36)
        digits = _ALPHABET[rest] + digits
    return digits or "0"


def _token_id(token: str, name: str) -> int:
    try:
        return int(token, 36)
    except ValueError:
        raise invalid(name, token, f"The `{name}` query parameter value [{token}] is not "
                      "valid.") from None  # fmt: skip


def _image_size(data: bytes) -> tuple[str, int, int] | None:
    """(mime type, width, height) of a JPEG, PNG or GIF, read from its header."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "image/png", width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return "image/gif", width, height
    if data.startswith(b"\xff\xd8"):
        position = 2
        while position + 9 <= len(data) and data[position] == 0xFF:
            marker = data[position + 1]
            length = struct.unpack(">H", data[position + 2 : position + 4])[0]
            # Start-of-frame markers carry the size; C4, C8 and CC are other tables.
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[position + 5 : position + 9])
                return "image/jpeg", width, height
            position += 2 + length
    return None
