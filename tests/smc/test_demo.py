"""`make demo`: one process tree on fresh embedded servers, stopped cleanly by Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from smc.management.commands.load_demo_posts import PUBLISHED, WAITING
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
# The demo must start from nothing: none of the test run's servers or keys.
DROPPED = ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "SECRET_KEY", "SMC_TOKEN_KEYS",
           "SMC_EMBEDDED_DIR", "SMC_DB_ROLE", "DJANGO_SETTINGS_MODULE")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (the demo's simulators)."""
    for base in range(20000 + os.getpid() % 1000 * 20, 65000, 20):
        try:
            sockets = [socket.create_server(("127.0.0.1", base + i)) for i in range(count)]
        except OSError:
            continue
        for s in sockets:
            s.close()
        return base
    raise RuntimeError("no free ports")


def _processes_using(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            in_environment = process.environ().get("SMC_DATA_DIR") == str(folder)
            if in_environment or str(folder) in " ".join(process.cmdline()):
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


def test_the_demo_runs_the_product_and_ctrl_c_stops_all_of_it(tmp_path):
    folder, port, simulator_port = tmp_path / "demo-data", _free_port(), _free_ports(5)
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    env.update(SMC_DATA_DIR=str(folder), SMC_HTTPS="false", PYTHONUNBUFFERED="1")
    log_path = tmp_path / "demo.log"
    with open(log_path, "w") as log:
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "run_demo", "--port", str(port),
             "--simulator-port", str(simulator_port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(lambda: "SMC is running at" in log_path.read_text(), what="the demo",
                 timeout=120, process=demo)  # fmt: skip
        output = log_path.read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert "Connected 8 demo channels to the simulators." in output
        for username in ("admin", "pio", "officer", "auditor"):
            assert re.search(rf"^\s+{username}\s", output, re.M), f"{username} not printed"

        base = f"http://127.0.0.1:{port}"
        browser = requests.Session()

        def login_page_answers():
            try:
                return browser.get(f"{base}/login/", timeout=10).status_code == 200
            except requests.RequestException:  # not listening yet, or still booting
                return False

        wait_for(login_page_answers, what="the web server", timeout=60, process=demo)
        token = browser.cookies.get("csrftoken")
        home = browser.post(f"{base}/login/", data={"login": "admin", "password": "demo",
                                                    "csrfmiddlewaretoken": token})  # fmt: skip
        assert home.status_code == 200 and "Metro City Police" in home.text
        assert "Hello, Alex Admin" in home.text
        wait_for(lambda: "celery@" in log_path.read_text() and " ready." in log_path.read_text(),
                 what="the Celery worker", timeout=60, process=demo)  # fmt: skip
        assert "beat: Starting..." in log_path.read_text()
        # The demo's posts: one waits on the PIO's approval queue, one the worker has
        # published to the simulators (X is the second).
        assert "Loaded the demo posts" in log_path.read_text()
        pio = requests.Session()
        pio.get(f"{base}/login/", timeout=10)
        token = pio.cookies.get("csrftoken")
        pio.post(f"{base}/login/", data={"login": "pio", "password": "demo",
                                         "csrfmiddlewaretoken": token})  # fmt: skip
        queue = pio.get(f"{base}/posts/approvals/", timeout=10).text
        assert queue.count("data-approval ") == 1 and WAITING in queue

        def published_on_x():
            items = requests.get(f"http://127.0.0.1:{simulator_port + 1}/_sim/published",
                                 timeout=5).json()["items"]  # fmt: skip
            return any(item["text"] == PUBLISHED for item in items)

        wait_for(published_on_x, what="the demo's approved post on X", timeout=60, process=demo)
        for offset, platform in enumerate(("facebook", "x", "youtube", "mastodon", "bluesky")):
            health = requests.get(f"http://127.0.0.1:{simulator_port + offset}/_sim/health",
                                  timeout=5).json()  # fmt: skip
            assert health == {"platform": platform, "ok": True}
        assert _processes_using(folder), "the embedded servers should be running"
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        demo.wait(60)
    assert demo.returncode == 0, log_path.read_text()[-3000:]
    assert "Stopped." in log_path.read_text()
    deadline = time.monotonic() + 60
    while _processes_using(folder) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [(p.pid, " ".join(p.cmdline())[:80]) for p in _processes_using(folder)]
    assert left == [], f"still running after Ctrl-C: {left}"
