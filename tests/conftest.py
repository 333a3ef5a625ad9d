"""Test set-up: real PostgreSQL and Redis (embedded unless DATABASE_URL names others).

The test database is created and migrated as the owner role, as in production, and the
tests then connect as the app role, so row-level security, grants and triggers are the
real ones. Transactional tests (live server, browser) are cleaned up as the owner,
because the app role may not TRUNCATE and the record refuses it.
"""

import contextvars
import os
import subprocess
import sys
import time

import dj_database_url
import psycopg
import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.test.utils import setup_databases, teardown_databases
from django_scopes.state import state as scope_state

from smc.celery import app as celery_app
from smc.tenancy import agency_scope
from tests.factories import make_agency, make_member

# Each pytest-xdist worker gets its own Redis database for the cache, so one worker's
# clean-up (a FLUSHDB) never wipes another's login-failure counts mid-test.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
settings.CACHES["default"]["LOCATION"] = (
    settings.REDIS_URL.rsplit("/", 1)[0] + f"/{1 + int(_worker or 0)}"
)

# Likewise its own broker database, so a worker started by one xdist worker never takes
# another's tasks.
BROKER_URL = settings.REDIS_URL.rsplit("/", 1)[0] + f"/{9 + int(_worker or 0)}"
settings.CELERY_BROKER_URL = BROKER_URL
celery_app.conf.broker_url = BROKER_URL

# Tables that Django fills once at migrate time and caches in memory: keep them.
KEEP_TABLES = {"django_migrations", "django_content_type", "auth_permission"}


def _credentials(url_variable: str) -> dict:
    url = os.environ.get(url_variable) or os.environ["DATABASE_URL"]
    parsed = dj_database_url.parse(url)
    return {key: parsed[key] for key in ("USER", "PASSWORD")}


def _use_role(url_variable: str) -> None:
    connection = connections["default"]
    connection.close()
    connection.settings_dict.update(_credentials(url_variable))


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker, django_db_modify_db_settings):
    with django_db_blocker.unblock():
        _use_role("DATABASE_OWNER_URL")
        databases = setup_databases(verbosity=0, interactive=False, keepdb=False)
        _use_role("DATABASE_URL")
    yield
    with django_db_blocker.unblock():
        _use_role("DATABASE_OWNER_URL")
        teardown_databases(databases, verbosity=0)


def owner_connection() -> psycopg.Connection:
    """A raw connection to the test database as the owner role (for tampering tests)."""
    params = dict(connections["default"].get_connection_params())
    params.update(user=_credentials("DATABASE_OWNER_URL")["USER"])
    password = _credentials("DATABASE_OWNER_URL")["PASSWORD"]
    if password:
        params["password"] = password
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    return psycopg.connect(**params, autocommit=True)


def app_connection() -> psycopg.Connection:
    params = dict(connections["default"].get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    return psycopg.connect(**params, autocommit=True)


def clean_database() -> None:
    connections["default"].close()
    with owner_connection() as c:
        tables = [
            r[0]
            for r in c.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
            if r[0] not in KEEP_TABLES
        ]
        c.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        try:
            c.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        finally:
            c.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


@pytest.fixture
def transactional_db(django_db_setup, django_db_blocker):
    """Like pytest-django's, but it cleans up as the owner (see module docstring)."""
    django_db_blocker.unblock()
    try:
        yield
    finally:
        clean_database()
        django_db_blocker.restore()


def test_database_url() -> str:
    """DATABASE_URL naming the test database, as the app role, for child processes."""
    from urllib.parse import urlsplit

    name = connections["default"].settings_dict["NAME"]
    return urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}").geturl()


def child_environment(**extra) -> dict:
    return dict(
        os.environ,
        DATABASE_URL=test_database_url(),
        REDIS_URL=BROKER_URL,
        SMC_DB_ROLE="app",
        PYTHONUNBUFFERED="1",
        **extra,
    )


@pytest.fixture
def worker_environment() -> dict:
    """Extra environment for the celery_worker fixture; a module may override it."""
    return {}


@pytest.fixture
def celery_worker(transactional_db, tmp_path, worker_environment):
    """A real Celery worker process on the test database and this xdist worker's broker."""
    import redis

    # Tasks queued by earlier tests that had no worker (e.g. a profile check queued on
    # connect) must not be run against this test's data.
    redis.Redis.from_url(BROKER_URL).flushdb()
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "smc", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--without-mingle", "--without-gossip",
             "--hostname", f"test-{_worker}@%h"],
            env=child_environment(**worker_environment), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: "ready." in log_path.read_text(), what="the Celery worker to start",
                 process=process)  # fmt: skip
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition, *, what: str, timeout: float = 30, process=None):
    """Poll until condition() is true; fail with what we were waiting for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            pytest.fail(f"gave up waiting for {what}: the process exited ({process.returncode})")
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what} after {timeout} s")


@pytest.fixture(autouse=True)
def _own_checkpoints(settings, tmp_path_factory):
    # Each test's chains start afresh, so its signed checkpoints must too (audit.anchoring).
    settings.SMC_AUDIT_CHECKPOINT_DIR = str(tmp_path_factory.mktemp("checkpoints"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Login throttling counts live in Redis; one test's failures must not lock another.
    from django.core.cache import cache

    yield
    cache.clear()


class ScopelessClient(Client):
    """A test client whose requests start with no agency scope, as real requests do.

    Without this, the scope a test holds open (the `agency` fixture) would leak into
    the request and hide bugs that production would show."""

    def request(self, **request):
        return _without_scope(super().request, **request)

    def force_login(self, user, backend=None):
        return _without_scope(super().force_login, user, backend)

    def logout(self):
        return _without_scope(super().logout)


def _without_scope(function, *args, **kwargs):
    context = contextvars.copy_context()
    context.run(scope_state.set, None)
    return context.run(function, *args, **kwargs)


@pytest.fixture
def client():
    return ScopelessClient()


@pytest.fixture
def agency(db):
    """An agency, with its scope open for the test body."""
    made = make_agency(name="Metro Police", slug="metro")
    with agency_scope(made):
        yield made


@pytest.fixture
def other_agency(db):
    return make_agency(name="Riverside Fire", slug="riverside")


@pytest.fixture
def password():
    return "Correct-Horse-Battery-9"


@pytest.fixture
def admin(agency, password):
    return make_member(agency, role="administrator", username="alex", password=password)


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and marker.kwargs.get("transaction"):
            raise pytest.UsageError(
                f"{item.nodeid}: use the transactional_db fixture, not django_db(transaction=True):"
                " only the fixture cleans up as the owner role"
            )
    # Browser journeys need a live server, which needs transactional tests; run them last
    # so the fast tests report first.
    items.sort(key=lambda item: "journeys" in str(item.fspath))


def pytest_report_header(config):
    database = settings.DATABASES["default"]
    return f"database: {database['NAME']} as {database['USER']}"


# --- The platforms, simulated -----------------------------------------------------------------


def simulator_settings(url: dict[str, str]) -> dict[str, str]:
    """Environment names → simulator URLs (as the demo sets them)."""
    return {
        "FB_WWW_BASE": url["facebook"], "FB_GRAPH_BASE": url["facebook"],
        "X_WWW_BASE": url["x"], "X_API_BASE": url["x"],
        "GOOGLE_ACCOUNTS_BASE": url["youtube"], "GOOGLE_OAUTH_BASE": url["youtube"],
        "YOUTUBE_API_BASE": url["youtube"], "BSKY_SERVICE": url["bluesky"],
    }  # fmt: skip


class SimulatedPlatforms(dict):
    """platform → simulator URL; `.simulators` holds the simulator objects (for what the
    /_sim/ surface redacts, such as the tokens they issued)."""

    simulators: dict


@pytest.fixture
def simulated_platforms(settings):
    """The five simulators on free ports, and SMC pointed at them."""
    from platforms.simulators import PLATFORMS, get_simulator_class
    from platforms.simulators.core import SIM_CLIENT_ID, SIM_CLIENT_SECRET, serve

    running, urls = {}, SimulatedPlatforms()
    urls.simulators = {}
    for platform in PLATFORMS:
        simulator = get_simulator_class(platform)()
        server, url = serve(simulator)
        running[platform] = (server, url)
        urls[platform], urls.simulators[platform] = url, simulator
    settings.SMC_PLATFORM_BASES = simulator_settings(urls)
    settings.SMC_OAUTH_CLIENTS = {
        p: (SIM_CLIENT_ID, SIM_CLIENT_SECRET) for p in ("facebook", "x", "youtube")
    }
    yield urls
    for server, _ in running.values():
        server.shutdown()
