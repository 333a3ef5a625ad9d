"""Exactly-once publishing under chaos (P4). Run by hand (heavy: a few minutes):

    .venv/bin/python bench/publish_chaos.py [--posts 1000] [--spread 60] [--workers 2]

On its own embedded PostgreSQL and Redis in a temporary SMC_DATA_DIR, with the five
simulators in their own process: 1,000 posts due within one minute on channels of two
agencies (Facebook, X, Mastodon and Bluesky; YouTube takes no posts from SMC), published
by Celery beat and 2 workers (prefork, 3 processes each) while

- every few seconds a random worker is killed with SIGKILL: either the whole worker
  (its process group, then restarted) or one of its pool processes (Celery replaces it);
- Redis is restarted once and beat is killed and restarted once;
- the simulators answer a few percent of requests with a 5xx, a 429, a 3 s hang, or a
  dropped connection after saving the post.

Counted on the simulators' side (/_sim/published): remote posts, duplicates (a text seen
more than once) and lost posts (a text never seen). Lateness is the simulator's creation
time minus the post's due time; simulator_rtt is a /_sim/health round trip measured
during the same minute, so the scheduler's lateness can be read against the platforms'.
Prints one line per figure: `name: value unit`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PUBLISHING = ("facebook", "x", "mastodon", "bluesky")
PUBLISH_PATHS = {"facebook": "/*/feed", "x": "/2/tweets", "mastodon": "/api/v1/statuses",
                 "bluesky": "/xrpc/com.atproto.repo.createRecord"}  # fmt: skip
CHANNELS_PER_PLATFORM = 3  # per agency: X allows 100 posts per account per 15 minutes
# The processes' own knobs: short leases so a killed worker's rows come back in seconds.
CHAOS_SETTINGS = {
    "SMC_PUBLISH_TICK_SECONDS": "1",
    "SMC_PUBLISH_LEASE_SECONDS": "20",
    "SMC_PUBLISHES_PER_TICK": "100",  # handed out and not started: a few seconds of work
    "SMC_PUBLISH_RECONCILE_DELAY_SECONDS": "4",
    "SMC_COMMENT_POLL_TICK_SECONDS": "3600",  # comment polling is not what is measured
    "SMC_HTTPS": "false",
    "SMC_LOG_LEVEL": "WARNING",
}


def free_base(count: int = 5) -> int:
    for base in range(19100 + os.getpid() % 50 * 10, 29000, 10):
        try:
            sockets = [socket.create_server(("127.0.0.1", base + i)) for i in range(count)]
        except OSError:
            continue
        for s in sockets:
            s.close()
        return base
    raise SystemExit("no five free ports")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Processes:
    """Beat and the workers, each in its own process group so that kill -9 takes all of
    a worker at once (as a lost machine or container would)."""

    def __init__(self, folder: Path, env: dict, workers: int):
        self.folder, self.env, self.count = folder, env, workers
        self.workers: dict[int, subprocess.Popen] = {}
        self.beat: subprocess.Popen | None = None
        self.kills = Counter()

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "a")  # noqa: SIM115 - lives with the process
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "smc", *command],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def start_worker(self, n: int) -> None:
        self.workers[n] = self._start(f"worker{n}", [
            "worker", "--pool", "prefork", "--concurrency", "3", "--loglevel", "WARNING",
            "--without-mingle", "--without-gossip", "--hostname", f"chaos{n}@%h"])  # fmt: skip

    def start_beat(self) -> None:
        schedule = str(self.folder / "beat-schedule")
        self.beat = self._start("beat", ["beat", "--loglevel", "WARNING", "--schedule", schedule])

    def start(self) -> None:
        self.start_beat()
        for n in range(self.count):
            self.start_worker(n)

    def kill_random_worker(self, rng: random.Random) -> str:
        import psutil

        n = rng.randrange(self.count)
        worker = self.workers[n]
        children = []
        with contextlib.suppress(psutil.Error):
            children = psutil.Process(worker.pid).children()
        if children and rng.random() < 0.5:
            victim = rng.choice(children)
            os.kill(victim.pid, signal.SIGKILL)  # Celery sees the worker lost; replaces it
            self.kills["pool process"] += 1
            return f"pool process {victim.pid} of worker {n}"
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        self.kills["whole worker"] += 1
        self.start_worker(n)
        return f"worker {n}"

    def restart_beat(self) -> None:
        os.killpg(self.beat.pid, signal.SIGKILL)
        self.beat.wait()
        self.start_beat()

    def stop(self) -> None:
        for process in [*self.workers.values(), self.beat]:
            if process and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def rtt_probe(urls: list[str], stop: threading.Event, samples: list[float]) -> None:
    session = requests.Session()
    n = 0
    while not stop.is_set():
        started = time.perf_counter()
        try:
            session.get(urls[n % len(urls)] + "/_sim/health", timeout=10)
            samples.append(time.perf_counter() - started)
        except requests.RequestException:
            pass
        n += 1
        stop.wait(0.05)


def main():  # noqa: PLR0915 - one scenario, read top to bottom
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=60, help="seconds the due times span")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=4, help="seconds between kills")
    parser.add_argument("--fault-rate", type=float, default=0.01, help="per fault kind")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    options = parser.parse_args()
    rng = random.Random(options.seed)
    started_at = time.monotonic()

    # --- Fresh servers in a private folder -----------------------------------------------
    folder = Path(tempfile.mkdtemp(prefix="smc-chaos-"))
    for name in ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "SECRET_KEY",
                 "SMC_TOKEN_KEYS", "SMC_EMBEDDED_DIR"):  # fmt: skip
        os.environ.pop(name, None)
    os.environ["SMC_DATA_DIR"] = str(folder)
    from smc import embedded

    embedded.activate()
    from smc.management.commands.run_demo import simulator_environment

    base = free_base()
    os.environ.update(simulator_environment(base), **CHAOS_SETTINGS)
    os.environ["DJANGO_SETTINGS_MODULE"] = "smc.settings"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True,
                   env=dict(os.environ, SMC_DB_ROLE="owner"))  # fmt: skip
    os.environ["SMC_DB_ROLE"] = "app"
    simulators = subprocess.Popen(
        [sys.executable, "manage.py", "run_simulators", "--base-port", str(base)],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    urls = {p: f"http://127.0.0.1:{base + i}" for i, p in
            enumerate(("facebook", "x", "youtube", "mastodon", "bluesky"))}  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            if all(requests.get(u + "/_sim/health", timeout=1).ok for u in urls.values()):
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the simulators did not start")
        time.sleep(0.2)

    import django

    django.setup()
    from accounts.models import Agency, Role
    from accounts.services import add_member
    from platforms.demo import connect_through_simulator
    from posting.models import Post, Publication
    from posting.services.publishing import release_for_publishing
    from smc.tenancy import agency_scope

    processes = Processes(folder, dict(os.environ, PYTHONUNBUFFERED="1"), options.workers)
    try:
        # --- Two agencies, their channels, the posts ------------------------------------
        channels, authors = [], {}
        for slug in ("metro", "riverside"):
            agency = Agency.objects.create(name=f"{slug.title()} Chaos", slug=slug)
            with agency_scope(agency):
                admin = add_member(agency=agency, username=f"{slug}-admin", password="x" * 12,
                                   role=Role.ADMINISTRATOR, email=f"a@{slug}.example",
                                   full_name="Admin", actor_label="bench")  # fmt: skip
                authors[agency.pk] = add_member(
                    agency=agency, username=f"{slug}-officer", password="x" * 12,
                    role=Role.USER, email=f"o@{slug}.example", full_name="Officer",
                    actor_label="bench")  # fmt: skip
                for platform in PUBLISHING:
                    for n in range(CHANNELS_PER_PLATFORM):
                        handle = f"{slug}{platform}{n}"
                        [channel], _ = connect_through_simulator(
                            administrator=admin, platform=platform, sim_url=urls[platform],
                            display_name=f"{slug} {platform} {n}", handle=handle)  # fmt: skip
                        channels.append(channel)
        run = datetime.now(UTC).strftime("%H%M%S")
        later = datetime.now(UTC) + timedelta(days=1)
        texts: dict[str, str] = {}  # text → platform
        planned: list[tuple[int, int, float]] = []  # (agency, publication, offset s)
        for i in range(options.posts):
            channel = channels[i % len(channels)]
            text = f"Chaos {run} #{i}: Elm St reopens at {i % 12 + 1} pm. Drive carefully."
            with agency_scope(channel.agency_id):
                post = Post.objects.create(agency_id=channel.agency_id, text=text,
                                           author=authors[channel.agency_id],
                                           publish_at=later)  # fmt: skip
                publication = Publication.objects.create(
                    agency_id=channel.agency_id, post=post, channel=channel
                )
                release_for_publishing(post=post)
            texts[text] = channel.platform
            planned.append((channel.agency_id, publication.pk, rng.uniform(0, options.spread)))
        # Everything is due within the next minute, starting a few seconds from now.
        t0 = datetime.now(UTC) + timedelta(seconds=8)
        due_at = {}
        for agency_id in {a for a, _, _ in planned}:
            with agency_scope(agency_id):
                for _, pk, offset in (p for p in planned if p[0] == agency_id):
                    due_at[pk] = t0 + timedelta(seconds=offset)
                    Publication.objects.filter(pk=pk).update(due_at=due_at[pk])
        due_by_text = {}
        for agency_id in {a for a, _, _ in planned}:
            with agency_scope(agency_id):
                for pk, text in Publication.objects.values_list("pk", "post__text"):
                    due_by_text[text] = due_at[pk]
        setup_s = time.monotonic() - started_at

        # --- Faults: a few percent of requests -------------------------------------------
        for platform in PUBLISHING:
            fault_url = urls[platform] + "/_sim/faults"
            publish = {"method": "POST", "path": PUBLISH_PATHS[platform]}
            modes = ({"mode": "error", "status": 503}, {"mode": "rate_limit", "reset_in_s": 2},
                     {"mode": "hang", "seconds": 3}, {"mode": "drop_after_commit"})  # fmt: skip
            for mode in modes:
                requests.post(fault_url, json={"match": publish, "count": None,
                              "probability": options.fault_rate, **mode}, timeout=5)  # fmt: skip
            requests.post(fault_url, json={"match": {"method": "GET"}, "count": None,
                          "probability": options.fault_rate, "mode": "error", "status": 500},
                          timeout=5)  # fmt: skip

        # --- The run ----------------------------------------------------------------------
        processes.start()
        stop_probe, rtts = threading.Event(), []
        probed = [urls[p] for p in PUBLISHING]
        probe = threading.Thread(target=rtt_probe, args=(probed, stop_probe, rtts), daemon=True)
        probe.start()
        t0_mono = time.monotonic() + (t0 - datetime.now(UTC)).total_seconds()
        redis_restart_at, beat_restart_at = t0_mono + 20, t0_mono + 35
        chaos_until = t0_mono + options.spread
        next_kill = time.monotonic() + options.kill_every
        redis_restarted = beat_restarted = False
        while time.monotonic() < chaos_until:
            now = time.monotonic()
            if now >= next_kill:
                what = processes.kill_random_worker(rng)
                print(f"# kill -9 {what} at t0{now - t0_mono:+.0f} s", flush=True)
                next_kill = now + options.kill_every * rng.uniform(0.5, 1.5)
            if not redis_restarted and now >= redis_restart_at:
                embedded.restart_redis()
                redis_restarted = True
                print(f"# Redis restarted at t0{time.monotonic() - t0_mono:+.0f} s", flush=True)
            if not beat_restarted and now >= beat_restart_at:
                processes.restart_beat()
                beat_restarted = True
                print(f"# beat killed and restarted at t0{now - t0_mono:+.0f} s", flush=True)
            time.sleep(0.2)
        stop_probe.set()

        # --- Until every publication is settled -------------------------------------------
        in_flight = (Publication.Status.QUEUED, Publication.Status.SENDING,
                     Publication.Status.UNKNOWN)  # fmt: skip

        def unsettled() -> int:
            total = 0
            for agency_id in authors:
                with agency_scope(agency_id):
                    total += Publication.objects.filter(status__in=in_flight).count()
            return total

        deadline = time.monotonic() + 600
        while unsettled() and time.monotonic() < deadline:
            time.sleep(1)
        statuses, attempts, went_unknown = Counter(), 0, 0
        from audit.actions import Action
        from audit.models import AuditEvent

        for agency_id in authors:
            with agency_scope(agency_id):
                statuses.update(Publication.objects.values_list("status", flat=True))
                attempts += sum(Publication.objects.values_list("attempts", flat=True))
                went_unknown += AuditEvent.objects.filter(action=Action.PUBLICATION_UNKNOWN).count()
    finally:
        processes.stop()

    # --- Counted on the simulators' side ----------------------------------------------------
    seen, lateness = Counter(), []
    for platform in PUBLISHING:
        for item in requests.get(urls[platform] + "/_sim/published", timeout=30).json()["items"]:
            text = item["text"]
            if text not in texts or item["deleted"]:
                continue
            seen[text] += 1
            if seen[text] == 1:
                created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
                lateness.append((created - due_by_text[text]).total_seconds())
    # What the simulators did to SMC's requests (the injected faults that fired).
    answered = Counter()
    for platform in PUBLISHING:
        for request in requests.get(urls[platform] + "/_sim/requests", timeout=60).json():
            answered[str(request["status"])] += 1
    simulators.send_signal(signal.SIGTERM)
    simulators.wait(10)

    print(f"posts: {options.posts} count")
    print(f"remote_posts: {sum(seen.values())} count")
    print(f"duplicates: {sum(n - 1 for n in seen.values() if n > 1)} count")
    print(f"lost: {len(set(texts) - set(seen))} count")
    print(f"lateness_p50: {percentile(lateness, 50):.2f} s")
    print(f"lateness_p99: {percentile(lateness, 99):.2f} s")
    print(f"lateness_max: {max(lateness, default=float('nan')):.2f} s")
    print(f"simulator_rtt_p50: {percentile(rtts, 50):.4f} s")
    print(f"simulator_rtt_p99: {percentile(rtts, 99):.4f} s")
    print(f"simulator_rtt_mean: {statistics.fmean(rtts) if rtts else float('nan'):.4f} s")
    print(f"worker_kills_whole: {processes.kills['whole worker']} count")
    print(f"worker_kills_pool_process: {processes.kills['pool process']} count")
    print(f"redis_restarts: {int(redis_restarted)} count")
    print(f"beat_restarts: {int(beat_restarted)} count")
    print(f"platform_requests: {sum(answered.values())} count")
    print(f"faults_5xx: {answered['500'] + answered['503']} count")
    print(f"faults_429: {answered['429']} count")
    print(f"faults_dropped_after_commit: {answered['dropped after commit']} count")
    print(f"attempts: {attempts} count")
    print(f"publications_looked_up_after_unknown: {went_unknown} count")
    for status in ("published", "failed", "queued", "sending", "unknown"):
        print(f"publications_{status}: {statuses.get(status, 0)} count")
    print(f"setup_time: {setup_s:.1f} s")
    print(f"total_time: {time.monotonic() - started_at:.1f} s")
    embedded.stop()
    if options.keep:
        print(f"# data and logs kept in {folder}")
    else:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
