"""Bluesky (AT Protocol / XRPC) simulator: platform-apis.md §5 and §7.

One simulator plays every server SMC talks to: the entryway (bsky.social, where
createSession goes), the PDS that hosts every repo (the session's didDoc names the
simulator's own base_url) and the AppView whose app.bsky.* reads a PDS proxies. The
public's repos live here too, so their replies can be read with getRecord as on the
real network, where a PDS falls back to the AppView for repos it does not host.

Behaviour follows the reference PDS (bluesky-social/atproto) where §5 is silent: error
names and messages, the swapRecord rules of putRecord, a 500 for a create at a key that
already holds a record, rate limits combined so the headers show the tightest one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from platforms.length import BLUESKY_BYTES, BLUESKY_GRAPHEMES, graphemes
from platforms.simulators.core import (
    Account,
    Item,
    SimError,
    SimRequest,
    SimResponse,
    Simulator,
    Token,
    route,
)

POST = "app.bsky.feed.post"
THREADGATE = "app.bsky.feed.threadgate"
BLOCK = "app.bsky.graph.block"

ACCESS_LIFETIME_S = 120 * 60
REFRESH_LIFETIME_S = 90 * 86400
MAX_BLOB_BYTES = 2_000_000
MAX_IMAGES = 4
MAX_HIDDEN_REPLIES = 300
MAX_ALLOW_RULES = 5
# The AppView notifies the authors of a reply's ancestors up to this many levels up.
REPLY_NOTIFY_DEPTH = 5

# Reference PDS limits (§5.6): all routes 3,000 / 5 min per IP; record writes in points
# per account (create 3, update 2, delete 1); logins per identifier; blobs per day.
GLOBAL_LIMIT, GLOBAL_WINDOW_S = 3000, 300
WRITE_LIMITS = (("repo-write-hour", 5000, 3600), ("repo-write-day", 35000, 86400))
LOGIN_LIMIT, LOGIN_WINDOW_S = 30, 300
LOGIN_DAY_LIMIT = 300
BLOB_DAY_LIMIT = 1000

_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_RECORD_KEY = re.compile(r"[A-Za-z0-9._:~-]{1,512}")
_DAG_CBOR, _RAW = b"\x71", b"\x55"

# xrpc's names and texts for bare HTTP statuses (ResponseType in @atproto/xrpc).
_STATUS_ERRORS = {
    400: ("InvalidRequest", "Invalid Request"),
    401: ("AuthenticationRequired", "Authentication Required"),
    403: ("Forbidden", "Forbidden"),
    404: ("XRPCNotSupported", "XRPC Not Supported"),
    413: ("PayloadTooLarge", "Payload Too Large"),
    415: ("UnsupportedMediaType", "Unsupported Media Type"),
    429: ("RateLimitExceeded", "Rate Limit Exceeded"),
    500: ("InternalServerError", "Internal Server Error"),
    501: ("MethodNotImplemented", "Method Not Implemented"),
    502: ("UpstreamFailure", "Upstream Failure"),
    503: ("NotEnoughResources", "Not Enough Resources"),
    504: ("UpstreamTimeout", "Upstream Timeout"),
}


def xrpc_error(status: int, error: str, message: str, headers: dict | None = None) -> SimError:
    return SimError(SimResponse.json(status, {"error": error, "message": message}, headers))


def invalid(message: str, error: str = "InvalidRequest") -> SimError:
    return xrpc_error(400, error, message)


def cid_for(codec: bytes, data: bytes) -> str:
    """A CIDv1 (sha-256, base32): bafyrei… for records, bafkrei… for raw blobs. Records
    hash their canonical JSON rather than DAG-CBOR; only the shape and the property that
    equal content gives an equal cid matter here."""
    digest = b"\x01" + codec + b"\x12\x20" + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(digest).decode().lower().rstrip("=")


def record_cid(value: dict) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return cid_for(_DAG_CBOR, canonical.encode())


def split_uri(uri: str) -> tuple[str, str, str]:
    """at://did/collection/rkey → (did, collection, rkey); ("", "", "") if not one."""
    parts = uri.removeprefix("at://").split("/") if uri.startswith("at://") else []
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", "", "")


def _b64url(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@dataclass
class Record:
    cid: str
    value: dict
    indexed_at: float


class BlueskySimulator(Simulator):
    platform = "bluesky"

    def reset_platform(self) -> None:
        self.records: dict[str, Record] = {}  # by at-uri
        self.actors: dict[str, dict] = {}  # did → {"did", "handle", "displayName"}, everyone
        self.blobs: dict[str, dict] = {}
        self.notifications: list[dict] = []
        self.mutes: dict[str, set[str]] = {}
        self.reports: list[dict] = []
        self.last_tid_us = 0

    # -- identities, keys and sessions ---------------------------------------------------------

    def _new_did(self) -> str:
        return "did:plc:" + "".join(self.rng.choice(_TID_CHARS) for _ in range(24))

    def _next_tid(self) -> str:
        # Microseconds since the epoch, strictly increasing, then a 10-bit clock id.
        self.last_tid_us = max(self.last_tid_us + 1, int(self.clock.now() * 1_000_000))
        number = (self.last_tid_us << 10) | self.rng.randrange(1024)
        return "".join(_TID_CHARS[(number >> (5 * i)) & 31] for i in reversed(range(13)))

    def _new_app_password(self) -> str:
        letters = "abcdefghijklmnopqrstuvwxyz234567"
        return "-".join("".join(self.rng.choice(letters) for _ in range(4)) for _ in range(4))

    def _jwt(self, account: Account, kind: str, lifetime: float) -> Token:
        """A JWT-shaped token (header.payload.signature) held in the token table, so that
        expiry and revocation are looked up rather than verified."""
        now = self.clock.now()
        header = {"typ": "at+jwt" if kind == "access" else "refresh+jwt", "alg": "ES256K"}
        scope = "com.atproto.appPass" if kind == "access" else "com.atproto.refresh"
        payload = {
            "scope": scope,
            "sub": account.platform_id,
            "aud": "did:web:" + (urlsplit(self.base_url).hostname or "localhost"),
            "jti": self.new_secret(),
            "iat": int(now),
            "exp": int(now + lifetime),
        }
        token = Token(
            value=f"{_b64url(header)}.{_b64url(payload)}.{self.new_secret()}",
            account_id=account.account_id,
            kind=kind,
            expires_at=now + lifetime,
            scopes=[scope],
        )
        self.tokens[token.value] = token
        return token

    def _session(self, account: Account) -> dict:
        access = self._jwt(account, "access", ACCESS_LIFETIME_S)
        refresh = self._jwt(account, "refresh", REFRESH_LIFETIME_S)
        did = account.platform_id
        return {
            "did": did,
            "handle": account.handle,
            "accessJwt": access.value,
            "refreshJwt": refresh.value,
            "didDoc": {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": did,
                "alsoKnownAs": [f"at://{account.handle}"],
                "verificationMethod": [],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": self.base_url,
                    }
                ],
            },
            "active": True,
        }

    def _account_for(self, did: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.platform_id == did), None)

    def _did_for(self, actor: str | None) -> str | None:
        """A DID or a handle (as typed, with or without @) → the DID, if anyone has it."""
        actor = (actor or "").strip().removeprefix("@").lower()
        if actor in self.actors:
            return actor
        return next((d for d, a in self.actors.items() if a["handle"] == actor), None)

    def _authorised(self, request: SimRequest) -> Account:
        """The account behind the access token, or the PDS's error for the token."""
        value = request.bearer_token
        state, token = self.token_state(value, "access")
        if state == "missing":
            raise xrpc_error(401, "AuthMissing", "Authentication Required")
        if state == "expired":
            raise invalid("Token has expired", "ExpiredToken")
        if state == "revoked":
            # A real access JWT outlives its revoked session until it expires; here it
            # stops at once so tests need not wait two hours to see revocation.
            raise invalid("Token has been revoked", "ExpiredToken")
        if state == "invalid":
            scoped = value in self.tokens
            raise invalid(
                "Bad token scope" if scoped else "Token could not be verified", "InvalidToken"
            )
        return self.accounts[token.account_id]

    def _limit(
        self,
        request: SimRequest,
        *,
        key: str = "local",
        limit: int = GLOBAL_LIMIT,
        window_s: float = GLOBAL_WINDOW_S,
        extra: tuple = (),
    ) -> dict[str, str]:
        """Count the call in every bucket that applies and return the headers of the
        tightest, as the reference PDS does; past any limit, answer 429.

        The route's own bucket is named by its path so /_sim/limits can tighten one route;
        "global" is the shared per-IP count. extra: (bucket, key, limit, window_s, points).
        """
        buckets = (
            ("global", "local", GLOBAL_LIMIT, GLOBAL_WINDOW_S, 1),
            (request.route_path, key, limit, window_s, 1),
            *extra,
        )
        tightest = None
        for bucket, bucket_key, bucket_limit, bucket_window, points in buckets:
            for _ in range(points):
                counted = self.rate(bucket, bucket_key, bucket_limit, bucket_window)
            window = self.limit_overrides.get(bucket, (bucket_limit, bucket_window))[1]
            if tightest is None or counted[1] < tightest[1]:
                tightest = (*counted, window)
        most, remaining, reset_at, window = tightest
        headers = {
            "RateLimit-Limit": str(most),
            "RateLimit-Remaining": str(max(remaining, 0)),
            "RateLimit-Reset": str(int(reset_at)),
            "RateLimit-Policy": f"{most};w={int(window)}",
        }
        if remaining < 0:
            headers["Retry-After"] = str(max(1, math.ceil(reset_at - self.clock.now())))
            raise xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        return headers

    def _write_limits(self, request: SimRequest, account: Account, points: int) -> dict:
        extra = tuple(
            (name, account.platform_id, limit, window, points)
            for name, limit, window in WRITE_LIMITS
        )
        return self._limit(request, extra=extra)

    # -- input ----------------------------------------------------------------------------------

    @staticmethod
    def _input(request: SimRequest, *required: str) -> dict:
        if not request.headers.get("content-type"):
            raise invalid("Request encoding (Content-Type) required but not provided")
        body = request.json
        if not isinstance(body, dict):
            raise invalid("Input must be an object")
        for name in required:
            if body.get(name) in (None, ""):
                raise invalid(f'Input must have the property "{name}"')
        return body

    @staticmethod
    def _params(request: SimRequest, *required: str) -> dict[str, str]:
        for name in required:
            if not request.arg(name):
                raise invalid(f'Params must have the property "{name}"')
        return {name: request.arg(name) for name in required}

    @staticmethod
    def _int_param(request: SimRequest, name: str, default: int, low: int, high: int) -> int:
        raw = request.arg(name)
        try:
            number = default if raw is None else int(raw)
        except ValueError:
            raise invalid(f"{name} must be an integer") from None
        if not low <= number <= high:
            raise invalid(f"{name} must be between {low} and {high}")
        return number

    def _own_repo(self, body: dict, account: Account) -> str:
        did = self._did_for(body["repo"])
        if did is None:
            raise invalid(f"Could not find repo: {body['repo']}")
        if did != account.platform_id:
            raise xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        return did

    # -- record validation (the lexicons SMC writes) -------------------------------------------

    def _validate(self, did: str, collection: str, rkey: str, record) -> str:
        """Raise 400 InvalidRequest for a record the PDS would refuse; return the
        validationStatus ("unknown" for collections without a lexicon here)."""
        if not isinstance(record, dict):
            raise invalid("Record must be an object")
        if record.get("$type") != collection:
            raise invalid(f"Invalid $type: expected {collection}, got {record.get('$type')}")
        if not isinstance(rkey, str) or not _RECORD_KEY.fullmatch(rkey) or rkey in (".", ".."):
            raise invalid(f"Invalid record key: {rkey}")
        checks = {POST: self._check_post, THREADGATE: self._check_threadgate, BLOCK: _check_block}
        if collection not in checks:
            return "unknown"
        if not _TID.fullmatch(rkey):
            raise invalid(f"Invalid record key for {collection}: must be a TID")
        if not isinstance(record.get("createdAt"), str):
            raise invalid(f'Invalid {collection} record: Record must have the property "createdAt"')
        problem = checks[collection](did, rkey, record)
        if problem:
            raise invalid(f"Invalid {collection} record: {problem}")
        return "valid"

    def _check_post(self, did: str, rkey: str, record: dict) -> str | None:
        text = record.get("text")
        if not isinstance(text, str):
            return 'Record must have the property "text"'
        if graphemes(text) > BLUESKY_GRAPHEMES:
            return f"Record/text must not be longer than {BLUESKY_GRAPHEMES} graphemes"
        if len(text.encode()) > BLUESKY_BYTES:
            return f"Record/text must not be longer than {BLUESKY_BYTES} characters"
        for n, facet in enumerate(record.get("facets") or []):
            index = facet.get("index") if isinstance(facet, dict) else None
            if not isinstance(index, dict) or not all(
                isinstance(index.get(k), int) and index[k] >= 0 for k in ("byteStart", "byteEnd")
            ):
                return f"Record/facets/{n}/index must have non-negative byteStart and byteEnd"
            if not facet.get("features"):
                return f'Record/facets/{n} must have the property "features"'
        reply = record.get("reply")
        if reply is not None and not all(
            isinstance(reply, dict)
            and isinstance(reply.get(side), dict)
            and isinstance(reply[side].get("uri"), str)
            and isinstance(reply[side].get("cid"), str)
            for side in ("root", "parent")
        ):
            return "Record/reply must have root and parent strong refs (uri, cid)"
        return self._check_embed(did, record.get("embed"))

    def _check_embed(self, did: str, embed) -> str | None:
        if embed is None:
            return None
        kind = embed.get("$type") if isinstance(embed, dict) else None
        if kind == "app.bsky.embed.images":
            images = embed.get("images")
            if not isinstance(images, list) or not 1 <= len(images) <= MAX_IMAGES:
                return f"Record/embed/images must have 1 to {MAX_IMAGES} elements"
            for n, image in enumerate(images):
                if not isinstance(image, dict) or not isinstance(image.get("alt"), str):
                    return f'Record/embed/images/{n} must have the property "alt"'
                blob = image.get("image")
                ref = blob.get("ref") if isinstance(blob, dict) else None
                link = ref.get("$link") if isinstance(ref, dict) else None
                stored = self.blobs.get(link)
                if stored is None or stored["did"] != did:
                    raise invalid(f"Could not find blob: {link}", "BlobNotFound")
                if not stored["mimeType"].startswith("image/"):
                    return f"Record/embed/images/{n}/image has a mimeType other than image/*"
            return None
        if kind == "app.bsky.embed.external":
            external = embed.get("external") or {}
            if not all(isinstance(external.get(k), str) for k in ("uri", "title", "description")):
                return "Record/embed/external must have uri, title and description"
            return None
        return f"Record/embed has an unsupported $type {kind}"

    def _check_threadgate(self, did: str, rkey: str, record: dict) -> str | None:
        # The lexicon says the threadgate's key and repo must be its root post's; the
        # AppView ignores a mismatched gate, so refusing it here shows the adapter's bug.
        if record.get("post") != f"at://{did}/{POST}/{rkey}":
            return "Record/post must be the post with the same record key in the same repo"
        allow = record.get("allow")
        if allow is not None and (not isinstance(allow, list) or len(allow) > MAX_ALLOW_RULES):
            return f"Record/allow must be a list of at most {MAX_ALLOW_RULES} rules"
        hidden = record.get("hiddenReplies", [])
        if not isinstance(hidden, list) or len(hidden) > MAX_HIDDEN_REPLIES:
            return f"Record/hiddenReplies must not be longer than {MAX_HIDDEN_REPLIES} elements"
        if not all(isinstance(u, str) and split_uri(u)[0] for u in hidden):
            return "Record/hiddenReplies must hold at-uris"
        return None

    # -- state changes --------------------------------------------------------------------------

    def _store(self, did: str, collection: str, rkey: str, value: dict) -> tuple[str, str]:
        uri = f"at://{did}/{collection}/{rkey}"
        created = uri not in self.records
        cid = record_cid(value)
        self.records[uri] = Record(cid, value, self.clock.now())
        if collection == POST:
            self._index_post(uri, did, value, created=created)
        elif collection == THREADGATE:
            self._apply_threadgate(value["post"])
        return uri, cid

    def _remove(self, uri: str) -> None:
        record = self.records.pop(uri)
        _, collection, _ = split_uri(uri)
        if collection == POST and uri in self.items:
            self.items[uri].deleted = True
        elif collection == THREADGATE:
            self._apply_threadgate(record.value["post"])

    def _commit(self, uri: str, cid: str) -> dict:
        rev = self._next_tid()
        return {"cid": cid_for(_DAG_CBOR, f"{uri} {cid} {rev}".encode()), "rev": rev}

    def _index_post(self, uri: str, did: str, value: dict, *, created: bool) -> None:
        account = self._account_for(did)
        reply = value.get("reply")
        root = reply["root"]["uri"] if reply else None
        if created:
            self.items[uri] = Item(
                item_id=uri,
                account_id=account.account_id if account else None,
                kind="reply" if reply else "post",
                text=value["text"],
                created_at=self.clock.now(),
                parent_id=reply["parent"]["uri"] if reply else None,
                author=dict(self.actors[did]),
                extra={"root": root},
            )
            if reply:
                self._notify_ancestors(uri, did, reply["parent"]["uri"])
        else:
            self.items[uri].text = value["text"]
        if root:
            self._apply_threadgate(root)

    def _notify_ancestors(self, uri: str, author_did: str, parent_uri: str) -> None:
        """The AppView's reply notifications: each ancestor's author once, nearest first,
        up to REPLY_NOTIFY_DEPTH, and none above a hidden reply."""
        notified = {author_did}
        ancestor, height = parent_uri, 0
        while ancestor in self.records and height < REPLY_NOTIFY_DEPTH:
            did = split_uri(ancestor)[0]
            recipient = self._account_for(did)
            if did not in notified and recipient is not None:
                notified.add(did)
                self.notifications.append(
                    {
                        "seq": self.next_number(),
                        "recipient": recipient.account_id,
                        "uri": uri,
                        "reason": "reply",
                        "reasonSubject": ancestor,
                        "indexed_at": self.clock.now(),
                    }
                )
            if ancestor in self.items and self.items[ancestor].hidden:
                break
            ancestor = (
                (self.records[ancestor].value.get("reply") or {}).get("parent", {}).get("uri")
            )
            height += 1

    def _apply_threadgate(self, root_uri: str) -> None:
        """A reply is hidden while its URI is in the threadgate hiddenReplies of its root."""
        did, _, rkey = split_uri(root_uri)
        gate = self.records.get(f"at://{did}/{THREADGATE}/{rkey}")
        hidden = set(gate.value.get("hiddenReplies", [])) if gate else set()
        for item in self.items.values():
            if item.extra.get("root") == root_uri:
                item.hidden = item.item_id in hidden

    def published_state(self) -> dict:
        # Mutes and reports change nothing a reader sees, so this is where tests find them.
        state = super().published_state()
        state["mutes"] = {did: sorted(muted) for did, muted in self.mutes.items()}
        state["reports"] = self.reports
        return state

    # -- views ---------------------------------------------------------------------------------

    def _actor_view(self, did: str) -> dict:
        return {**self.actors[did], "labels": []}

    def _replies_to(self, uri: str) -> list[str]:
        return [
            u
            for u, r in self.records.items()
            if split_uri(u)[1] == POST
            and (r.value.get("reply") or {}).get("parent", {}).get("uri") == uri
        ]

    def _post_view(self, uri: str) -> dict:
        record = self.records[uri]
        return {
            "uri": uri,
            "cid": record.cid,
            "author": self._actor_view(split_uri(uri)[0]),
            "record": record.value,
            "replyCount": len(self._replies_to(uri)),
            "repostCount": 0,
            "likeCount": 0,
            "quoteCount": 0,
            "indexedAt": self.clock.iso(record.indexed_at),
            "labels": [],
        }

    def _thread(self, uri: str, depth: int, parent_height: int) -> dict:
        if uri not in self.records:
            return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri, "notFound": True}
        node = {"$type": "app.bsky.feed.defs#threadViewPost", "post": self._post_view(uri)}
        parent = (self.records[uri].value.get("reply") or {}).get("parent", {}).get("uri")
        if parent and parent_height > 0:
            node["parent"] = self._thread(parent, 0, parent_height - 1)
        if depth > 0:
            node["replies"] = [self._thread(r, depth - 1, 0) for r in self._replies_to(uri)]
        return node

    def _notification_view(self, note: dict) -> dict:
        record = self.records[note["uri"]]
        return {
            "uri": note["uri"],
            "cid": record.cid,
            "author": self._actor_view(split_uri(note["uri"])[0]),
            "reason": note["reason"],
            "reasonSubject": note["reasonSubject"],
            "record": record.value,
            "isRead": False,
            "indexedAt": self.clock.iso(note["indexed_at"]),
            "labels": [],
        }

    # -- com.atproto.server ---------------------------------------------------------------------

    @route("POST", r"/xrpc/com\.atproto\.server\.createSession")
    def create_session(self, request: SimRequest) -> SimResponse:
        body = self._input(request, "identifier", "password")
        identifier = str(body["identifier"])
        per_day = ("createSession-day", identifier, LOGIN_DAY_LIMIT, 86400, 1)
        headers = self._limit(
            request, key=identifier, limit=LOGIN_LIMIT, window_s=LOGIN_WINDOW_S, extra=(per_day,)
        )
        account = self._account_for(self._did_for(identifier) or "")
        if (
            account is None
            or not account.app_password
            or not secrets.compare_digest(account.app_password, str(body["password"]))
        ):
            raise xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        return SimResponse.json(200, self._session(account), headers)

    @route("POST", r"/xrpc/com\.atproto\.server\.refreshSession")
    def refresh_session(self, request: SimRequest) -> SimResponse:
        headers = self._limit(request)
        value = request.bearer_token
        state, token = self.token_state(value, "refresh")
        if state == "missing":
            raise xrpc_error(401, "AuthMissing", "Authentication Required")
        if state == "invalid":
            raise invalid(
                "Bad token scope" if value in self.tokens else "Token could not be verified",
                "InvalidToken",
            )
        if state == "expired":
            raise invalid("Token has expired", "ExpiredToken")
        if state == "revoked":
            raise invalid("Token has been revoked", "ExpiredToken")
        token.revoked = True  # rotation: the old refresh token is spent (§5.1)
        return SimResponse.json(200, self._session(self.accounts[token.account_id]), headers)

    # -- com.atproto.repo -----------------------------------------------------------------------

    @route("POST", r"/xrpc/com\.atproto\.repo\.uploadBlob")
    def upload_blob(self, request: SimRequest) -> SimResponse:
        account = self._authorised(request)
        did = account.platform_id
        headers = self._limit(request, extra=(("uploadBlob-day", did, BLOB_DAY_LIMIT, 86400, 1),))
        mime_type = request.headers.get("content-type", "").split(";")[0].strip()
        if not mime_type:
            raise invalid("Request encoding (Content-Type) required but not provided")
        if len(request.body) > MAX_BLOB_BYTES:
            raise xrpc_error(413, "PayloadTooLarge", "request entity too large")
        link = cid_for(_RAW, request.body)
        self.blobs[link] = {"did": did, "mimeType": mime_type, "size": len(request.body)}
        blob = {
            "$type": "blob",
            "ref": {"$link": link},
            "mimeType": mime_type,
            "size": len(request.body),
        }
        return SimResponse.json(200, {"blob": blob}, headers)

    @route("POST", r"/xrpc/com\.atproto\.repo\.createRecord")
    def create_record(self, request: SimRequest) -> SimResponse:
        account = self._authorised(request)
        body = self._input(request, "repo", "collection", "record")
        did = self._own_repo(body, account)
        headers = self._write_limits(request, account, points=3)
        collection = body["collection"]
        rkey = body.get("rkey") or self._next_tid()
        status = self._validate(did, collection, rkey, body["record"])
        uri = f"at://{did}/{collection}/{rkey}"
        if uri in self.records:
            # The reference PDS's repo tree refuses a second value at a key with an
            # uncaught error, so a create at a taken key is a bare 500, not a 400.
            raise xrpc_error(500, "InternalServerError", "Internal Server Error")
        uri, cid = self._store(did, collection, rkey, body["record"])
        return self._written(uri, cid, status, headers)

    def _written(self, uri: str, cid: str, status: str, headers: dict) -> SimResponse:
        """The answer to a record write: where it is, its cid and the commit."""
        answer = {"uri": uri, "cid": cid, "commit": self._commit(uri, cid),
                  "validationStatus": status}  # fmt: skip
        return SimResponse.json(200, answer, headers)

    @route("GET", r"/xrpc/com\.atproto\.repo\.getRecord")
    def get_record(self, request: SimRequest) -> SimResponse:
        # Public: the reference PDS reads records without auth.
        headers = self._limit(request)
        params = self._params(request, "repo", "collection", "rkey")
        did = self._did_for(params["repo"]) or params["repo"]
        uri = f"at://{did}/{params['collection']}/{params['rkey']}"
        record = self.records.get(uri)
        wanted = request.arg("cid")
        if record is None or (wanted and wanted != record.cid):
            raise invalid(f"Could not locate record: {uri}", "RecordNotFound")
        return SimResponse.json(
            200, {"uri": uri, "cid": record.cid, "value": record.value}, headers
        )

    @route("POST", r"/xrpc/com\.atproto\.repo\.putRecord")
    def put_record(self, request: SimRequest) -> SimResponse:
        account = self._authorised(request)
        body = self._input(request, "repo", "collection", "rkey", "record")
        did = self._own_repo(body, account)
        headers = self._write_limits(request, account, points=2)
        collection, rkey = body["collection"], body["rkey"]
        status = self._validate(did, collection, rkey, body["record"])
        uri = f"at://{did}/{collection}/{rkey}"
        current = self.records.get(uri)
        if "swapRecord" in body:
            # swapRecord null means "there must be no record yet"; a cid, "it must be this".
            swap = body["swapRecord"]
            if (current.cid if current else None) != swap:
                raise invalid(f"Record was at {current.cid if current else 'null'}", "InvalidSwap")
        cid = record_cid(body["record"])
        if current is not None and current.cid == cid:
            return SimResponse.json(
                200, {"uri": uri, "cid": cid, "validationStatus": status}, headers
            )
        uri, cid = self._store(did, collection, rkey, body["record"])
        return self._written(uri, cid, status, headers)

    @route("POST", r"/xrpc/com\.atproto\.repo\.deleteRecord")
    def delete_record(self, request: SimRequest) -> SimResponse:
        account = self._authorised(request)
        body = self._input(request, "repo", "collection", "rkey")
        did = self._own_repo(body, account)
        headers = self._write_limits(request, account, points=1)
        uri = f"at://{did}/{body['collection']}/{body['rkey']}"
        current = self.records.get(uri)
        if current is None:
            return SimResponse.json(200, {}, headers)  # deleting nothing succeeds (§5.3)
        swap = body.get("swapRecord")
        if swap and swap != current.cid:
            raise invalid(f"Record was at {current.cid}", "InvalidSwap")
        self._remove(uri)
        return SimResponse.json(200, {"commit": self._commit(uri, current.cid)}, headers)

    # -- app.bsky (the AppView, proxied by the PDS) --------------------------------------------

    @route("GET", r"/xrpc/app\.bsky\.notification\.listNotifications")
    def list_notifications(self, request: SimRequest) -> SimResponse:
        account = self._authorised(request)
        headers = self._limit(request)
        limit = self._int_param(request, "limit", 50, 1, 100)
        reasons = set(request.args("reasons"))
        cursor = request.arg("cursor")
        try:
            before = int(cursor) if cursor else None
        except ValueError:
            raise invalid("Malformed cursor") from None
        # Newest first; a deleted post takes its notification with it.
        matching = [
            n
            for n in reversed(self.notifications)
            if n["recipient"] == account.account_id
            and n["uri"] in self.records
            and (not reasons or n["reason"] in reasons)
            and (before is None or n["seq"] < before)
        ]
        page = matching[:limit]
        answer: dict = {"notifications": [self._notification_view(n) for n in page]}
        if len(matching) > limit:
            answer["cursor"] = str(page[-1]["seq"])
        return SimResponse.json(200, answer, headers)

    @route("GET", r"/xrpc/app\.bsky\.feed\.getPostThread")
    def get_post_thread(self, request: SimRequest) -> SimResponse:
        self._authorised(request)
        headers = self._limit(request)
        uri = self._params(request, "uri")["uri"]
        depth = self._int_param(request, "depth", 6, 0, 1000)
        parent_height = self._int_param(request, "parentHeight", 80, 0, 1000)
        if split_uri(uri)[1] != POST or uri not in self.records:
            raise invalid(f"Post not found: {uri}", "NotFound")
        answer: dict = {"thread": self._thread(uri, depth, parent_height)}
        root = (self.records[uri].value.get("reply") or {}).get("root", {}).get("uri", uri)
        did, _, rkey = split_uri(root)
        gate_uri = f"at://{did}/{THREADGATE}/{rkey}"
        if gate_uri in self.records:
            gate = self.records[gate_uri]
            answer["threadgate"] = {
                "uri": gate_uri,
                "cid": gate.cid,
                "record": gate.value,
                "lists": [],
            }
        return SimResponse.json(200, answer, headers)

    @route("GET", r"/xrpc/app\.bsky\.actor\.getProfile")
    def get_profile(self, request: SimRequest) -> SimResponse:
        self._authorised(request)
        headers = self._limit(request)
        did = self._did_for(self._params(request, "actor")["actor"])
        if did is None:
            raise invalid("Profile not found")
        account = self._account_for(did)
        posts = sum(1 for u in self.records if u.startswith(f"at://{did}/{POST}/"))
        profile = {
            **self._actor_view(did),
            "description": account.bio if account else "",
            "followersCount": 0,
            "followsCount": 0,
            "postsCount": posts,
            "indexedAt": self.clock.iso(),
        }
        if account is not None and account.website:
            profile["website"] = account.website
        return SimResponse.json(200, profile, headers)

    @route("POST", r"/xrpc/app\.bsky\.graph\.muteActor")
    def mute_actor(self, request: SimRequest) -> SimResponse:
        account = self._authorised(request)
        headers = self._limit(request)
        did = self._did_for(self._input(request, "actor")["actor"])
        if did is None:
            raise invalid("Actor not found")
        if did == account.platform_id:
            raise invalid("Cannot mute oneself")
        self.mutes.setdefault(account.platform_id, set()).add(did)
        return SimResponse.empty(200, headers)

    @route("POST", r"/xrpc/com\.atproto\.moderation\.createReport")
    def create_report(self, request: SimRequest) -> SimResponse:
        account = self._authorised(request)
        headers = self._limit(request)
        body = self._input(request, "reasonType", "subject")
        subject = body["subject"]
        if not isinstance(subject, dict) or not (subject.get("uri") or subject.get("did")):
            raise invalid("Invalid subject: a strongRef (uri, cid) or a repoRef (did)")
        report = {
            "id": self.next_number(),
            "reasonType": body["reasonType"],
            "reason": body.get("reason", ""),
            "subject": subject,
            "reportedBy": account.platform_id,
            "createdAt": self.clock.iso(),
        }
        self.reports.append(report)
        return SimResponse.json(200, report, headers)

    def not_found_response(self, request: SimRequest, *, method_not_allowed: bool) -> SimResponse:
        if method_not_allowed:
            expected = "POST" if request.method == "GET" else "GET"
            return SimResponse.json(
                400,
                {
                    "error": "InvalidRequest",
                    "message": f"Incorrect HTTP method ({request.method}) expected {expected}",
                },
            )
        return self.error_response(501)

    # -- /_sim/ hooks ---------------------------------------------------------------------------

    def seed_account(self, payload: dict) -> dict:
        """An agency account with an app password (given, or made up and returned) and a
        fresh session, as if createSession had just run."""
        handle = str(payload.get("handle") or f"agency{len(self.accounts) + 1}")
        # Kept as given (lower-cased): the demo and tests log in with the very same text.
        handle = handle.strip().removeprefix("@").lower()
        if self._did_for(handle):
            raise xrpc_error(400, "HandleNotAvailable", f"Handle already taken: {handle}")
        did = self._new_did()
        account = Account(
            account_id=f"acct{self.next_number()}",
            platform_id=did,
            handle=handle,
            display_name=payload.get("display_name") or "",
            bio=payload.get("bio") or "",
            website=payload.get("website") or "",
            app_password=payload.get("app_password") or self._new_app_password(),
        )
        self.accounts[account.account_id] = account
        self.actors[did] = {"did": did, "handle": handle, "displayName": account.display_name}
        session = self._session(account)
        return {
            "account_id": account.account_id,
            "platform_id": did,
            "handle": handle,
            "access_token": session["accessJwt"],
            "refresh_token": session["refreshJwt"],
            "app_password": account.app_password,
        }

    def _public_actor(self, author: dict) -> str:
        name = author.get("name") or "Member of the public"
        handle = author.get("handle") or (
            re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".bsky.social"
        )
        handle = handle.removeprefix("@").lower()
        did = self._did_for(handle)
        if did is None:
            did = self._new_did()
            self.actors[did] = {"did": did, "handle": handle, "displayName": name}
        return did

    def inject(self, payload: dict) -> dict:
        """A member of the public replies to a post or reply (an at-uri): a post record in
        their own repo, an Item without an agency account, and the reply notification."""
        target = payload["target"]
        parent = self.records.get(target)
        if parent is None or split_uri(target)[1] != POST:
            raise SimError(SimResponse.json(404, {"error": f"no post {target}"}))
        did = self._public_actor(payload.get("author") or {})
        parent_ref = {"uri": target, "cid": parent.cid}
        root_ref = (parent.value.get("reply") or {}).get("root") or parent_ref
        value = {
            "$type": POST,
            "text": payload.get("text", ""),
            "createdAt": payload.get("created_at") or self.clock.iso(),
            "reply": {"root": root_ref, "parent": parent_ref},
        }
        uri, _ = self._store(did, POST, self._next_tid(), value)
        return self._post_view(uri)

    def token_action(self, account: Account, action: str) -> None:
        super().token_action(account, action)
        if action == "revoke":
            # Modelled as the administrator deleting SMC's app password in Bluesky's
            # settings: the PDS drops every session made with it, so refreshSession
            # fails, and so does the new createSession SMC tries with the stored
            # password (§5.1). Only reconnecting with a new app password helps.
            account.app_password = ""

    def error_response(self, status: int) -> SimResponse:
        error, message = _STATUS_ERRORS.get(
            status, _STATUS_ERRORS[500] if status >= 500 else _STATUS_ERRORS[400]
        )
        return SimResponse.json(status, {"error": error, "message": message})

    def rate_limit_response(self, reset_in_s: float) -> SimResponse:
        headers = {
            "RateLimit-Limit": str(GLOBAL_LIMIT),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(int(self.clock.now() + reset_in_s)),
            "RateLimit-Policy": f"{GLOBAL_LIMIT};w={GLOBAL_WINDOW_S}",
            "Retry-After": str(max(1, math.ceil(reset_in_s))),
        }
        return SimResponse.json(
            429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers
        )

    def expired_token_response(self) -> SimResponse:
        return SimResponse.json(400, {"error": "ExpiredToken", "message": "Token has expired"})


def _check_block(did: str, rkey: str, record: dict) -> str | None:
    subject = record.get("subject")
    if not isinstance(subject, str) or not subject.startswith("did:"):
        return "Record/subject must be a DID"
    return None
