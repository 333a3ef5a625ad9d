"""What every platform simulator shares (platform-apis.md §7).

A simulator is a small in-memory platform: accounts, tokens, posts and comments,
served over real HTTP so that SMC's adapters are exercised exactly as in production,
plus the `/_sim/` control surface that tests, benches and the demo use to seed
accounts, inject public comments, inspect what was published and inject faults.

Each platform subclasses `Simulator`, declares its API routes with `@route`, and
answers in its platform's own shapes and error bodies (the `*_response` hooks).
Handlers run under one lock: state changes are atomic, and a simulator is never the
bottleneck of a benchmark because handlers only touch dictionaries.

The server is the standard library's ThreadingHTTPServer with HTTP/1.1 keep-alive:
no dependency, and it lets a fault close a connection after the work was committed
("drop_after_commit"), which a higher-level server would hide.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import fnmatch
import hashlib
import json
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

SIM_CLIENT_ID = "sim-client"
SIM_CLIENT_SECRET = "sim-secret"  # noqa: S105 - the simulators' published test client
_SECRET_KEYS = {
    "access_token", "refresh_token", "client_secret", "password", "code", "code_verifier",
    "fb_exchange_token", "token", "accessjwt", "refreshjwt", "app_password", "app_secret",
    "input_token", "authorization",
}  # fmt: skip


# --- Requests and responses ---------------------------------------------------------------


@dataclass
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    route_path: str = ""  # the path as routed (Facebook strips its version prefix)

    @cached_property
    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @cached_property
    def _form_and_files(self) -> tuple[dict[str, list[str]], dict[str, UploadedFile]]:
        content_type = self.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True), {}
        if content_type.startswith("multipart/form-data"):
            return _parse_multipart(content_type, self.body)
        return {}, {}

    @property
    def form(self) -> dict[str, list[str]]:
        return self._form_and_files[0]

    @property
    def files(self) -> dict[str, UploadedFile]:
        return self._form_and_files[1]

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A parameter from the query string or the form, as platforms accept both."""
        for source in (self.query, self.form):
            if name in source and source[name]:
                return source[name][0]
        return default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, []) + self.form.get(name, [])

    @property
    def bearer_token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return self.arg("access_token")

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        auth = self.headers.get("authorization", "")
        if not auth.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return None
        return user, password


def _parse_multipart(content_type: str, body: bytes):
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    form: dict[str, list[str]] = {}
    files: dict[str, UploadedFile] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        filename = part.get_filename()
        data = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = UploadedFile(filename, part.get_content_type(), data)
        else:
            form.setdefault(name, []).append(data.decode("utf-8", "replace"))
    return form, files


@dataclass
class SimResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict | None = None, content_type=None):
        return cls(
            status,
            json.dumps(payload).encode(),
            {"Content-Type": content_type or "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def empty(cls, status: int = 204, headers: dict | None = None):
        return cls(status, b"", dict(headers or {}))

    @classmethod
    def redirect(cls, location: str):
        return cls(302, b"", {"Location": location})

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8"):
        return cls(status, text.encode(), {"Content-Type": content_type})


class SimError(Exception):
    """Raised by a handler to answer with the platform's own error response."""

    def __init__(self, response: SimResponse):
        super().__init__(response.status)
        self.response = response


@dataclass
class Hang:
    seconds: float


class Drop:
    """Close the connection without answering."""


# --- State ---------------------------------------------------------------------------------


@dataclass
class Account:
    account_id: str  # the simulator's own id (what /_sim/ endpoints take)
    platform_id: str  # the id the platform shows (page id, user id, did, UC… id)
    handle: str
    display_name: str
    bio: str = ""
    website: str = ""
    app_password: str = ""
    scopes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass
class Token:
    value: str
    account_id: str
    kind: str  # "access" or "refresh"
    expires_at: float | None
    scopes: list[str]
    revoked: bool = False


@dataclass
class Item:
    """A post, reply or comment on the platform, ours or the public's."""

    item_id: str
    account_id: str | None  # the agency account that owns it, or None for the public
    kind: str  # "post", "reply", "comment", "video"
    text: str
    created_at: float
    parent_id: str | None = None
    author: dict = field(default_factory=dict)
    hidden: bool = False
    deleted: bool = False
    moderation_status: str = "published"
    extra: dict = field(default_factory=dict)


@dataclass
class Fault:
    fault_id: str
    method: str | None
    path: str | None
    count: int | None
    mode: dict
    probability: float = 1.0


class Clock:
    """Simulated time: real time plus an offset tests can move forward."""

    def __init__(self):
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def iso(self, moment: float | None = None) -> str:
        moment = self.now() if moment is None else moment
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def route(method: str, pattern: str):
    """Declare a platform API route: a method and a full-match regex over the path."""

    def decorator(handler):
        handler.sim_route = (method.upper(), re.compile(pattern))
        return handler

    return decorator


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: ("[redacted]" if k.lower() in _SECRET_KEYS else redact(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def add_query(url: str, **params) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit(parts._replace(query=query))


class Simulator:
    """Base of the five simulators. Subclasses fill in the platform."""

    platform = "base"

    def __init__(self, *, seed: int = 0):
        self.lock = threading.RLock()
        self.clock = Clock()
        self.base_url = ""
        self._routes = [
            getattr(self, name).sim_route + (getattr(self, name),)
            for name in dir(type(self))
            if hasattr(getattr(type(self), name), "sim_route")
        ]
        self.reset(seed)

    # -- lifecycle -----------------------------------------------------------------------

    def reset(self, seed: int | None = 0) -> None:
        with self.lock:
            # The platform in the seed: five simulators must not mint the same "random"
            # tokens and ids (a token of one would equal an id stored by another).
            self.rng = random.Random(f"{self.platform}:{seed}")
            self.clock.offset = 0.0
            self.accounts: dict[str, Account] = {}
            self.tokens: dict[str, Token] = {}
            self.codes: dict[str, dict] = {}
            self.items: dict[str, Item] = {}
            self.faults: list[Fault] = []
            self.requests: list[dict] = []
            self.limit_overrides: dict[str, tuple[int, float]] = {}
            self.windows: dict[tuple, list] = {}
            self.oauth_next: dict | None = None
            self.idempotency: dict[tuple, tuple[float, SimResponse]] = {}
            self.counter = 0
            self.reset_platform()

    def reset_platform(self) -> None:
        """Subclasses clear their own state here."""

    # -- ids and tokens ----------------------------------------------------------------------

    def next_number(self) -> int:
        self.counter += 1
        return self.counter

    def new_secret(self, prefix: str = "") -> str:
        return prefix + "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                                for _ in range(32))  # fmt: skip

    def issue_token(self, account_id: str, *, kind: str = "access", lifetime: float | None,
                    scopes: list[str] | None = None, prefix: str = "") -> Token:  # fmt: skip
        token = Token(
            value=self.new_secret(prefix),
            account_id=account_id,
            kind=kind,
            expires_at=None if lifetime is None else self.clock.now() + lifetime,
            scopes=list(scopes if scopes is not None else self.accounts[account_id].scopes),
        )
        self.tokens[token.value] = token
        return token

    def token_state(self, value: str | None, kind: str = "access") -> tuple[str, Token | None]:
        """("ok" | "missing" | "invalid" | "expired" | "revoked", token)."""
        if not value:
            return "missing", None
        token = self.tokens.get(value)
        if token is None or token.kind != kind:
            return "invalid", None
        if token.revoked:
            return "revoked", token
        if token.expires_at is not None and token.expires_at <= self.clock.now():
            return "expired", token
        return "ok", token

    @staticmethod
    def stable_number(text: str, digits: int = 18) -> str:
        """An id derived from a name: a seeded account keeps its id across simulator
        restarts, as a real account does (the demo reconnects its channels at each start)."""
        value = int(hashlib.sha256(text.encode()).hexdigest(), 16) % (9 * 10 ** (digits - 1))
        return str(10 ** (digits - 1) + value)

    def new_code(self, payload: dict) -> str:
        code = self.new_secret("code-")
        self.codes[code] = {**payload, "expires_at": self.clock.now() + 600}
        return code

    def take_code(self, code: str | None) -> dict | None:
        found = self.codes.pop(code or "", None)
        if found is None or found["expires_at"] < self.clock.now():
            return None
        return found

    @staticmethod
    def pkce_ok(challenge: str | None, verifier: str | None, method: str = "S256") -> bool:
        if not challenge:
            return True  # PKCE optional where the platform makes it optional
        if not verifier:
            return False
        if method == "plain":
            return secrets.compare_digest(challenge, verifier)
        digest = hashlib.sha256(verifier.encode()).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return secrets.compare_digest(challenge, expected)

    def oauth_account(self) -> tuple[Account | None, bool]:
        """The account the next authorize request approves as, and whether it denies."""
        choice = self.oauth_next or {}
        self.oauth_next = None
        account_id = choice.get("account_id") or (
            list(self.accounts)[-1] if self.accounts else None
        )
        return self.accounts.get(account_id) if account_id else None, bool(choice.get("deny"))

    # -- rate limits ---------------------------------------------------------------------------

    def rate(self, bucket: str, key: str, limit: int, window_s: float) -> tuple[int, int, float]:
        """Count one call in a fixed window. Returns (limit, remaining, reset_epoch); the
        caller answers 429 in its platform's way when remaining < 0."""
        limit, window_s = self.limit_overrides.get(bucket, (limit, window_s))
        now = self.clock.now()
        start, count = self.windows.get((bucket, key), (now, 0))
        if now - start >= window_s:
            start, count = now, 0
        count += 1
        self.windows[(bucket, key)] = (start, count)
        return limit, limit - count, start + window_s

    # -- the published state (exactly-once checks) ---------------------------------------------

    def published_state(self) -> dict:
        identical: dict[str, dict[str, int]] = {}
        rows = []
        for item in self.items.values():
            digest = hashlib.sha256(item.text.encode()).hexdigest()
            if item.account_id and not item.deleted:
                per_account = identical.setdefault(item.account_id, {})
                per_account[digest] = per_account.get(digest, 0) + 1
            rows.append({
                "id": item.item_id, "account_id": item.account_id, "kind": item.kind,
                "text": item.text, "text_sha256": digest, "parent_id": item.parent_id,
                "hidden": item.hidden, "deleted": item.deleted,
                "moderation_status": item.moderation_status,
                "created_at": self.clock.iso(item.created_at), "author": item.author,
            })  # fmt: skip
        return {"platform": self.platform, "items": rows, "identical_texts": identical}

    # -- platform hooks (answers in the platform's own shapes) ---------------------------------

    def seed_account(self, payload: dict) -> dict:
        raise NotImplementedError

    def create_content(self, account: Account, payload: dict) -> dict:
        raise SimError(SimResponse.json(404, {"error": "no out-of-band content here"}))

    def inject(self, payload: dict) -> dict:
        raise NotImplementedError

    def configure_webhooks(self, payload: dict) -> dict:
        raise SimError(SimResponse.json(404, {"error": f"{self.platform} has no webhooks"}))

    def token_action(self, account: Account, action: str) -> None:
        """expire: access tokens fail, refresh works; revoke: everything fails."""
        for token in self.tokens.values():
            if token.account_id != account.account_id:
                continue
            if action == "expire" and token.kind == "access":
                token.expires_at = self.clock.now() - 1
            elif action == "revoke":
                token.revoked = True

    def error_response(self, status: int) -> SimResponse:
        raise NotImplementedError

    def rate_limit_response(self, reset_in_s: float) -> SimResponse:
        raise NotImplementedError

    def expired_token_response(self) -> SimResponse:
        raise NotImplementedError

    def normalize_path(self, path: str) -> str:
        return path

    # -- dispatch ---------------------------------------------------------------------------------

    def handle(self, request: SimRequest, *, skip_faults: bool = False):
        """Answer one request: a SimResponse, Hang (sleep, then call again with
        skip_faults) or Drop (close the connection unanswered)."""
        request.route_path = self.normalize_path(request.path)
        with self.lock:
            if request.route_path.startswith("/_sim/"):
                return self._control(request)
            entry = self._log(request)
            fault = None if skip_faults else self._take_fault(request)
            if fault is not None:
                mode = fault.mode.get("mode")
                if mode == "hang":
                    return Hang(float(fault.mode.get("seconds", 30)))
                if mode == "drop_before_commit":
                    entry["status"] = "dropped"
                    return Drop()
                early = self._fault_response(fault.mode)
                if early is not None:
                    entry["status"] = early.status
                    return early
            response = self._route(request)
            entry["status"] = response.status
            if fault is not None and fault.mode.get("mode") == "drop_after_commit":
                entry["status"] = "dropped after commit"
                return Drop()
            return response

    def _route(self, request: SimRequest) -> SimResponse:
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.route_path)
            if not match:
                continue
            if method != request.method:
                allowed = True
                continue
            try:
                return handler(request, **match.groupdict())
            except SimError as error:
                return error.response
        return self.not_found_response(request, method_not_allowed=allowed)

    def not_found_response(self, request: SimRequest, *, method_not_allowed: bool) -> SimResponse:
        return SimResponse.json(405 if method_not_allowed else 404, {"error": "Not found"})

    def _fault_response(self, mode: dict) -> SimResponse | None:
        kind = mode.get("mode")
        if kind == "error":
            return self.error_response(int(mode.get("status", 500)))
        if kind == "rate_limit":
            return self.rate_limit_response(float(mode.get("reset_in_s", 60)))
        if kind == "expired_token":
            return self.expired_token_response()
        if kind == "platform_error":
            return SimResponse.json(int(mode.get("status", 400)), mode.get("body", {}))
        return None  # drop_after_commit: handled after routing

    def _take_fault(self, request: SimRequest) -> Fault | None:
        for fault in self.faults:
            if fault.method and fault.method.upper() != request.method:
                continue
            if fault.path and not fnmatch.fnmatchcase(request.route_path, fault.path):
                continue
            if fault.probability < 1.0 and self.rng.random() >= fault.probability:
                continue
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
            return fault
        return None

    def _log(self, request: SimRequest) -> dict:
        body: Any = request.json if request.json is not None else None
        if body is None and request.form:
            body = {k: v[0] if len(v) == 1 else v for k, v in request.form.items()}
        if body is None and request.files:
            body = {"files": {k: f.filename for k, f in request.files.items()}}
        entry = {
            "seq": len(self.requests) + 1,
            "at": self.clock.iso(),
            "method": request.method,
            "path": request.route_path,
            "query": redact({k: v[0] if len(v) == 1 else v for k, v in request.query.items()}),
            "body": redact(body),
            "status": None,
        }
        if "idempotency-key" in request.headers:
            entry["idempotency_key"] = request.headers["idempotency-key"]
        self.requests.append(entry)
        return entry

    # -- the /_sim/ control surface -------------------------------------------------------------

    def _control(self, request: SimRequest) -> SimResponse:
        path, method, body = request.route_path, request.method, request.json or {}
        try:
            if path == "/_sim/reset" and method == "POST":
                self.reset(body.get("seed", 0))
                return SimResponse.empty(204)
            if path == "/_sim/health" and method == "GET":
                return SimResponse.json(200, {"platform": self.platform, "ok": True})
            if path == "/_sim/accounts" and method == "POST":
                return SimResponse.json(201, self.seed_account(body))
            if path == "/_sim/oauth/next" and method == "POST":
                self.oauth_next = body
                return SimResponse.empty(204)
            match = re.fullmatch(r"/_sim/accounts/([^/]+)/content", path)
            if match and method == "POST":
                return SimResponse.json(201, self.create_content(self._account(match[1]), body))
            if path == "/_sim/inject" and method == "POST":
                return SimResponse.json(201, self.inject(body))
            if path == "/_sim/webhooks" and method == "POST":
                return SimResponse.json(200, self.configure_webhooks(body))
            if path == "/_sim/requests" and method == "GET":
                return SimResponse.json(200, self._filtered_requests(request))
            if path == "/_sim/published" and method == "GET":
                return SimResponse.json(200, self.published_state())
            if path == "/_sim/faults":
                return self._faults(method, body)
            if path == "/_sim/tokens" and method == "POST":
                self.token_action(self._account(body.get("account_id", "")), body.get("action"))
                return SimResponse.empty(204)
            if path == "/_sim/clock" and method == "POST":
                if "advance_s" in body:
                    self.clock.offset += float(body["advance_s"])
                if "now" in body:
                    target = datetime.fromisoformat(body["now"].replace("Z", "+00:00"))
                    self.clock.offset = target.timestamp() - time.time()
                return SimResponse.json(200, {"now": self.clock.iso()})
            if path == "/_sim/limits" and method == "POST":
                self.limit_overrides[body["path"]] = (int(body["limit"]), float(body["window_s"]))
                return SimResponse.empty(204)
        except SimError as error:
            return error.response
        except (KeyError, TypeError, ValueError) as error:
            return SimResponse.json(400, {"error": f"bad control request: {error}"})
        return SimResponse.json(404, {"error": f"no control endpoint {method} {path}"})

    def _account(self, account_id: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise SimError(SimResponse.json(404, {"error": f"no account {account_id}"}))
        return account

    def _faults(self, method: str, body: dict) -> SimResponse:
        if method == "GET":
            return SimResponse.json(200, [f.__dict__ for f in self.faults])
        if method == "DELETE":
            self.faults.clear()
            return SimResponse.empty(204)
        match = body.get("match", {})
        fault = Fault(
            fault_id=f"f{self.next_number()}",
            method=match.get("method"),
            path=match.get("path"),
            count=body.get("count", 1),
            mode={k: v for k, v in body.items() if k not in ("match", "count", "probability")},
            probability=float(body.get("probability", 1.0)),
        )
        if not fault.mode.get("mode"):
            raise SimError(SimResponse.json(400, {"error": "a fault needs a mode"}))
        self.faults.append(fault)
        return SimResponse.json(201, {"fault_id": fault.fault_id})

    def _filtered_requests(self, request: SimRequest) -> list[dict]:
        method, path = request.arg("method"), request.arg("path")
        return [
            r for r in self.requests
            if (not method or r["method"] == method.upper()) and (not path or r["path"] == path)
        ]  # fmt: skip


# --- The HTTP server ------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write, without Nagle's delay: otherwise delayed ACKs
    # hold each keep-alive answer ~40 ms and a simulator manages some 25 requests/s.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    simulator: Simulator  # set per server class

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = SimRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        result = self.simulator.handle(request)
        if isinstance(result, Hang):
            time.sleep(result.seconds)
            result = self.simulator.handle(request, skip_faults=True)
        if isinstance(result, Drop):
            self.close_connection = True
            self.connection.close()
            return
        self.send_response(result.status)
        for name, value in result.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(result.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(result.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def serve(simulator: Simulator, host: str = "127.0.0.1", port: int = 0):
    """Start a simulator in a background thread; returns (server, base_url)."""
    handler = type(f"{simulator.platform}Handler", (_Handler,), {"simulator": simulator})
    server = SimServer((host, port), handler)
    simulator.base_url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name=f"sim-{simulator.platform}",
                              daemon=True)  # fmt: skip
    thread.start()
    return server, simulator.base_url
