"""Exactly once under real workers (P4): 50 posts go out while a worker is killed at each
critical point of an attempt (after the claim, after the SENDING commit, after the
platform accepted, before the ack) and the simulators drop, refuse and throttle some
requests. Counted on the simulators' side: 50 remote posts, none twice, none lost.

The kill is SMC_CRASH_AT (posting.services.publishing.crash_point): the worker process
dies on the spot with os._exit, as under `kill -9`, exactly where the test wants it.
bench/publish_chaos.py is the big version (1,000 posts, kill -9 at random)."""

import subprocess
import sys
from collections import Counter

import redis

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from posting.models import Publication
from posting.services.publishing import CRASH_POINTS
from smc.tenancy import agency_scope
from tests.conftest import BROKER_URL, child_environment, simulator_settings, wait_for
from tests.factories import make_agency, make_member
from tests.platforms.contract import SimClient
from tests.posting.publishing_world import PUBLISH_PATHS, connect_channels, released_post

POSTS = 50
# Short leases so a dead worker's rows come back within seconds (the time limits and
# platform timeouts follow from it).
FAST = {
    "SMC_PUBLISH_TICK_SECONDS": "1",
    "SMC_PUBLISH_LEASE_SECONDS": "10",
    "SMC_PUBLISH_RECONCILE_DELAY_SECONDS": "1",
    "SMC_FACEBOOK_CLIENT_ID": "sim-client",
    "SMC_FACEBOOK_CLIENT_SECRET": "sim-secret",
}


def start(kind: str, log_path, environment: dict) -> subprocess.Popen:
    if kind == "beat":
        command = ["beat", "--schedule", str(log_path.with_suffix(".schedule"))]
    else:
        command = ["worker", "--pool", "solo", "--without-mingle", "--without-gossip",
                   "--hostname", f"{log_path.stem}@%h"]  # fmt: skip
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "smc", *command, "--loglevel", "INFO"],
            env=child_environment(**environment), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def sent_after_landing(sim_url: str, platform: str, texts) -> list[str]:
    """Texts the platform was sent again after it had saved them once: what looking
    before any resend must prevent (the platforms' own duplicate guards would hide it
    from the published count)."""
    import fnmatch

    landed, again = set(), []
    for request in SimClient(sim_url).requests(method="POST"):
        if not fnmatch.fnmatchcase(request["path"], PUBLISH_PATHS[platform]):
            continue
        body = request["body"] or {}
        text = body.get("message") or body.get("text") or body.get("status") or (
            body.get("record") or {}).get("text")  # fmt: skip
        if text not in texts:
            continue
        if text in landed:
            again.append(text)
        if request["status"] in (200, 201, "dropped after commit"):
            landed.add(text)
    return again


def settled(agency) -> bool:
    with agency_scope(agency):
        return not Publication.objects.exclude(status=Publication.Status.PUBLISHED).exists()


def test_fifty_posts_go_out_exactly_once_through_worker_kills_and_faults(
    transactional_db, simulated_platforms, tmp_path
):
    agency = make_agency(name="Metro Police", slug="metro")
    author = make_member(agency, role=Role.USER, username="olive")
    channels = connect_channels(agency, simulated_platforms)
    for platform, path in PUBLISH_PATHS.items():
        sim = SimClient(simulated_platforms[platform])
        sim.fault("POST", path, mode="drop_after_commit")  # accepted, answer lost
        sim.fault("POST", path, mode="drop_before_commit")  # lost before it was saved
    SimClient(simulated_platforms["x"]).fault("POST", "/2/tweets", mode="rate_limit",
                                              reset_in_s=2)  # fmt: skip
    texts = {}
    for n in range(POSTS):
        channel = channels[n % len(channels)]
        post = released_post(author, [channel], text=f"Chaos update {n}: Elm St reopens.")
        texts[post.text] = channel.platform
    redis.Redis.from_url(BROKER_URL).flushdb()  # nothing queued by the set-up above
    environment = {**simulator_settings(simulated_platforms), **FAST}

    processes = [start("beat", tmp_path / "beat.log", environment)]
    try:
        # One worker per critical point, each killed there by its first publication.
        for point in CRASH_POINTS:
            worker = start("worker", tmp_path / f"{point}.log",
                           {**environment, "SMC_CRASH_AT": point})  # fmt: skip
            processes.append(worker)
            wait_for(lambda w=worker: w.poll() is not None, timeout=90,
                     what=f"the worker to die {point.replace('_', ' ')}")  # fmt: skip
            log = (tmp_path / f"{point}.log").read_text()
            assert worker.returncode == 137 and f"SMC_CRASH_AT={point}" in log, log[-2000:]
        survivor = start("worker", tmp_path / "survivor.log", environment)
        processes.append(survivor)
        wait_for(lambda: settled(agency), timeout=120, process=survivor,
                 what="every publication to be published")  # fmt: skip
    finally:
        for process in processes:
            process.kill()
            process.wait()

    remote = Counter()
    for platform in PUBLISH_PATHS:
        for item in SimClient(simulated_platforms[platform]).published()["items"]:
            if item["text"] in texts and not item["deleted"]:
                assert texts[item["text"]] == platform
                remote[item["text"]] += 1
    assert sum(remote.values()) == POSTS  # remote posts
    assert [text for text, n in remote.items() if n > 1] == []  # duplicates
    assert set(texts) - set(remote) == set()  # lost
    for platform, url in simulated_platforms.items():
        if platform in PUBLISH_PATHS:
            assert sent_after_landing(url, platform, texts) == [], platform
    with agency_scope(agency):
        rows = list(Publication.objects.all())
        assert len(rows) == POSTS and all(p.platform_post_id for p in rows)
        published = AuditEvent.objects.filter(action=Action.PUBLICATION_PUBLISHED)
        assert published.count() == POSTS
        # The two workers that died mid-attempt and the answers lost after the platform
        # saved the post were all looked up, not resent.
        assert AuditEvent.objects.filter(action=Action.PUBLICATION_UNKNOWN).count() >= 2 + 4
