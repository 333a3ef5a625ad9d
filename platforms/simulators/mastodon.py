"""A Mastodon instance (platform-apis.md §4): one simulator is one server.

Mastodon has no central host: every agency channel lives on some instance, and SMC
registers itself there (POST /api/v1/apps) before the OAuth flow. So this simulator
starts with no apps but the published `sim-client` and lets SMC register its own.

Seeding: a handle is made a valid Mastodon username (other characters become "_").

Instance settings: `max_characters` (default 500) is instance-wide, but the core control
surface has no instance endpoint, so a test changes it with the extra field
`instance_max_characters` on POST /_sim/accounts; /_sim/reset restores 500.

Extra fields on POST /_sim/inject: `visibility` (default "public"), `filtered`
(true: the account's notification policy filters the mention, so it is only listed with
include_filtered=true) and `html` (the status's content exactly as given, as a hostile or
broken remote server may federate it, instead of the escaped rendering of `text`).
"""

from __future__ import annotations

import functools
import html
import json
import re
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlencode, urlsplit

import regex

from platforms.length import URL
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

READ_SCOPES = {f"read:{name}" for name in (
    "accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
    "notifications", "search", "statuses",
)}  # fmt: skip
WRITE_SCOPES = {f"write:{name}" for name in (
    "accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows",
    "lists", "media", "mutes", "notifications", "reports", "statuses",
)}  # fmt: skip
# The legacy "follow" scope still grants the relationship scopes it was split into.
FOLLOW_SCOPES = {
    "read:blocks", "write:blocks", "read:follows", "write:follows", "read:mutes", "write:mutes",
}  # fmt: skip
KNOWN_SCOPES = READ_SCOPES | WRITE_SCOPES | {"read", "write", "follow", "push", "profile"}
DEFAULT_SEEDED_SCOPES = ["read", "write", "follow"]

# Stock rate limits (§4.6): (requests, window in seconds). Media uploads and status
# deletes have their own, stricter buckets.
STOCK_LIMITS = {"api": (300, 300.0), "media": (30, 1800.0), "delete": (30, 1800.0)}
IDEMPOTENCY_S = 3600.0  # how long Mastodon remembers an Idempotency-Key (Redis setex)

IMAGE_TYPES = {
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif", "image/avif",
}  # fmt: skip
VIDEO_TYPES = {"video/mp4", "video/quicktime", "video/webm", "video/ogg"}
AUDIO_TYPES = {
    "audio/mpeg", "audio/mp3", "audio/ogg", "audio/wav", "audio/flac", "audio/aac", "audio/mp4",
    "audio/webm",
}  # fmt: skip
IMAGE_SIZE_LIMIT = 16 * 1024 * 1024
VIDEO_SIZE_LIMIT = 99 * 1024 * 1024
DESCRIPTION_LIMIT = 1500
MAX_MEDIA_ATTACHMENTS = 4
REPORT_CATEGORIES = ("spam", "legal", "violation", "other")
VISIBILITIES = ("public", "unlisted", "private", "direct")
RULES = [
    {"id": "1", "text": "No illegal content.", "hint": ""},
    {"id": "2", "text": "No harassment or threats.", "hint": ""},
]

# Mastodon's StatusLengthValidator counts a remote mention as its local part only.
REMOTE_MENTION = re.compile(r"(?<![\w/])@(\w+)@[\w.-]+\w")
MENTION = re.compile(r"(?<![\w/])@(\w+)(?:@([\w.-]+\w))?")
NOT_USERNAME = re.compile(r"\W")

# Doorkeeper's own descriptions, which Mastodon passes through.
INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client "
    "authentication included, or unsupported authentication method."
)
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match "
    "the redirection URI used in the authorization request, or was issued to "
    "another client."
)
ACCESS_DENIED = "The resource owner or authorization server denied the request."
INVALID_SCOPE = "The requested scope is invalid, unknown, or malformed."
TOKEN_ERRORS = {
    "missing": "The access token is invalid",
    "invalid": "The access token is invalid",
    "revoked": "The access token was revoked",
    "expired": "The access token expired",
}
ERROR_MESSAGES = {
    401: "The access token is invalid",
    403: "This action is not allowed",
    404: "Record not found",
    422: "Validation failed",
    429: "Too many requests",
    503: "There was a temporary problem serving your request, please try again",
}


def _error(status: int, message: str, **extra) -> SimError:
    return SimError(SimResponse.json(status, {"error": message, **extra}))


def api(bucket: str = "api"):
    """An /api/ route: counted against its rate limit, and answered with X-RateLimit-*
    headers whatever the outcome, as Mastodon's rack-attack and RateLimitHeaders do."""

    def decorator(handler):
        @functools.wraps(handler)
        def wrapper(self, request, **groups):
            return self.rate_limited(request, bucket, lambda: handler(self, request, **groups))

        return wrapper

    return decorator


def params_of(request: SimRequest) -> dict:
    """Mastodon takes JSON, form or query parameters alike; `name[]` keys are lists."""
    if isinstance(request.json, dict):
        return request.json
    merged: dict = {}
    for source in (request.query, request.form):
        for key, values in source.items():
            if key.endswith("[]"):
                merged[key[:-2]] = values
            else:
                merged[key] = values[0]
    return merged


def truthy(value) -> bool:
    return value is True or str(value).lower() in ("true", "1", "on")


def number(value) -> int:
    """An id parameter as the database compares it: garbage counts as 0."""
    return int(value) if str(value).isdigit() else 0


def listed(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def scope_granted(granted: list[str], needed: tuple[str, ...]) -> bool:
    """A token holding `write` holds every `write:…`; `follow` holds the relationship ones."""
    for scope in needed:
        if scope in granted or scope.split(":")[0] in granted:
            return True
        if scope in FOLLOW_SCOPES and "follow" in granted:
            return True
    return False


def status_length(text: str, per_url: int) -> int:
    countable = URL.sub("x" * per_url, text)
    return len(regex.findall(r"\X", REMOTE_MENTION.sub(r"@\1", countable)))


def iso_micro(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class MastodonSimulator(Simulator):
    platform = "mastodon"

    def reset_platform(self) -> None:
        self.max_characters = 500
        self.characters_reserved_per_url = 23
        self.last_id = 0
        self.apps: dict[str, dict] = {}
        self.token_apps: dict[str, str] = {}  # access token → client_id that obtained it
        self.public_accounts: dict[str, dict] = {}  # platform id → Account entity
        self.notifications: dict[str, dict] = {}
        self.media: dict[str, dict] = {}
        self.relationships: dict[tuple[str, str], dict] = {}
        self.reports: dict[str, dict] = {}
        # The published test client takes any redirect URI, so tools need not register.
        self.apps[SIM_CLIENT_ID] = {
            "id": "1", "name": "Simulator client", "website": None,
            "scopes": sorted(KNOWN_SCOPES), "redirect_uris": [], "client_id": SIM_CLIENT_ID,
            "client_secret": SIM_CLIENT_SECRET,
        }  # fmt: skip

    # -- ids, names, time ---------------------------------------------------------------------

    def new_id(self, moment: float | None = None) -> str:
        """Mastodon's snowflakes: milliseconds in the high bits, a sequence in the low 16,
        so ids sort by time. Backdated remote statuses get ids from their own time, as on
        a real instance; everything minted now is strictly increasing."""
        at = self.clock.now() if moment is None else moment
        value = (int(at * 1000) << 16) | (self.next_number() & 0xFFFF)
        if moment is None:
            value = max(value, self.last_id + 1)
            self.last_id = value
        return str(value)

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).netloc or "mastodon.local"

    def origin(self) -> str:
        return self.base_url or f"https://{self.domain}"

    # -- rate limits and errors (§4.6) --------------------------------------------------------

    def rate_limited(self, request: SimRequest, bucket: str, call) -> SimResponse:
        # /_sim/limits names a path; otherwise the stock bucket of this route applies.
        name = request.route_path if request.route_path in self.limit_overrides else bucket
        limit, window_s = STOCK_LIMITS[bucket]
        key = request.bearer_token or "unauthenticated"
        limit, remaining, reset_at = self.rate(name, key, limit, window_s)
        if remaining < 0:
            return self.too_many(limit, reset_at)
        try:
            response = call()
        except SimError as error:
            response = error.response
        response.headers.update(self.rate_headers(limit, remaining, reset_at))
        return response

    @staticmethod
    def rate_headers(limit: int, remaining: int, reset_at: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(remaining, 0)),
            "X-RateLimit-Reset": iso_micro(reset_at),
        }

    def too_many(self, limit: int, reset_at: float) -> SimResponse:
        return SimResponse.json(
            429, {"error": "Too many requests"}, self.rate_headers(limit, 0, reset_at)
        )

    def error_response(self, status: int) -> SimResponse:
        message = ERROR_MESSAGES.get(status) or HTTPStatus(status).phrase
        return SimResponse.json(status, {"error": message})

    def rate_limit_response(self, reset_in_s: float) -> SimResponse:
        limit = STOCK_LIMITS["api"][0]
        return self.too_many(limit, self.clock.now() + reset_in_s)

    def expired_token_response(self) -> SimResponse:
        return self.unauthorized("invalid")

    @staticmethod
    def unauthorized(state: str) -> SimResponse:
        message = TOKEN_ERRORS[state]
        challenge = (
            f'Bearer realm="Doorkeeper", error="invalid_token", error_description="{message}"'
        )
        return SimResponse.json(401, {"error": message}, {"WWW-Authenticate": challenge})

    # -- authentication -----------------------------------------------------------------------

    def authorize(self, request: SimRequest, *scopes: str) -> tuple[Account, Token]:
        """The token's account, or Mastodon's 401/403. Any one of `scopes` suffices."""
        state, token = self.token_state(request.bearer_token)
        if state != "ok":
            raise SimError(self.unauthorized(state))
        if scopes and not scope_granted(token.scopes, scopes):
            raise _error(403, "This action is outside the authorized scopes")
        return self.accounts[token.account_id], token

    def viewer(self, request: SimRequest, *scopes: str) -> Account | None:
        """Public reads work without a token; a token given must still be valid."""
        if not request.bearer_token:
            return None
        return self.authorize(request, *scopes)[0]

    # -- entities -----------------------------------------------------------------------------

    def account_entity(self, account: Account) -> dict:
        username = account.handle
        fields = []
        if account.website:
            fields.append(
                {"name": "Website", "value": self.link_html(account.website), "verified_at": None}
            )
        return {
            "id": account.platform_id, "username": username, "acct": username,
            "display_name": account.display_name, "locked": False, "bot": False,
            "discoverable": True, "indexable": True, "group": False,
            "created_at": account.extra["created_at"], "note": self.text_html(account.bio),
            "url": f"{self.origin()}/@{username}", "uri": f"{self.origin()}/users/{username}",
            "avatar": f"{self.origin()}/avatars/original/missing.png",
            "avatar_static": f"{self.origin()}/avatars/original/missing.png",
            "header": f"{self.origin()}/headers/original/missing.png",
            "header_static": f"{self.origin()}/headers/original/missing.png",
            "followers_count": 0, "following_count": 0,
            "statuses_count": sum(1 for i in self.items.values()
                                  if i.account_id == account.account_id and not i.deleted),
            "last_status_at": None, "emojis": [], "fields": fields,
        }  # fmt: skip

    def credential_account(self, account: Account) -> dict:
        source_fields = []
        if account.website:
            source_fields.append({"name": "Website", "value": account.website, "verified_at": None})
        return {
            **self.account_entity(account),
            "source": {
                "privacy": "public", "sensitive": False, "language": "", "note": account.bio,
                "fields": source_fields, "follow_requests_count": 0, "hide_collections": False,
                "discoverable": True, "indexable": True, "attribution_domains": [],
            },
        }  # fmt: skip

    def account_by_id(self, platform_id: str) -> dict | None:
        for account in self.accounts.values():
            if account.platform_id == platform_id:
                return self.account_entity(account)
        return self.public_accounts.get(platform_id)

    def agency_account(self, platform_id: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.platform_id == platform_id), None)

    def author_of(self, item: Item) -> dict:
        if item.account_id:
            return self.account_entity(self.accounts[item.account_id])
        return item.author

    def media_entity(self, media: dict) -> dict:
        url = None
        if not media["processing"]:
            url = f"{self.origin()}/system/media_attachments/files/{media['id']}/original"
        return {
            "id": media["id"], "type": media["type"], "url": url, "preview_url": url,
            "remote_url": None, "preview_remote_url": None, "text_url": None, "meta": {},
            "description": media["description"] or None, "blurhash": None,
        }  # fmt: skip

    def status_entity(self, item: Item) -> dict:
        author = self.author_of(item)
        home = item.extra.get("home", self.domain)
        site = self.origin() if home == self.domain else f"https://{home}"
        url = f"{site}/@{author['username']}/{item.item_id}"
        mentions = [self.account_by_id(pid) for pid in item.extra.get("mentions", [])]
        return {
            "id": item.item_id, "created_at": self.clock.iso(item.created_at),
            "in_reply_to_id": item.parent_id,
            "in_reply_to_account_id": item.extra.get("in_reply_to_account_id"),
            "sensitive": False, "spoiler_text": item.extra.get("spoiler_text", ""),
            "visibility": item.extra.get("visibility", "public"),
            "language": item.extra.get("language"), "uri": url, "url": url,
            "replies_count": sum(1 for i in self.items.values()
                                 if i.parent_id == item.item_id and not i.deleted),
            "reblogs_count": 0, "favourites_count": 0, "edited_at": None,
            "content": item.extra.get("content_html") or self.text_html(item.text),
            "reblog": None, "account": author,
            "media_attachments": [self.media_entity(self.media[m])
                                  for m in item.extra.get("media_ids", [])],
            "mentions": [{"id": m["id"], "username": m["username"], "acct": m["acct"],
                          "url": m["url"]} for m in mentions if m],
            "tags": [], "emojis": [], "card": None, "poll": None,
        }  # fmt: skip

    # -- HTML as Mastodon renders it ----------------------------------------------------------

    def link_html(self, url: str) -> str:
        """Mastodon's link markup: the scheme hidden, long URLs cut at 30 characters, the
        rest in an invisible span (so the text of the element is still the whole URL)."""
        scheme, _, rest = url.partition("://") if "://" in url else ("", "", url)
        prefix = f"{scheme}://" if scheme else ""
        if len(rest) > 30:
            shown = (
                f'<span class="ellipsis">{html.escape(rest[:30])}</span>'
                f'<span class="invisible">{html.escape(rest[30:])}</span>'
            )
        else:
            shown = f'<span class="">{html.escape(rest)}</span><span class="invisible"></span>'
        return (
            f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" '
            f'translate="no"><span class="invisible">{html.escape(prefix)}</span>'
            f"{shown}</a>"
        )

    def mention_html(self, match: re.Match) -> str:
        username, domain = match[1], match[2]
        acct = username if not domain or domain == self.domain else f"{username}@{domain}"
        known = self.find_acct(acct)
        if known is None:
            return html.escape(match[0])
        return (
            f'<span class="h-card" translate="no"><a href="{html.escape(known["url"])}" '
            f'class="u-url mention">@<span>{html.escape(username)}</span></a></span>'
        )

    def line_html(self, line: str) -> str:
        parts, position = [], 0
        for match in URL.finditer(line):
            parts.append(
                MENTION.sub(
                    self.mention_html, html.escape(line[position : match.start()], quote=False)
                )
            )
            parts.append(self.link_html(match[0]))
            position = match.end()
        parts.append(MENTION.sub(self.mention_html, html.escape(line[position:], quote=False)))
        return "".join(parts)

    def text_html(self, text: str) -> str:
        if not text:
            return ""
        paragraphs = re.split(r"\n{2,}", text.strip("\n"))
        return "".join(
            "<p>" + "<br />".join(self.line_html(line) for line in p.split("\n")) + "</p>"
            for p in paragraphs
        )

    def find_acct(self, acct: str) -> dict | None:
        for account in self.accounts.values():
            if account.handle == acct:
                return self.account_entity(account)
        return next((a for a in self.public_accounts.values() if a["acct"] == acct), None)

    # -- visibility and threads ---------------------------------------------------------------

    def visible(self, item: Item, viewer: Account | None) -> bool:
        if item.deleted:
            return False
        if item.extra.get("visibility", "public") in ("public", "unlisted"):
            return True
        if viewer is None:
            return False
        return item.account_id == viewer.account_id or viewer.platform_id in item.extra.get(
            "mentions", []
        )

    def status_item(self, status_id: str, viewer: Account | None) -> Item:
        item = self.items.get(status_id)
        if item is None or not self.visible(item, viewer):
            raise _error(404, "Record not found")
        return item

    def thread_owner(self, item: Item) -> Account | None:
        """The agency account nearest above (or at) a status in its thread."""
        seen = set()
        while item is not None and item.item_id not in seen:
            if item.account_id:
                return self.accounts[item.account_id]
            seen.add(item.item_id)
            item = self.items.get(item.parent_id) if item.parent_id else None
        return None

    # -- paging (Link headers) ----------------------------------------------------------------

    def page(self, request: SimRequest, path: str, entities: list[dict], default_limit: int):
        """Mastodon's id pagination: max_id/since_id give the newest page below/above an
        id, min_id the page just above it; all pages run newest first, with Link headers."""
        params = params_of(request)
        try:
            limit = min(abs(int(params.get("limit", default_limit))), default_limit * 2)
        except ValueError:
            limit = default_limit
        limit = limit or default_limit
        chosen = sorted(entities, key=lambda e: int(e["id"]), reverse=True)
        if params.get("max_id"):
            chosen = [e for e in chosen if int(e["id"]) < number(params["max_id"])]
        if params.get("since_id"):
            chosen = [e for e in chosen if int(e["id"]) > number(params["since_id"])]
        if params.get("min_id"):
            above = [e for e in reversed(chosen) if int(e["id"]) > number(params["min_id"])]
            chosen = list(reversed(above[:limit]))
        else:
            chosen = chosen[:limit]
        headers = {}
        if chosen:
            kept = [
                (k, v)
                for k, v in request.query.items()
                if k not in ("max_id", "min_id", "since_id")
            ]
            query = [(k, v) for k, values in kept for v in values]
            base = f"{self.origin()}{path}?"
            older = base + urlencode(query + [("max_id", chosen[-1]["id"])])
            newer = base + urlencode(query + [("min_id", chosen[0]["id"])])
            headers["Link"] = f'<{older}>; rel="next", <{newer}>; rel="prev"'
        return SimResponse.json(200, chosen, headers)

    # -- the /_sim/ hooks ---------------------------------------------------------------------

    def seed_account(self, payload: dict) -> dict:
        if "instance_max_characters" in payload:
            self.max_characters = int(payload["instance_max_characters"])
        handle = (payload.get("handle") or f"agency{len(self.accounts) + 1}").lstrip("@")
        # Mastodon usernames hold letters, digits and _ only: "metro-mastodon" becomes
        # "metro_mastodon", so mentions of it resolve as on a real instance.
        handle = NOT_USERNAME.sub("_", handle)
        if any(a.handle == handle for a in self.accounts.values()):
            raise _error(400, f"username {handle} is taken")
        scopes = payload.get("scopes") or DEFAULT_SEEDED_SCOPES
        account = Account(
            account_id=f"acct{len(self.accounts) + 1}",
            platform_id=self.stable_number(f"{self.platform}:{handle}"),
            handle=handle,
            display_name=payload.get("display_name", handle),
            bio=payload.get("bio", ""),
            website=payload.get("website", ""),
            scopes=scopes.split() if isinstance(scopes, str) else list(scopes),
            extra={"created_at": self.clock.iso()[:10] + "T00:00:00.000Z"},
        )
        self.accounts[account.account_id] = account
        token = self.issue_token(account.account_id, lifetime=None)
        return {
            "account_id": account.account_id,
            "platform_id": account.platform_id,
            "access_token": token.value,
        }

    def public_account(self, author: dict) -> dict:
        name = author.get("name") or "Member of the public"
        handle = (author.get("handle") or re.sub(r"\W", "", name).lower() or "someone").lstrip("@")
        username, _, home = handle.partition("@")
        home = home or self.domain
        acct = username if home == self.domain else f"{username}@{home}"
        existing = self.find_acct(acct)
        if existing is not None:
            return existing
        entity = {
            "id": self.new_id(), "username": username, "acct": acct, "display_name": name,
            "locked": False, "bot": False, "group": False, "note": "",
            "url": f"https://{home}/@{username}", "avatar": "", "avatar_static": "",
            "header": "", "header_static": "", "followers_count": 0, "following_count": 0,
            "statuses_count": 0, "emojis": [], "fields": [],
            "created_at": self.clock.iso()[:10] + "T00:00:00.000Z",
        }  # fmt: skip
        self.public_accounts[entity["id"]] = entity
        return entity

    def inject(self, payload: dict) -> dict:
        target = self.items.get(str(payload.get("target", "")))
        if target is None or target.deleted:
            raise _error(404, f"no status {payload.get('target')} to reply to")
        author = self.public_account(payload.get("author") or {})
        created = self.clock.now()
        if payload.get("created_at"):
            created = datetime.fromisoformat(payload["created_at"].replace("Z", "+00:00"))
            created = created.timestamp()
        owner = self.thread_owner(target)
        mentions = [owner.platform_id] if owner else []
        mentions += [
            m["id"] for m in self.mentioned(payload.get("text", "")) if m["id"] not in mentions
        ]
        home = author["acct"].partition("@")[2] or self.domain
        item = Item(
            item_id=self.new_id(created),
            account_id=None,
            kind="comment",
            text=payload.get("text", ""),
            created_at=created,
            parent_id=target.item_id,
            author=author,
            extra={
                "visibility": payload.get("visibility", "public"),
                "language": "en",
                "in_reply_to_account_id": self.author_of(target)["id"],
                "mentions": mentions,
                "home": home,
                **({"content_html": str(payload["html"])} if payload.get("html") else {}),
            },
        )
        self.items[item.item_id] = item
        for platform_id in mentions:
            self.notify(platform_id, item, filtered=truthy(payload.get("filtered")))
        return self.status_entity(item)

    def mentioned(self, text: str) -> list[dict]:
        found = []
        for match in MENTION.finditer(text):
            domain = match[2]
            acct = match[1] if not domain or domain == self.domain else f"{match[1]}@{domain}"
            entity = self.find_acct(acct)
            if entity is not None:
                found.append(entity)
        return found

    def notify(self, platform_id: str, item: Item, *, filtered: bool) -> None:
        """A mention notification for an agency account, unless it blocked or muted
        (with notifications) the author, as Mastodon drops those."""
        recipient = self.agency_account(platform_id)
        if recipient is None:
            return
        author_id = self.author_of(item)["id"]
        if author_id == platform_id:
            return
        relation = self.relationships.get((recipient.account_id, author_id), {})
        if relation.get("blocking") or relation.get("muting_notifications"):
            return
        notification_id = self.new_id()
        self.notifications[notification_id] = {
            "id": notification_id, "recipient": recipient.account_id, "type": "mention",
            "created_at": self.clock.iso(), "status_id": item.item_id, "filtered": filtered,
        }  # fmt: skip

    # -- OAuth (§4.1) -------------------------------------------------------------------------

    @route("POST", r"/api/v1/apps")
    @api()
    def create_app(self, request: SimRequest) -> SimResponse:
        params = params_of(request)
        name = str(params.get("client_name") or "").strip()
        if not name:
            raise _error(422, "Validation failed: Application name can't be blank")
        uris = params.get("redirect_uris")
        uris = uris.split() if isinstance(uris, str) else listed(uris)
        if not uris:
            raise _error(422, "Validation failed: Redirect URI can't be blank")
        for uri in uris:
            parts = urlsplit(uri)
            if uri != "urn:ietf:wg:oauth:2.0:oob" and not (parts.scheme and parts.netloc):
                raise _error(422, "Validation failed: Redirect URI must be an absolute URI.")
            if parts.fragment:
                raise _error(422, "Validation failed: Redirect URI cannot contain a fragment.")
        scopes = str(params.get("scopes") or "read").split()
        if not set(scopes) <= KNOWN_SCOPES:
            raise _error(422, "Validation failed: Scopes doesn't match configured on the server.")
        app = {
            "id": str(len(self.apps) + 1), "name": name, "website": params.get("website"),
            "scopes": scopes, "redirect_uris": uris, "redirect_uri": "\n".join(uris),
            "client_id": self.new_secret(), "client_secret": self.new_secret(),
            "client_secret_expires_at": 0,
        }  # fmt: skip
        self.apps[app["client_id"]] = app
        return SimResponse.json(200, app)

    @route("GET", r"/\.well-known/oauth-authorization-server")
    def authorization_server(self, request: SimRequest) -> SimResponse:
        origin = self.origin()
        return SimResponse.json(200, {
            "issuer": f"{origin}/", "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": f"{origin}/oauth/authorize",
            "token_endpoint": f"{origin}/oauth/token",
            "revocation_endpoint": f"{origin}/oauth/revoke",
            "app_registration_endpoint": f"{origin}/api/v1/apps",
            "scopes_supported": sorted(KNOWN_SCOPES), "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "client_secret_post"],
        })  # fmt: skip

    @route("GET", r"/oauth/authorize")
    def oauth_authorize(self, request: SimRequest) -> SimResponse:
        """Auto-approves (§7): no login page, the redirect comes back at once."""
        app = self.apps.get(request.arg("client_id") or "")
        if app is None:
            return SimResponse.text(401, INVALID_CLIENT, "text/html; charset=utf-8")
        redirect_uri = request.arg("redirect_uri") or ""
        if app["redirect_uris"] and redirect_uri not in app["redirect_uris"]:
            message = (
                "The requested redirect uri is malformed or doesn't match client redirect URI."
            )
            return SimResponse.text(400, message, "text/html; charset=utf-8")
        state = request.arg("state")

        def back(**params) -> SimResponse:
            if state is not None:
                params["state"] = state
            return SimResponse.redirect(add_query(redirect_uri, **params))

        if request.arg("response_type") != "code":
            return back(
                error="unsupported_response_type",
                error_description=("The authorization server does not support this response type."),
            )
        challenge = request.arg("code_challenge")
        if challenge and request.arg("code_challenge_method") != "S256":
            return back(
                error="invalid_request", error_description="The code challenge method must be S256."
            )
        scopes = (request.arg("scope") or "read").split()
        if not set(scopes) <= set(app["scopes"]):
            return back(error="invalid_scope", error_description=INVALID_SCOPE)
        account, deny = self.oauth_account()
        if deny:
            return back(error="access_denied", error_description=ACCESS_DENIED)
        if account is None:
            return SimResponse.text(400, "No account is seeded to sign in as.")
        code = self.new_code(
            {
                "account_id": account.account_id,
                "client_id": app["client_id"],
                "redirect_uri": redirect_uri,
                "scopes": scopes,
                "challenge": challenge,
            }
        )
        return back(code=code)

    def client_of(self, request: SimRequest, params: dict) -> dict:
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        if request.basic_auth:
            client_id, client_secret = request.basic_auth
        app = self.apps.get(str(client_id or ""))
        if app is None or app["client_secret"] != client_secret:
            raise _error(401, "invalid_client", error_description=INVALID_CLIENT)
        return app

    @route("POST", r"/oauth/token")
    def oauth_token(self, request: SimRequest) -> SimResponse:
        params = params_of(request)
        app = self.client_of(request, params)
        if params.get("grant_type") != "authorization_code":
            raise _error(
                400,
                "unsupported_grant_type",
                error_description=(
                    "The authorization grant type is not supported by the authorization server."
                ),
            )
        grant = self.take_code(params.get("code"))
        if (
            grant is None
            or grant["client_id"] != app["client_id"]
            or grant["redirect_uri"] != params.get("redirect_uri", "")
            or not self.pkce_ok(grant["challenge"], params.get("code_verifier"))
        ):
            raise _error(400, "invalid_grant", error_description=INVALID_GRANT)
        token = self.issue_token(grant["account_id"], lifetime=None, scopes=grant["scopes"])
        self.token_apps[token.value] = app["client_id"]
        return SimResponse.json(200, {
            "access_token": token.value, "token_type": "Bearer",
            "scope": " ".join(grant["scopes"]), "created_at": int(self.clock.now()),
        })  # fmt: skip

    @route("POST", r"/oauth/revoke")
    def oauth_revoke(self, request: SimRequest) -> SimResponse:
        params = params_of(request)
        app = self.client_of(request, params)
        token = self.tokens.get(str(params.get("token") or ""))
        if token is not None:
            if self.token_apps.get(token.value, app["client_id"]) != app["client_id"]:
                raise _error(
                    403,
                    "unauthorized_client",
                    error_description="You are not authorized to revoke this token",
                )
            token.revoked = True
        return SimResponse.json(200, {})

    # -- the instance -------------------------------------------------------------------------

    @route("GET", r"/api/v2/instance")
    @api()
    def instance(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(200, {
            "domain": self.domain, "title": "Mastodon (simulated)", "version": "4.3.0",
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A local stand-in for a Mastodon server.",
            "usage": {"users": {"active_month": len(self.accounts)}},
            "thumbnail": {"url": f"{self.origin()}/packs/media/images/preview.png"},
            "languages": ["en"],
            "configuration": {
                "urls": {"streaming": f"ws://{self.domain}"},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": {"max_characters": self.max_characters,
                             "max_media_attachments": MAX_MEDIA_ATTACHMENTS,
                             "characters_reserved_per_url": self.characters_reserved_per_url},
                "media_attachments": {
                    "supported_mime_types": sorted(IMAGE_TYPES | VIDEO_TYPES | AUDIO_TYPES),
                    "description_limit": DESCRIPTION_LIMIT, "image_size_limit": IMAGE_SIZE_LIMIT,
                    "image_matrix_limit": 33177600, "video_size_limit": VIDEO_SIZE_LIMIT,
                    "video_frame_rate_limit": 120, "video_matrix_limit": 8294400,
                },
                "polls": {"max_options": 4, "max_characters_per_option": 50,
                          "min_expiration": 300, "max_expiration": 2629746},
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "api_versions": {"mastodon": 2},
            "contact": {"email": f"admin@{self.domain}", "account": None},
            "rules": RULES,
        })  # fmt: skip

    # -- accounts (§4.7, §4.5) ----------------------------------------------------------------

    @route("GET", r"/api/v1/accounts/verify_credentials")
    @api()
    def verify_credentials(self, request: SimRequest) -> SimResponse:
        account, _ = self.authorize(request, "read:accounts", "profile")
        return SimResponse.json(200, self.credential_account(account))

    @route("GET", r"/api/v1/accounts/(?P<account_id>\d+)/statuses")
    @api()
    def account_statuses(self, request: SimRequest, account_id: str) -> SimResponse:
        viewer = self.viewer(request, "read:statuses")
        if self.account_by_id(account_id) is None:
            raise _error(404, "Record not found")
        params = params_of(request)
        statuses = []
        for item in self.items.values():
            if self.author_of(item)["id"] != account_id or not self.visible(item, viewer):
                continue
            # exclude_replies keeps a thread's own continuations, as Mastodon does.
            to_other = item.extra.get("in_reply_to_account_id") not in (None, account_id)
            if truthy(params.get("exclude_replies")) and to_other:
                continue
            if truthy(params.get("only_media")) and not item.extra.get("media_ids"):
                continue
            statuses.append(self.status_entity(item))
        return self.page(request, f"/api/v1/accounts/{account_id}/statuses", statuses, 20)

    def relationship(self, request: SimRequest, account_id: str, scope: str, **change):
        account, _ = self.authorize(request, scope)
        if self.account_by_id(account_id) is None:
            raise _error(404, "Record not found")
        if account_id == account.platform_id:
            raise _error(403, "This action is not allowed")
        relation = self.relationships.setdefault(
            (account.account_id, account_id),
            {"blocking": False, "muting": False, "muting_notifications": False},
        )
        relation.update(change)
        return SimResponse.json(200, {
            "id": account_id, "following": False, "showing_reblogs": False, "notifying": False,
            "languages": None, "followed_by": False, "blocked_by": False, "requested": False,
            "requested_by": False, "domain_blocking": False, "endorsed": False, "note": "",
            **relation,
        })  # fmt: skip

    @route("POST", r"/api/v1/accounts/(?P<account_id>\d+)/mute")
    @api()
    def mute(self, request: SimRequest, account_id: str) -> SimResponse:
        notifications = truthy(params_of(request).get("notifications", True))
        return self.relationship(
            request, account_id, "write:mutes", muting=True, muting_notifications=notifications
        )

    @route("POST", r"/api/v1/accounts/(?P<account_id>\d+)/block")
    @api()
    def block(self, request: SimRequest, account_id: str) -> SimResponse:
        return self.relationship(request, account_id, "write:blocks", blocking=True)

    @route("POST", r"/api/v1/reports")
    @api()
    def report(self, request: SimRequest) -> SimResponse:
        account, _ = self.authorize(request, "write:reports")
        params = params_of(request)
        target = self.account_by_id(str(params.get("account_id", "")))
        if target is None:
            raise _error(404, "Record not found")
        category = params.get("category") or "other"
        if category not in REPORT_CATEGORIES:
            raise _error(422, "Validation failed: Category is not included in the list")
        comment = str(params.get("comment") or "")
        if len(comment) > 1000:
            raise _error(422, "Validation failed: Comment is too long (maximum is 1000 characters)")
        status_ids = [
            s
            for s in listed(params.get("status_ids"))
            if s in self.items and self.author_of(self.items[s])["id"] == target["id"]
        ]
        rule_ids = listed(params.get("rule_ids")) or None
        report = {
            "id": self.new_id(), "action_taken": False, "action_taken_at": None,
            "category": category, "comment": comment,
            "forwarded": truthy(params.get("forward")), "created_at": self.clock.iso(),
            "status_ids": status_ids, "rule_ids": rule_ids, "target_account": target,
        }  # fmt: skip
        self.reports[report["id"]] = {**report, "reporter": account.account_id}
        return SimResponse.json(200, report)

    # -- media (§4.2) -------------------------------------------------------------------------

    @route("POST", r"/api/v2/media")
    @api("media")
    def upload_media(self, request: SimRequest) -> SimResponse:
        account, _ = self.authorize(request, "write:media")
        upload = request.files.get("file")
        if upload is None or not upload.data:
            raise _error(422, "Validation failed: File can't be blank")
        mime = upload.content_type
        if mime not in IMAGE_TYPES | VIDEO_TYPES | AUDIO_TYPES:
            raise _error(422, "Validation failed: File content type is invalid")
        limit = IMAGE_SIZE_LIMIT if mime in IMAGE_TYPES else VIDEO_SIZE_LIMIT
        if len(upload.data) > limit:
            raise _error(
                422,
                f"Validation failed: File file size must be less than {limit // (1024 * 1024)} MB",
            )
        description = request.arg("description") or ""
        if len(description) > DESCRIPTION_LIMIT:
            raise _error(
                422,
                "Validation failed: Description is too long (maximum is "
                f"{DESCRIPTION_LIMIT} characters)",
            )
        if mime == "image/gif" or mime not in IMAGE_TYPES:
            # Mastodon transcodes GIFs to video, and video and audio, in the background.
            kind = "gifv" if mime == "image/gif" else mime.split("/")[0]
            processing = True
        else:
            kind, processing = "image", False
        media = {
            "id": self.new_id(), "account_id": account.account_id, "status_id": None,
            "type": kind, "mime": mime, "data": upload.data, "description": description,
            "processing": processing,
        }  # fmt: skip
        self.media[media["id"]] = media
        return SimResponse.json(202 if processing else 200, self.media_entity(media))

    @route("GET", r"/api/v1/media/(?P<media_id>\d+)")
    @api()
    def get_media(self, request: SimRequest, media_id: str) -> SimResponse:
        account, _ = self.authorize(request, "write:media")
        media = self.media.get(media_id)
        # Only unattached media of one's own can be looked up, as on Mastodon.
        if media is None or media["account_id"] != account.account_id or media["status_id"]:
            raise _error(404, "Record not found")
        if media["processing"]:
            # Processing finishes after the first poll: the adapter sees 206, then 200.
            media["processing"] = False
            return SimResponse.json(206, {**self.media_entity(media), "url": None})
        return SimResponse.json(200, self.media_entity(media))

    @route("GET", r"/system/media_attachments/files/(?P<media_id>\d+)/original")
    def media_file(self, request: SimRequest, media_id: str) -> SimResponse:
        media = self.media.get(media_id)
        if media is None or media["processing"]:
            return SimResponse.text(404, "Not found")
        return SimResponse(200, media["data"], {"Content-Type": media["mime"]})

    # -- statuses (§4.2, 4.3, 4.4) ------------------------------------------------------------

    @route("POST", r"/api/v1/statuses")
    @api()
    def create_status(self, request: SimRequest) -> SimResponse:
        account, _ = self.authorize(request, "write:statuses")
        key = request.headers.get("idempotency-key", "")
        remembered = self.idempotency.get((account.account_id, key)) if key else None
        if remembered and self.clock.now() - remembered[0] < IDEMPOTENCY_S:
            # The same key again within the hour: the status it made, as it is now (a
            # deleted one is "Record not found", as Mastodon's Status.find answers).
            status_id = json.loads(remembered[1].body)["id"]
            return SimResponse.json(200, self.status_entity(self.status_item(status_id, account)))
        params = params_of(request)
        text = str(params.get("status") or "")
        spoiler = str(params.get("spoiler_text") or "")
        media_ids = listed(params.get("media_ids"))
        if not text.strip() and not media_ids:
            raise _error(422, "Validation failed: Text can't be blank")
        length = status_length(spoiler, self.characters_reserved_per_url) + status_length(
            text, self.characters_reserved_per_url
        )
        if length > self.max_characters:
            raise _error(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        visibility = params.get("visibility") or "public"
        if visibility not in VISIBILITIES:
            raise _error(422, "Validation failed: Visibility is not included in the list")
        if len(media_ids) > MAX_MEDIA_ATTACHMENTS:
            raise _error(422, f"Cannot attach more than {MAX_MEDIA_ATTACHMENTS} files")
        attached = [
            m
            for m in media_ids
            if m in self.media
            and self.media[m]["account_id"] == account.account_id
            and not self.media[m]["status_id"]
        ]
        if any(self.media[m]["processing"] for m in attached):
            raise _error(
                422, "Cannot attach files that have not finished processing. Try again in a moment!"
            )
        parent = None
        if params.get("in_reply_to_id"):
            parent = self.status_item(str(params["in_reply_to_id"]), account)
        mentions = [m["id"] for m in self.mentioned(text) if m["id"] != account.platform_id]
        item = Item(
            item_id=self.new_id(),
            account_id=account.account_id,
            kind="reply" if parent else "post",
            text=text,
            created_at=self.clock.now(),
            parent_id=parent.item_id if parent else None,
            extra={
                "visibility": visibility,
                "language": params.get("language") or "en",
                "spoiler_text": spoiler,
                "media_ids": attached,
                "mentions": mentions,
                "in_reply_to_account_id": self.author_of(parent)["id"] if parent else None,
            },
        )
        self.items[item.item_id] = item
        for media_id in attached:
            self.media[media_id]["status_id"] = item.item_id
        for platform_id in mentions:
            self.notify(platform_id, item, filtered=False)
        response = SimResponse.json(200, self.status_entity(item))
        if key:
            self.idempotency[(account.account_id, key)] = (self.clock.now(), response)
        return response

    @route("GET", r"/api/v1/statuses/(?P<status_id>\d+)")
    @api()
    def get_status(self, request: SimRequest, status_id: str) -> SimResponse:
        viewer = self.viewer(request, "read:statuses")
        return SimResponse.json(200, self.status_entity(self.status_item(status_id, viewer)))

    @route("DELETE", r"/api/v1/statuses/(?P<status_id>\d+)")
    @api("delete")
    def delete_status(self, request: SimRequest, status_id: str) -> SimResponse:
        account, _ = self.authorize(request, "write:statuses")
        item = self.items.get(status_id)
        # Another account's status is "not found" too: Mastodon looks only among one's own.
        if item is None or item.deleted or item.account_id != account.account_id:
            raise _error(404, "Record not found")
        item.deleted = True
        for notification in list(self.notifications.values()):
            if notification["status_id"] == status_id:
                del self.notifications[notification["id"]]
        return SimResponse.json(200, {**self.status_entity(item), "text": item.text})

    @route("GET", r"/api/v1/statuses/(?P<status_id>\d+)/context")
    @api()
    def context(self, request: SimRequest, status_id: str) -> SimResponse:
        viewer = self.viewer(request, "read:statuses")
        item = self.status_item(status_id, viewer)
        ancestors, parent_id = [], item.parent_id
        while parent_id and parent_id in self.items:
            parent = self.items[parent_id]
            if self.visible(parent, viewer):
                ancestors.insert(0, self.status_entity(parent))
            parent_id = parent.parent_id
        descendants = []

        def walk(parent_id: str) -> None:
            children = sorted(
                (i for i in self.items.values() if i.parent_id == parent_id),
                key=lambda i: int(i.item_id),
            )
            for child in children:
                if self.visible(child, viewer):
                    descendants.append(self.status_entity(child))
                walk(child.item_id)

        walk(item.item_id)
        return SimResponse.json(200, {"ancestors": ancestors, "descendants": descendants})

    # -- notifications (§4.4 A) ---------------------------------------------------------------

    @route("GET", r"/api/v1/notifications")
    @api()
    def list_notifications(self, request: SimRequest) -> SimResponse:
        account, _ = self.authorize(request, "read:notifications")
        params = params_of(request)
        types = set(listed(params.get("types")))
        excluded = set(listed(params.get("exclude_types")))
        include_filtered = truthy(params.get("include_filtered"))
        entities = []
        for notification in self.notifications.values():
            if notification["recipient"] != account.account_id:
                continue
            if (types and notification["type"] not in types) or notification["type"] in excluded:
                continue
            if notification["filtered"] and not include_filtered:
                continue
            item = self.items[notification["status_id"]]
            entities.append({
                "id": notification["id"], "type": notification["type"],
                "created_at": notification["created_at"], "account": self.author_of(item),
                "status": self.status_entity(item),
                "group_key": f"ungrouped-{notification['id']}",
            })  # fmt: skip
        return self.page(request, "/api/v1/notifications", entities, 40)
