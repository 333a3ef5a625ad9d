"""`make demo`: the whole product on one machine, as one process tree.

Migrates, loads the demo data once, then runs the web server (gunicorn), a Celery
worker, Celery beat and the platform simulators, connects the demo channels and (once)
makes the demo's posts. Ctrl-C stops every child, then the embedded PostgreSQL and
Redis if this process started them.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


def simulator_environment(base_port: int) -> dict[str, str]:
    """Point every platform setting at the local simulators (platform-apis.md §0.1) and
    use the simulators' published OAuth client."""
    url = [f"http://127.0.0.1:{base_port + offset}" for offset in range(5)]
    return {
        "FB_WWW_BASE": url[0], "FB_GRAPH_BASE": url[0],
        "X_WWW_BASE": url[1], "X_API_BASE": url[1],
        "GOOGLE_ACCOUNTS_BASE": url[2], "GOOGLE_OAUTH_BASE": url[2], "YOUTUBE_API_BASE": url[2],
        "SMC_DEMO_MASTODON_INSTANCE": url[3],
        "BSKY_SERVICE": url[4],
        "SMC_FACEBOOK_CLIENT_ID": "sim-client", "SMC_FACEBOOK_CLIENT_SECRET": "sim-secret",
        "SMC_X_CLIENT_ID": "sim-client", "SMC_X_CLIENT_SECRET": "sim-secret",
        "SMC_GOOGLE_CLIENT_ID": "sim-client", "SMC_GOOGLE_CLIENT_SECRET": "sim-secret",
    }  # fmt: skip


LOGINS = [
    ("admin", "Administrator, Metro City Police"),
    ("pio", "Supervisor (PIO), Metro City Police: approves Patrol's posts; also in Riverside"),
    ("officer", "User (patrol officer), Metro City Police: every post needs approval"),
    ("auditor", "Auditor, Metro City Police"),
    ("fire-admin", "Administrator, Riverside County Fire (the second agency)"),
]


class Command(BaseCommand):
    help = "Run the demo: web, Celery worker and beat on the embedded database (or DATABASE_URL)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--simulator-port",
            type=int,
            default=int(os.environ.get("SMC_SIMULATOR_PORT", "8101")),
            help="First of the five simulator ports (Facebook, X, YouTube, Mastodon, Bluesky).",
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_demo")
        simulators = simulator_environment(options["simulator_port"])
        os.environ.update(simulators)
        # The platforms send the administrator back here after consent.
        os.environ["SMC_BASE_URL"] = f"http://{options['host']}:{options['port']}"
        children = self._start_children(options["host"], options["port"], options["simulator_port"])
        self._connect_channels(options["simulator_port"], children)
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"\nSMC is running at {url}"))
        self.stdout.write("Sign in as any of these, password 'demo':")
        for username, what in LOGINS:
            self.stdout.write(f"  {username:12} {what}")
        self.stdout.write(
            f"(ready in {time.monotonic() - started:.1f} s; Ctrl-C stops everything)\n"
        )
        self.stdout.flush()
        self._supervise(children)

    def _start_children(self, host, port, simulator_port):
        python = sys.executable
        env = dict(os.environ, SMC_DB_ROLE="app", PYTHONUNBUFFERED="1")
        schedule = settings.CELERY_BEAT_SCHEDULE_FILENAME
        commands = {
            "simulators": [python, "manage.py", "run_simulators", "--base-port",
                           str(simulator_port), "--chatter", "20"],
            "web": [python, "-m", "gunicorn", "smc.wsgi", "--bind", f"{host}:{port}",
                    "--workers", "2", "--threads", "4", "--access-logfile", "-"],
            "worker": [python, "-m", "celery", "-A", "smc", "worker", "--loglevel", "INFO",
                       "--concurrency", "2", "--queues", "celery"],
            # Exports (R4) on their own worker, so a long one never delays the rest.
            "export-worker": [python, "-m", "celery", "-A", "smc", "worker", "--loglevel",
                              "INFO", "--concurrency", "1", "--queues", "exports",
                              "--hostname", "exports@%h"],
            "beat": [python, "-m", "celery", "-A", "smc", "beat", "--loglevel", "INFO",
                     "--schedule", schedule],
        }  # fmt: skip
        children = {}
        for name, command in commands.items():
            # Own process group: the terminal's Ctrl-C reaches us, and we stop them in order.
            children[name] = subprocess.Popen(command, env=env, start_new_session=True)
        return children

    def _connect_channels(self, simulator_port, children):
        """Once the simulators answer, connect the demo channels to them (their state
        lives in memory, so every start connects afresh)."""
        import requests

        health = f"http://127.0.0.1:{simulator_port}/_sim/health"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and children["simulators"].poll() is None:
            try:
                if requests.get(health, timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        subprocess.run([sys.executable, "manage.py", "connect_demo_channels",
                        "--simulator-port", str(simulator_port)], env=env, check=False)  # fmt: skip
        # The demo's posts need its channels; the worker and beat, already running,
        # publish the approved one.
        subprocess.run([sys.executable, "manage.py", "load_demo_posts"], env=env,
                       check=False)  # fmt: skip

    def _supervise(self, children):
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        failed = None
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    failed = f"{name} exited with status {child.returncode}"
                    stopping = True
            time.sleep(0.2)
        self.stdout.write("\nStopping SMC …" + (f" ({failed})" if failed else ""))
        for child in children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        self.stdout.write("Stopped.")
        if failed:
            sys.exit(1)
