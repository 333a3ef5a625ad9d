"""Comment ingest speed (M1, issue 6 §7), end to end on the real database. Run by hand:

    .venv/bin/python bench/ingest.py [--channels 20] [--comments 20000] [--window 60]

Starts the embedded PostgreSQL and Redis in a fresh private data folder (as the tests
do; removed afterwards), migrates, connects Facebook Pages through the simulator's
own OAuth flow, and then measures two things with the worker's own code path
(`ingest.poll_channel`: read from the platform, archive, decide, move the cursor):

- ``ingest_rate``: public comments written on the simulator, read, archived with their
  versions and the policy's decision, per second; polled channel by channel by one
  process, as one worker does. ``platform_read_seconds`` is the simulator's and the
  adapter's share of that time (the same reads again), ``archive_and_decide_rate``
  SMC's rate without it.
- ``channels_kept_current``: how many channels one worker keeps polled at a 60-second
  interval. Measured, not extrapolated: every channel starts due, one worker runs
  beat's claim (`claim_due_channels`) and polls what it is handed for `--window`
  seconds (default 60), each channel with a comment or two of news as quiet channels
  have; the figure is the number of distinct channels it finished in that window. When
  the worker runs out of channels before the window ends the figure is printed as a
  lower bound (``>=``); raise `--pool`.

The simulators run in threads of this process, so their time counts against SMC's: the
figures are conservative. Prints one ``name: value unit`` line per figure.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _environment(data_dir: str) -> None:
    os.environ["SMC_DATA_DIR"] = data_dir
    os.environ.setdefault("SMC_HTTPS", "false")
    os.environ["DJANGO_SETTINGS_MODULE"] = "smc.settings"
    os.environ.pop("DATABASE_URL", None)


def _migrate() -> None:
    """As the owner role, in its own process (this one connects as the app role)."""
    env = dict(os.environ, SMC_DB_ROLE="owner")
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT,
                   env=env, check=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=20, help="Pages for ingest_rate")
    parser.add_argument("--comments", type=int, default=20_000, help="comments for ingest_rate")
    parser.add_argument("--window", type=float, default=60.0, help="seconds one worker polls")
    parser.add_argument(
        "--pool", type=int, default=0, help="channels for channels_kept_current (default: a trial)"
    )
    options = parser.parse_args()

    # A fresh database every run: channels left by an earlier run would be claimed too.
    data_dir = tempfile.mkdtemp(prefix="smc-bench-ingest-")
    _environment(data_dir)
    import django

    # Start (or join) the embedded servers in this process, so it owns and stops them.
    from smc import embedded

    # Registered first, so it runs last: after the embedded servers' own exit handler.
    atexit.register(shutil.rmtree, data_dir, True)
    embedded.activate()
    _migrate()
    os.environ["SMC_DB_ROLE"] = "app"
    django.setup()

    from django.conf import settings
    from django.test.utils import override_settings

    from platforms.simulators.core import SIM_CLIENT_ID, SIM_CLIENT_SECRET

    clients = dict(settings.SMC_OAUTH_CLIENTS, facebook=(SIM_CLIENT_ID, SIM_CLIENT_SECRET))
    facebook = Facebooks()
    try:
        with override_settings(SMC_OAUTH_CLIENTS=clients):
            _run(options, facebook)
    finally:
        facebook.shutdown()
        from django.db import connections

        connections.close_all()
        embedded.stop()


class Facebooks:
    """Simulated Facebooks, a few Pages each. The simulator lists a Page's comments by
    scanning everything it holds (fine for tests, quadratic for a flood), so Pages are
    spread over several: the time measured stays SMC's and the network's, not a scan
    that real Facebook does not do. Each channel is read from its own simulator."""

    PAGES_EACH = 50

    def __init__(self):
        self.servers, self.of_channel, self.current, self.count = [], {}, None, 0

    def _new(self):
        from platforms.simulators import get_simulator_class
        from platforms.simulators.core import serve

        simulator = get_simulator_class("facebook")()
        # Each its own seed: simulators of one platform otherwise mint the same ids.
        simulator.reset(seed=len(self.servers) + 1)
        # Connecting thousands of Pages is set-up, not what is measured: lift the
        # app-wide limit the connect flows count against. Polls use Page tokens, whose
        # per-Page limit stays as Facebook sets it.
        simulator.limit_overrides["app"] = (10**9, 3600)
        server, url = serve(simulator)
        self.servers.append(server)
        return simulator, url

    def for_new_page(self, *, alone: bool = False):
        if alone or self.current is None or self.count >= self.PAGES_EACH:
            self.current, self.count = self._new(), 0
        self.count += 1
        return self.current

    def at(self, url: str):
        from django.conf import settings
        from django.test.utils import override_settings

        bases = dict(settings.SMC_PLATFORM_BASES, FB_WWW_BASE=url, FB_GRAPH_BASE=url)
        return override_settings(SMC_PLATFORM_BASES=bases)

    def shutdown(self):
        for server in self.servers:
            server.shutdown()


def _run(options, facebook: Facebooks) -> None:
    import itertools

    from django.db import connection

    from accounts.models import Role
    from moderation import ingest
    from moderation.models import ChannelPoll, Comment, CommentVersion
    from moderation.selectors import channel_for_ingest
    from platforms.adapters.base import OutgoingPost
    from platforms.demo import connect_through_simulator
    from platforms.services import call_platform
    from smc.tenancy import agency_scope
    from tests.factories import make_agency, make_member

    run = int(time.time())
    numbers = itertools.count(1)
    agency = make_agency(name=f"Bench Police {run}", slug=f"bench-{run}")
    admin = make_member(agency, role=Role.ADMINISTRATOR, username=f"bench-admin-{run}")

    def new_page(*, alone: bool = False):
        n = next(numbers)
        simulator, url = facebook.for_new_page(alone=alone)
        with facebook.at(url):
            [channel], _ = connect_through_simulator(
                administrator=admin, platform="facebook", sim_url=url,
                display_name=f"Bench Page {n}", handle=f"bench{run}p{n}",
            )  # fmt: skip
            post = call_platform(channel, lambda a: a.publish(OutgoingPost(text="Road closed")))
        facebook.of_channel[channel.pk] = url
        return channel, post.platform_post_id, simulator

    def comment_on(simulator, post_id: str, count: int, offset: int = 0) -> None:
        with simulator.lock:
            for i in range(count):
                simulator.inject({"target": post_id, "author": {"name": f"Person {i % 500}"},
                                  "text": TEXTS[(offset + i) % len(TEXTS)]})  # fmt: skip

    def poll(channel, lease_token: str = ""):
        with facebook.at(facebook.of_channel[channel.pk]):
            return ingest.poll_channel(channel=channel, lease_token=lease_token)

    with agency_scope(agency):
        # --- ingest_rate ------------------------------------------------------------------
        pages = [new_page(alone=True) for _ in range(options.channels)]
        per_page = options.comments // options.channels
        for n, (_channel, post_id, simulator) in enumerate(pages):
            comment_on(simulator, post_id, per_page, offset=n)
        total = per_page * len(pages)
        started = time.perf_counter()
        for channel, _post, _sim in pages:
            poll(channel)
        seconds = time.perf_counter() - started
        channels = [channel for channel, _post, _sim in pages]
        archived = Comment.objects.filter(channel__in=channels).count()
        decided = (
            CommentVersion.objects.filter(comment__channel__in=channels)
            .exclude(decision_category="")
            .count()
        )
        if archived != total or decided != total:
            raise SystemExit(f"lost comments: {total} written, {archived} archived, {decided}")
        # The platform's share of that time: the same reads again, archiving nothing. The
        # simulators share this process, so what is left is SMC's archiving and deciding.
        started = time.perf_counter()
        for channel in channels:
            with facebook.at(facebook.of_channel[channel.pk]):
                call_platform(channel, lambda a: a.fetch_comments(since=None))
        reading = time.perf_counter() - started
        print(f"comments: {total}")
        print(f"ingest_seconds: {seconds:.2f} s")
        print(f"ingest_rate: {total / seconds:.0f} comments/s")
        print(f"platform_read_seconds: {reading:.2f} s")
        print(f"archive_and_decide_rate: {total / max(seconds - reading, 1e-9):.0f} comments/s")

        # --- channels_kept_current -----------------------------------------------------------
        pool_size = options.pool
        if not pool_size:
            # A short trial says how large a pool one worker could get through, so the
            # window never runs dry; the figure itself comes from the window below.
            trial = [new_page() for _ in range(10)]
            for _channel, post_id, simulator in trial:
                comment_on(simulator, post_id, 2)
            started = time.perf_counter()
            for channel, _post, _sim in trial:
                poll(channel)
            per_poll = (time.perf_counter() - started) / len(trial)
            pool_size = int(options.window / per_poll * 1.3) + 10
            print(f"trial_poll_seconds: {per_poll:.4f} s")
        pool = []
        made = time.perf_counter()
        while len(pool) < pool_size:
            pool.append(new_page())
        for n, (_channel, post_id, simulator) in enumerate(pool):
            comment_on(simulator, post_id, 1 + n % 2, offset=n)
        print(f"pool_channels: {len(pool)} (connected in {time.perf_counter() - made:.0f} s)")
        ChannelPoll.objects.update(next_poll_at="2999-01-01T00:00:00Z")
        ChannelPoll.objects.filter(channel__in=[c for c, _p, _s in pool]).update(
            next_poll_at="2000-01-01T00:00:00Z", leased_until=None, lease_token="",
            interval_s=60,
        )  # fmt: skip
        connection.close()

    polled: set[int] = set()
    started = time.perf_counter()
    ran_dry = False
    while time.perf_counter() - started < options.window:
        claims = ingest.claim_due_channels(per_platform=50)
        if not claims:
            ran_dry = True
            break
        for claim in claims:
            if time.perf_counter() - started >= options.window:
                break
            with agency_scope(claim.agency_id):
                channel = channel_for_ingest(claim.channel_id)
                outcome = poll(channel, lease_token=claim.lease_token)
            if outcome.archived is not None:
                polled.add(claim.channel_id)
    window = time.perf_counter() - started
    bound = ">= " if ran_dry else ""
    print(f"window_seconds: {window:.1f} s")
    print(f"channels_kept_current: {bound}{len(polled)} channels")


TEXTS = [
    "When does Main St reopen?",
    "Thank you to the crews who worked all night.",
    "This is the third closure this month, plan better.",
    "Is the library lot open for parking during the parade?",
    "shots fired on Elm St?",
    "the bomb squad demo at the fair was great for the kids",
    "You people are useless, fix the potholes.",
    "Great job, Deputy Ruiz!",
]


if __name__ == "__main__":
    main()
