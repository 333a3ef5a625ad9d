"""Facebook Pages (Graph API) simulator: platform-apis.md §1 and §7.

One seeded account is one person who runs one Page. The login dialog approves at once
(as `/_sim/oauth/next` says, else as the last seeded account); the code becomes a
short-lived user token, that a long-lived one, and `/me/accounts` hands out the Page
token SMC stores. Page tokens never expire but die on revoke.

Every Page-token call counts against the Page's business-use-case budget in the
rate bucket named after the Page's node path, "/{page-id}" (so `/_sim/limits` with
that path throttles the whole Page, as Graph does), and answers with
X-Business-Use-Case-Usage. User-token calls count in the bucket "app" and answer with
X-App-Usage.

Webhooks: `/_sim/webhooks` stands in for the App Dashboard (callback, verify token, app
secret); a Page receives feed events only once it is subscribed through
`POST /{page-id}/subscribed_apps`, as on Facebook.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import math
import queue
import re
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from platforms.simulators.core import (
    SIM_CLIENT_ID,
    SIM_CLIENT_SECRET,
    Account,
    Item,
    SimError,
    SimRequest,
    SimResponse,
    Simulator,
    Token,
    add_query,
    route,
)

# The simulator keeps its own copy of the limit rather than importing SMC's: it stands
# for the platform, so a wrong number on SMC's side must show up as a refusal here.
MESSAGE_LIMIT = 63206
PERMISSIONS = (
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "pages_read_user_content",
    "pages_manage_engagement",
    "pages_manage_metadata",
)
TASKS = ("ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE")
SHORT_LIVED_S = 2 * 3600
LONG_LIVED_S = 60 * 86400
DUPLICATE_WINDOW_S = 86400
# Page budget: 4,800 calls × engaged users per 24 h; a seeded Page has one engaged user.
PAGE_LIMIT, PAGE_WINDOW_S = 4800, 86400
# App budget: 200 calls per user per hour.
APP_LIMIT, APP_WINDOW_S = 200, 3600
WEBHOOK_TIMEOUT_S = 5

_VERSION_PREFIX = re.compile(r"^/v\d+\.\d+(?=/)")
_ATTACHED = re.compile(r"attached_media\[(\d+)\]")
_NODE = r"(?P<node>[0-9]+(?:_[0-9]+)?|me)"


def graph_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _status_for(code: int) -> int:
    """§1.6's mapping: Graph mostly answers 400; permissions and throttles 403."""
    if code in (4, 10, 17, 32, 613, 80001) or 200 <= code <= 299:
        return 403
    if code in (1, 2):
        return 500
    return 400


def graph_error(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    status: int | None = None,
    transient: bool = False,
    kind: str = "OAuthException",
    headers: dict | None = None,
) -> SimError:
    error = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(8)
    return SimError(SimResponse.json(status or _status_for(code), {"error": error}, headers))


def _missing(node: str, method: str = "GET") -> SimError:
    return graph_error(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, cannot "
        "be loaded due to missing permissions, or does not support this operation.",
        subcode=33,
        kind="GraphMethodException",
    )


def _split_fields(spec: str) -> list[str]:
    """Split a Graph field list on the commas outside braces: "id,from{id,name}"."""
    parts, depth, current = [], 0, ""
    for char in spec:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def select_fields(node_type: str, available: dict, spec: str | None, default: list[str]) -> dict:
    """Graph's `fields=` selection; absent values are left out, unknown names refused."""
    chosen: dict = {}
    for entry in _split_fields(spec) if spec else default:
        name, _, sub = entry.partition("{")
        if name not in available:
            raise graph_error(
                100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
            )
        value = available[name]
        if value is None:
            continue
        if sub and isinstance(value, dict):
            value = select_fields(node_type, value, sub.removesuffix("}"), [])
        chosen[name] = value
    return chosen


def signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Call:
    """One Graph request being answered: who is calling, and the usage headers it earns."""

    request: SimRequest
    token: Token | None = None
    role: str = ""  # "user", "user-long" or "page"
    account: Account | None = None
    headers: dict = field(default_factory=dict)

    @property
    def page_id(self) -> str:
        return self.account.platform_id if self.account else ""


def graph_route(method: str, pattern: str):
    """A Graph route: the handler gets a Call, and whatever it answers (errors included)
    carries the usage headers the call earned, as Graph's answers do."""

    def decorator(handler):
        @functools.wraps(handler)
        def wrapped(self, request: SimRequest, **groups):
            call = Call(request)
            try:
                response = handler(self, call, **groups)
            except SimError as error:
                response = error.response
            response.headers.update(call.headers)
            return response

        return route(method, pattern)(wrapped)

    return decorator


class FacebookSimulator(Simulator):
    platform = "facebook"

    def __init__(self, *, seed: int = 0):
        # Fault hooks get no request; the thread answering it is known, so it is kept here.
        self._local = threading.local()
        self.generation = 0
        self._outbox: queue.Queue = queue.Queue()
        super().__init__(seed=seed)
        threading.Thread(
            target=self._deliver_forever, name="sim-facebook-webhooks", daemon=True
        ).start()

    def reset_platform(self) -> None:
        self.token_roles: dict[str, str] = {}
        self.photos: dict[str, dict] = {}
        self.people: dict[str, str] = {}
        self.subscriptions: dict[str, set[str]] = {}
        self.webhook: dict | None = None
        self.webhook_drop = 0
        # Deliveries queued before a reset belong to another test: the worker skips them.
        self.generation += 1
        self.id_base = self.rng.randrange(10**14, 9 * 10**14)

    def normalize_path(self, path: str) -> str:
        return _VERSION_PREFIX.sub("", path, count=1)

    def handle(self, request: SimRequest, *, skip_faults: bool = False):
        self._local.request = request
        return super().handle(request, skip_faults=skip_faults)

    def new_id(self) -> str:
        return str(self.id_base + self.next_number())

    # -- /_sim/ hooks -------------------------------------------------------------------------

    def seed_account(self, payload: dict) -> dict:
        page_id = self.new_id()
        handle = payload.get("handle") or f"page{page_id}"
        account = Account(
            account_id=f"acct-{page_id}",
            platform_id=page_id,
            handle=handle,
            display_name=payload.get("display_name") or handle,
            bio=payload.get("bio", ""),
            website=payload.get("website", ""),
            scopes=list(payload.get("scopes") or PERMISSIONS),
            extra={
                "tasks": list(payload.get("tasks") or TASKS),
                "description": payload.get("description", ""),
                "category": payload.get("category", "Government organization"),
                "user_id": self.new_id(),
                "user_name": payload.get("person_name", "Page Admin"),
            },
        )
        self.accounts[account.account_id] = account
        token = self._issue(account, "page", lifetime=None, scopes=account.scopes)
        return {
            "account_id": account.account_id,
            "platform_id": page_id,
            "access_token": token.value,
        }

    def create_content(self, account: Account, payload: dict) -> dict:
        """An older Page post, made outside SMC (e.g. in Meta Business Suite)."""
        created = self._moment(payload.get("created_at"))
        post = self._add_post(account, payload.get("text", ""), created_at=created)
        return {"id": post.item_id}

    def inject(self, payload: dict) -> dict:
        target = self.items.get(payload.get("target", ""))
        if target is None or target.deleted:
            raise SimError(SimResponse.json(404, {"error": "no such post or comment"}))
        author = payload.get("author") or {}
        name = author.get("name") or "A Person"
        person_id = self.people.setdefault(author.get("handle") or name, self.new_id())
        comment = self._add_comment(
            target,
            payload.get("text", ""),
            account_id=None,
            author={"id": person_id, "name": name},
            created_at=self._moment(payload.get("created_at")),
        )
        return self._comment_fields(comment, scopes=list(PERMISSIONS))

    def configure_webhooks(self, payload: dict) -> dict:
        if "drop" in payload:
            self.webhook_drop = int(payload["drop"])
        if "callback_url" in payload:
            config = {k: str(payload[k]) for k in ("callback_url", "verify_token", "app_secret")}
            if urlsplit(config["callback_url"]).scheme not in ("http", "https"):
                raise SimError(SimResponse.json(400, {"error": "callback_url must be http(s)"}))
            self._verify_callback(config)
            self.webhook = config
        return {"subscribed": self.webhook is not None, "drop": self.webhook_drop}

    def _verify_callback(self, config: dict) -> None:
        """The hub.challenge handshake, as the App Dashboard runs it before saving: done
        while the control request waits, so the test learns at once whether it passed."""
        challenge = secrets.token_hex(8)
        url = add_query(
            config["callback_url"],
            **{
                "hub.mode": "subscribe",
                "hub.challenge": challenge,
                "hub.verify_token": config["verify_token"],
            },
        )
        try:
            # The callback's scheme was checked above: http(s) only.
            with urllib.request.urlopen(url, timeout=WEBHOOK_TIMEOUT_S) as answer:  # noqa: S310
                status, received = answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, received = error.code, ""
        except OSError as error:
            status, received = 0, str(error)
        if status != 200 or received != challenge:
            raise SimError(
                SimResponse.json(
                    400,
                    {
                        "error": (
                            "The URL couldn't be validated. Response does not match challenge, "
                            f'expected value="{challenge}", received="{received[:100]}" ({status})'
                        )
                    },
                )
            )

    def error_response(self, status: int) -> SimResponse:
        if status >= 500:
            return graph_error(
                2,
                "An unexpected error has occurred. Please retry your request later.",
                status=status,
                transient=True,
            ).response
        code, subcode, message = {
            401: (190, 467, "Invalid OAuth access token."),
            403: (200, None, "(#200) Permissions error"),
            404: (100, 33, "Unsupported get request."),
            429: (4, None, "(#4) Application request limit reached"),
        }.get(status, (100, None, "(#100) Invalid parameter"))
        return graph_error(code, message, subcode=subcode, status=status).response

    def rate_limit_response(self, reset_in_s: float) -> SimResponse:
        minutes = math.ceil(reset_in_s / 60)
        token = self.tokens.get(self._local.request.bearer_token or "")
        if token is not None and self.token_roles.get(token.value) == "page":
            page_id = self.accounts[token.account_id].platform_id
            headers = self._page_usage(page_id, 100, minutes)
            return graph_error(32, "(#32) Page request limit reached", headers=headers).response
        headers = {
            "X-App-Usage": json.dumps(
                dict.fromkeys(("call_count", "total_cputime", "total_time"), 100)
            )
        }
        return graph_error(4, "(#4) Application request limit reached", headers=headers).response

    def expired_token_response(self) -> SimResponse:
        now = f"{datetime.fromtimestamp(self.clock.now(), UTC):%A, %d-%b-%y %H:%M:%S} UTC"
        return graph_error(
            190,
            f"Error validating access token: Session has expired on {now}. "
            f"The current time is {now}.",
            subcode=463,
        ).response

    def not_found_response(self, request: SimRequest, *, method_not_allowed: bool) -> SimResponse:
        return _missing(request.route_path.strip("/"), request.method).response

    # -- connect ------------------------------------------------------------------------------

    @route("GET", r"/dialog/oauth")
    def login_dialog(self, request: SimRequest) -> SimResponse:
        if request.arg("client_id") != SIM_CLIENT_ID:
            return SimResponse.text(400, "Invalid App ID: the app is not registered.")
        redirect_uri = request.arg("redirect_uri")
        if not redirect_uri:
            return SimResponse.text(400, "The redirect_uri parameter is missing.")
        account, deny = self.oauth_account()
        if account is None:
            return SimResponse.text(400, "Nobody is logged in to Facebook: seed an account.")
        state = {"state": request.arg("state")} if request.arg("state") else {}
        if deny:
            return SimResponse.redirect(
                add_query(
                    redirect_uri,
                    error="access_denied",
                    error_code="200",
                    error_description="Permissions error",
                    error_reason="user_denied",
                    **state,
                )
            )
        asked = (request.arg("scope") or "").replace(" ", ",").split(",")
        granted = [scope for scope in asked if scope in account.scopes]
        code = self.new_code(
            {"account_id": account.account_id, "redirect_uri": redirect_uri, "scopes": granted}
        )
        return SimResponse.redirect(add_query(redirect_uri, code=code, **state))

    @graph_route("GET", r"/oauth/access_token")
    def access_token(self, call: Call) -> SimResponse:
        request = call.request
        if request.arg("client_id") != SIM_CLIENT_ID:
            raise graph_error(101, "Error validating application. Invalid application ID.")
        if request.arg("client_secret") != SIM_CLIENT_SECRET:
            raise graph_error(100, "Error validating client secret.")
        if request.arg("grant_type") == "fb_exchange_token":
            state, token = self.token_state(request.arg("fb_exchange_token"))
            if state != "ok" or self.token_roles.get(token.value) not in ("user", "user-long"):
                raise graph_error(190, "Invalid OAuth access token - Cannot parse access token")
            account = self.accounts[token.account_id]
            issued = self._issue(account, "user-long", LONG_LIVED_S, token.scopes)
            return self._token_answer(issued, LONG_LIVED_S)
        grant = self.take_code(request.arg("code"))
        if grant is None:
            raise graph_error(100, "Invalid verification code format.", subcode=36007)
        if grant["redirect_uri"] != request.arg("redirect_uri"):
            raise graph_error(
                100,
                "Error validating verification code. Please make sure your redirect_uri "
                "is identical to the one you used in the OAuth dialog request",
                subcode=36008,
            )
        account = self.accounts[grant["account_id"]]
        issued = self._issue(account, "user", SHORT_LIVED_S, grant["scopes"])
        return self._token_answer(issued, SHORT_LIVED_S)

    @graph_route("GET", r"/me/accounts")
    def my_pages(self, call: Call) -> SimResponse:
        self._auth(call)
        if call.role == "page":
            raise graph_error(
                100, "(#100) Tried accessing nonexisting field (accounts) on node type (Page)"
            )
        self._need(call, "pages_show_list")
        account, user_token = call.account, call.token
        # A Page token from a long-lived user token never expires; from a short-lived
        # one it lasts as long as the user token.
        lifetime = (
            None if call.role == "user-long" else max(0.0, user_token.expires_at - self.clock.now())
        )
        page_token = self._issue(account, "page", lifetime, user_token.scopes)
        available = {
            **self._page_fields(account),
            "access_token": page_token.value,
            "tasks": list(account.extra["tasks"]),
        }
        page = select_fields(
            "Page",
            available,
            call.request.arg("fields"),
            ["access_token", "category", "name", "id", "tasks"],
        )
        cursor = _cursor(account.platform_id)
        return SimResponse.json(
            200, {"data": [page], "paging": {"cursors": {"before": cursor, "after": cursor}}}
        )

    @graph_route("POST", r"/(?P<page_id>[0-9]+)/subscribed_apps")
    def subscribe_app(self, call: Call, page_id: str) -> SimResponse:
        self._page_auth(call, page_id)
        self._need(call, "pages_manage_metadata", task="MANAGE")
        fields = [f for f in (call.request.arg("subscribed_fields") or "").split(",") if f]
        if not fields:
            raise graph_error(100, "(#100) Param subscribed_fields is required")
        self.subscriptions.setdefault(page_id, set()).update(fields)
        return SimResponse.json(200, {"success": True})

    # -- publish ------------------------------------------------------------------------------

    @graph_route("POST", r"/(?P<page_id>[0-9]+)/feed")
    def publish_feed(self, call: Call, page_id: str) -> SimResponse:
        self._page_auth(call, page_id)
        self._need(call, "pages_manage_posts", task="CREATE_CONTENT")
        request = call.request
        message, link = request.arg("message") or "", request.arg("link")
        photo_ids = self._attached_media(request, page_id)
        if not (message or link or photo_ids):
            raise graph_error(100, "(#100) Missing message or attachment")
        if link is not None:
            self._check_link(link)
        self._check_message(call.account, message)
        for photo_id in photo_ids:
            self.photos[photo_id]["attached"] = True
        post = self._add_post(call.account, message, link=link, photo_ids=photo_ids)
        return SimResponse.json(200, {"id": post.item_id})

    @graph_route("POST", r"/(?P<page_id>[0-9]+)/photos")
    def publish_photo(self, call: Call, page_id: str) -> SimResponse:
        self._page_auth(call, page_id)
        self._need(call, "pages_manage_posts", task="CREATE_CONTENT")
        request = call.request
        upload, url = request.files.get("source"), request.arg("url")
        if (upload is None or not upload.data) and not url:
            raise graph_error(324, "(#324) Requires upload file")
        # A `url` is taken on trust: the simulator has no network to fetch it from.
        if url and not url.startswith(("http://", "https://")):
            raise graph_error(100, "(#100) url should represent a valid URL")
        published = (request.arg("published") or "true").lower() != "false"
        message = request.arg("message") or ""
        if published:
            self._check_message(call.account, message)
        photo_id = self.new_id()
        self.photos[photo_id] = {"page_id": page_id, "published": published, "attached": False}
        if not published:
            return SimResponse.json(200, {"id": photo_id})
        post = self._add_post(call.account, message, photo_ids=[photo_id])
        return SimResponse.json(200, {"id": photo_id, "post_id": post.item_id})

    def _attached_media(self, request: SimRequest, page_id: str) -> list[str]:
        entries = sorted(
            (int(m[1]), value[0])
            for source in (request.query, request.form)
            for key, value in source.items()
            if (m := _ATTACHED.fullmatch(key))
        )
        photo_ids = []
        for index, raw in entries:
            try:
                photo_id = str(json.loads(raw)["media_fbid"])
            except (ValueError, KeyError, TypeError):
                photo_id = ""
            photo = self.photos.get(photo_id)
            if (
                photo is None
                or photo["page_id"] != page_id
                or photo["published"]
                or (photo["attached"] or photo_id in photo_ids)
            ):
                raise graph_error(
                    100, f"(#100) param attached_media[{index}] has invalid media_fbid"
                )
            photo_ids.append(photo_id)
        return photo_ids

    def _check_link(self, link: str) -> None:
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise graph_error(100, "(#100) The parameter link must be a valid URL")
        # The reserved .invalid domain (RFC 2606) plays a link Facebook cannot fetch.
        if parts.hostname.endswith(".invalid"):
            raise graph_error(1609005, "Error posting link: the link could not be fetched.")

    def _check_message(self, account: Account, message: str) -> None:
        if len(message) > MESSAGE_LIMIT:
            raise graph_error(
                100, f"(#100) Param message must be at most {MESSAGE_LIMIT} characters long."
            )
        if not message:
            return
        since = self.clock.now() - DUPLICATE_WINDOW_S
        for item in self.items.values():
            if (
                item.kind == "post"
                and item.account_id == account.account_id
                and not item.deleted
                and item.text == message
                and item.created_at > since
            ):
                raise graph_error(506, "(#506) Duplicate status message")

    def _add_post(
        self,
        account: Account,
        message: str,
        *,
        link: str | None = None,
        photo_ids: list[str] | None = None,
        created_at: float | None = None,
    ) -> Item:
        post = Item(
            item_id=f"{account.platform_id}_{self.new_id()}",
            account_id=account.account_id,
            kind="post",
            text=message,
            created_at=self.clock.now() if created_at is None else created_at,
            extra={"page_id": account.platform_id, "link": link, "photo_ids": photo_ids or []},
        )
        self.items[post.item_id] = post
        return post

    # -- read ---------------------------------------------------------------------------------

    @graph_route("GET", r"/(?P<page_id>[0-9]+)/posts")
    def page_posts(self, call: Call, page_id: str) -> SimResponse:
        self._page_auth(call, page_id)
        self._need(call, "pages_read_engagement")
        since, until = self._time_arg(call.request, "since"), self._time_arg(call.request, "until")
        posts = [
            item
            for item in self.items.values()
            if item.kind == "post"
            and item.extra["page_id"] == page_id
            and not item.deleted
            and (since is None or item.created_at >= since)
            and (until is None or item.created_at <= until)
        ]
        return self._listing(
            call.request,
            posts,
            newest_first=True,
            render=lambda post: select_fields(
                "Post",
                self._post_fields(post),
                call.request.arg("fields"),
                ["created_time", "message", "id"],
            ),
        )

    @graph_route("GET", "/" + _NODE)
    def read_node(self, call: Call, node: str) -> SimResponse:
        self._auth(call)
        fields = call.request.arg("fields")
        if node == "me" and call.role != "page":
            user = {"id": call.account.extra["user_id"], "name": call.account.extra["user_name"]}
            return SimResponse.json(200, select_fields("User", user, fields, ["name", "id"]))
        page = self._page_by_id(call.page_id if node == "me" else node)
        if page is not None:
            self._need(call, "pages_read_engagement")
            return SimResponse.json(
                200, select_fields("Page", self._page_fields(page), fields, ["name", "id"])
            )
        item = self._owned_item(call, node)
        self._need(call, "pages_read_engagement")
        if item.kind == "post":
            chosen = select_fields(
                "Post", self._post_fields(item), fields, ["created_time", "message", "id"]
            )
        else:
            chosen = self._comment_fields(item, scopes=call.token.scopes, spec=fields)
        return SimResponse.json(200, chosen)

    @graph_route("GET", r"/(?P<node>[0-9]+_[0-9]+)/comments")
    def list_comments(self, call: Call, node: str) -> SimResponse:
        self._page_auth(call)
        parent = self._owned_item(call, node)
        self._need(call, "pages_read_engagement")
        request = call.request
        order = request.arg("order") or "chronological"
        if order not in ("chronological", "reverse_chronological"):
            raise graph_error(
                100,
                "(#100) order must be one of the following values: "
                "chronological, reverse_chronological",
            )
        if request.arg("filter") not in (None, "toplevel", "stream"):
            raise graph_error(
                100, "(#100) filter must be one of the following values: toplevel, stream"
            )
        stream = request.arg("filter") == "stream"
        since = self._time_arg(request, "since")
        comments = [
            item
            for item in self.items.values()
            if item.kind != "post"
            and not item.deleted
            and (
                item.parent_id == node
                or (stream and parent.kind == "post" and item.extra["post_id"] == node)
            )
            and (since is None or item.created_at >= since)
        ]
        answer = self._listing(
            request,
            comments,
            newest_first=order == "reverse_chronological",
            render=lambda c: self._comment_fields(
                c, scopes=call.token.scopes, spec=request.arg("fields")
            ),
        )
        if (request.arg("summary") or "").lower() == "true":
            body = json.loads(answer.body)
            body["summary"] = {"order": order, "total_count": len(comments), "can_comment": True}
            answer = SimResponse.json(200, body)
        return answer

    # -- moderate -----------------------------------------------------------------------------

    @graph_route("POST", r"/(?P<node>[0-9]+_[0-9]+)/comments")
    def add_comment(self, call: Call, node: str) -> SimResponse:
        self._page_auth(call)
        target = self._owned_item(call, node)
        self._need(call, "pages_manage_engagement", task="MODERATE")
        message = call.request.arg("message") or ""
        if not message:
            raise graph_error(100, "(#100) Missing message or attachment")
        page = call.account
        comment = self._add_comment(
            target,
            message,
            account_id=page.account_id,
            author={"id": page.platform_id, "name": page.display_name},
            created_at=self.clock.now(),
        )
        return SimResponse.json(200, {"id": comment.item_id})

    @graph_route("POST", "/" + _NODE)
    def update_node(self, call: Call, node: str) -> SimResponse:
        self._page_auth(call)
        item = self._owned_item(call, node, method="POST")
        hidden = (call.request.arg("is_hidden") or "").lower()
        if item.kind == "post" or hidden not in ("true", "false"):
            raise _missing(node, "POST")
        self._need(call, "pages_manage_engagement", task="MODERATE")
        if not self._can_hide(item):
            raise graph_error(100, "(#100) This comment cannot be hidden or unhidden")
        item.hidden = hidden == "true"
        return SimResponse.json(200, {"success": True})

    @graph_route("DELETE", "/" + _NODE)
    def delete_node(self, call: Call, node: str) -> SimResponse:
        self._page_auth(call)
        item = self._owned_item(call, node, method="DELETE")
        if item.kind == "post":
            self._need(call, "pages_manage_posts", task="CREATE_CONTENT")
        else:
            self._need(call, "pages_manage_engagement", task="MODERATE")
        item.deleted = True
        if item.kind != "post":
            self._notify(item, "remove")
        return SimResponse.json(200, {"success": True})

    # -- comments -----------------------------------------------------------------------------

    def _add_comment(
        self, target: Item, message: str, *, account_id: str | None, author: dict, created_at: float
    ) -> Item:
        post_id = target.item_id if target.kind == "post" else target.extra["post_id"]
        parent_id = target.item_id
        if target.kind != "post" and target.parent_id != post_id:
            # Facebook threads one level deep: an answer to a reply joins the same thread.
            parent_id = target.parent_id
        comment = Item(
            item_id=f"{post_id.split('_')[1]}_{self.new_id()}",
            account_id=account_id,
            kind="comment" if account_id is None else "reply",
            text=message,
            created_at=created_at,
            parent_id=parent_id,
            author=author,
            extra={"post_id": post_id, "page_id": self.items[post_id].extra["page_id"]},
        )
        self.items[comment.item_id] = comment
        self._notify(comment, "add")
        return comment

    def _can_hide(self, comment: Item) -> bool:
        # A Page cannot hide what it wrote itself; it can delete it.
        return comment.account_id is None

    def _comment_fields(self, comment: Item, *, scopes: list[str], spec: str | None = None):
        def basic(item: Item) -> dict:
            # Visitors' names need pages_read_user_content; the Page's own never do.
            show_author = item.account_id is not None or "pages_read_user_content" in scopes
            return {
                "id": item.item_id,
                "message": item.text,
                "created_time": graph_time(item.created_at),
                "from": dict(item.author) if show_author else None,
            }

        parent = self.items.get(comment.parent_id or "")
        available = {
            **basic(comment),
            "parent": basic(parent) if parent is not None and parent.kind != "post" else None,
            "is_hidden": comment.hidden,
            "can_hide": self._can_hide(comment),
            # A Page may delete any comment on its own posts, its own included.
            "can_remove": True,
            "can_comment": True,
            "comment_count": sum(
                1 for i in self.items.values() if i.parent_id == comment.item_id and not i.deleted
            ),
            "like_count": 0,
            "attachment": None,
            "permalink_url": (
                f"https://www.facebook.com/{comment.extra['post_id']}?comment_id={comment.item_id}"
            ),
        }
        return select_fields("Comment", available, spec, ["created_time", "from", "message", "id"])

    def _post_fields(self, post: Item) -> dict:
        page = self._page_by_id(post.extra["page_id"])
        link, photos = post.extra["link"], post.extra["photo_ids"]
        return {
            "id": post.item_id,
            "message": post.text or None,
            "created_time": graph_time(post.created_at),
            "updated_time": graph_time(post.created_at),
            "from": {"id": page.platform_id, "name": page.display_name},
            "link": link,
            "permalink_url": f"https://www.facebook.com/{post.item_id}",
            "status_type": "added_photos"
            if photos
            else "shared_story"
            if link
            else "mobile_status_update",
            "is_published": True,
        }

    def _page_fields(self, page: Account) -> dict:
        return {
            "id": page.platform_id,
            "name": page.display_name,
            "username": page.handle,
            "about": page.bio,
            "description": page.extra["description"],
            "website": page.website or None,
            "link": f"https://www.facebook.com/{page.handle}",
            "category": page.extra["category"],
        }

    # -- webhooks -----------------------------------------------------------------------------

    def _notify(self, comment: Item, verb: str) -> None:
        page_id = comment.extra["page_id"]
        if self.webhook is None or "feed" not in self.subscriptions.get(page_id, ()):
            return
        if self.webhook_drop > 0:
            self.webhook_drop -= 1
            return
        now = int(self.clock.now())
        event = {
            "object": "page",
            "entry": [
                {
                    "id": page_id,
                    "time": now,
                    "changes": [
                        {
                            "field": "feed",
                            "value": {
                                "item": "comment",
                                "verb": verb,
                                "comment_id": comment.item_id,
                                "post_id": comment.extra["post_id"],
                                "parent_id": comment.parent_id,
                                "from": dict(comment.author),
                                "message": comment.text,
                                "created_time": int(comment.created_at),
                            },
                        }
                    ],
                }
            ],
        }
        body = json.dumps(event).encode()
        self._outbox.put(
            (
                self.generation,
                self.webhook["callback_url"],
                body,
                signature(self.webhook["app_secret"], body),
            )
        )

    def _deliver_forever(self) -> None:
        """Posts feed events outside the simulator lock: SMC's callback may call back into
        the simulator (it re-reads each comment), and a slow one must not stall the rest.
        Facebook would retry a failed delivery; here polling is the backstop, as it is
        for a delivery Facebook never makes."""
        while True:
            generation, url, body, signed = self._outbox.get()
            if generation != self.generation:
                continue
            # The callback's scheme was checked when the webhook was configured.
            delivery = urllib.request.Request(  # noqa: S310
                url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": signed},
            )
            try:
                urllib.request.urlopen(delivery, timeout=WEBHOOK_TIMEOUT_S).close()  # noqa: S310
            except OSError:
                continue

    # -- tokens, permissions, usage -----------------------------------------------------------

    def _issue(
        self, account: Account, role: str, lifetime: float | None, scopes: list[str]
    ) -> Token:
        token = self.issue_token(
            account.account_id,
            lifetime=lifetime,
            scopes=scopes,
            prefix="EAAG" if role == "page" else "EAAB",
        )
        self.token_roles[token.value] = role
        return token

    @staticmethod
    def _token_answer(token: Token, lifetime: int) -> SimResponse:
        return SimResponse.json(
            200, {"access_token": token.value, "token_type": "bearer", "expires_in": lifetime}
        )

    def _auth(self, call: Call) -> None:
        state, token = self.token_state(call.request.bearer_token)
        if state == "missing":
            raise graph_error(104, "An access token is required to request this resource.")
        if state == "invalid":
            raise graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        if state == "revoked":
            raise graph_error(
                190,
                "Error validating access token: The session has been invalidated because "
                "the user changed their password or Facebook has changed the session for "
                "security reasons.",
                subcode=460,
            )
        if state == "expired":
            raise SimError(self.expired_token_response())
        call.token, call.account = token, self.accounts[token.account_id]
        call.role = self.token_roles[token.value]
        if call.role == "page":
            limit, remaining, reset_at = self.rate(
                f"/{call.page_id}", call.page_id, PAGE_LIMIT, PAGE_WINDOW_S
            )
            used = math.ceil((limit - remaining) * 100 / limit)
            wait = math.ceil((reset_at - self.clock.now()) / 60) if used >= 100 else 0
            call.headers.update(self._page_usage(call.page_id, used, wait))
            if remaining < 0:
                raise graph_error(32, "(#32) Page request limit reached")
        else:
            limit, remaining, _ = self.rate("app", SIM_CLIENT_ID, APP_LIMIT, APP_WINDOW_S)
            used = math.ceil((limit - remaining) * 100 / limit)
            # The simulator counts calls only; time used follows the count.
            call.headers["X-App-Usage"] = json.dumps(
                dict.fromkeys(("call_count", "total_cputime", "total_time"), used)
            )
            if remaining < 0:
                raise graph_error(4, "(#4) Application request limit reached")

    @staticmethod
    def _page_usage(page_id: str, used: int, wait_minutes: int) -> dict:
        # The simulator counts calls only; time used follows the count.
        usage = {
            "type": "pages",
            "call_count": used,
            "total_cputime": used,
            "total_time": used,
            "estimated_time_to_regain_access": wait_minutes,
        }
        return {"X-Business-Use-Case-Usage": json.dumps({page_id: [usage]})}

    def _page_auth(self, call: Call, page_id: str | None = None) -> None:
        self._auth(call)
        if call.role != "page":
            raise graph_error(
                210, "(#210) A page access token is required to request this resource."
            )
        if page_id is not None and page_id != call.page_id:
            if self._page_by_id(page_id) is None:
                raise _missing(page_id, call.request.method)
            raise graph_error(200, "(#200) The Page token does not belong to this Page")

    def _need(self, call: Call, permission: str, *, task: str | None = None) -> None:
        if permission not in call.token.scopes:
            raise graph_error(200, f"(#200) This action requires the {permission} permission")
        if task is not None and task not in call.account.extra["tasks"]:
            raise graph_error(
                200, f"(#200) The person must be able to perform the {task} task on the Page"
            )

    def _owned_item(self, call: Call, node: str, method: str = "GET") -> Item:
        item = self.items.get(node)
        if item is None or item.deleted or item.extra["page_id"] != call.page_id:
            raise _missing(node, method)
        if item.kind != "post" and self.items[item.extra["post_id"]].deleted:
            raise _missing(node, method)
        return item

    def _page_by_id(self, page_id: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.platform_id == page_id), None)

    # -- lists and times ----------------------------------------------------------------------

    def _listing(
        self, request: SimRequest, items: list[Item], *, newest_first: bool, render
    ) -> SimResponse:
        def key(item: Item) -> tuple[float, int]:
            return item.created_at, int(item.item_id.rsplit("_", 1)[-1])

        items.sort(key=key, reverse=newest_first)
        after = request.arg("after")
        if after:
            anchor = self.items.get(_uncursor(after))
            if anchor is None:
                raise graph_error(100, "(#100) The after cursor is not valid")
            mark = key(anchor)
            items = [i for i in items if (key(i) < mark if newest_first else key(i) > mark)]
        try:
            limit = min(100, max(1, int(request.arg("limit") or 25)))
        except ValueError:
            raise graph_error(100, "(#100) Param limit must be a number") from None
        page = items[:limit]
        answer: dict = {"data": [render(i) for i in page]}
        if page:
            answer["paging"] = {
                "cursors": {"before": _cursor(page[0].item_id), "after": _cursor(page[-1].item_id)}
            }
            if len(items) > limit:
                query = {k: v for k, v in request.query.items() if k != "after"}
                query["after"] = [_cursor(page[-1].item_id)]
                answer["paging"]["next"] = (
                    f"{self.base_url}{request.path}?{urlencode(query, doseq=True)}"
                )
        return SimResponse.json(200, answer)

    @staticmethod
    def _time_arg(request: SimRequest, name: str) -> float | None:
        """Graph takes Unix seconds or an ISO 8601 time."""
        value = request.arg(name)
        if not value:
            return None
        if value.isdigit():
            return float(value)
        try:
            moment = datetime.fromisoformat(value.replace("+0000", "+00:00").replace("Z", "+00:00"))
        except ValueError:
            raise graph_error(100, f"(#100) Param {name} must be a valid time") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    def _moment(self, iso: str | None) -> float:
        if not iso:
            return self.clock.now()
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(item_id.encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        return ""
