"""Server time of the approval queue (P2) with 10,000 posts waiting. Run by hand:

    .venv/bin/python bench/approval_queue.py [--posts 10000] [--requests 60]

Uses its own embedded database (SMC_DATA_DIR=.smc/bench-approval, made and migrated on
the first run, then reused). Requests go through the whole Django stack in this process
(middleware, tenancy, session, template) with no network, so the time is the server's.
Pages are picked at random over the whole queue, deep pages included, for an
administrator (who sees every post) and a unit supervisor (who sees their chain).

The physical reference, in the same run: the page's own SQL (captured from a request)
run bare on a cursor, and the ratio of the two. Prints `name: value unit` lines.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SMC_DATA_DIR", str(ROOT / ".smc" / "bench-approval"))
os.environ.setdefault("SMC_HTTPS", "false")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smc.settings")


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def migrate() -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"],
                   check=True, cwd=ROOT)  # fmt: skip


def seed(posts: int):
    """The agency with `posts` posts waiting at Patrol, two channels each. Bulk rows:
    this is a bench's data, not behaviour under test."""
    from django.utils import timezone

    from accounts.authority import set_unit_supervisors
    from accounts.models import Agency, Membership, Unit
    from platforms.models import Channel
    from posting.models import Post, Publication
    from smc.tenancy import agency_scope
    from tests.factories import make_channel, make_member

    agency = Agency.objects.filter(slug="bench-approval").first()
    if agency is None:
        agency = Agency.objects.create(name="Bench Police", slug="bench-approval")
    with agency_scope(agency):
        admin = Membership.objects.filter(user__username="bench-admin").first()
        if admin is None:
            admin = make_member(agency, role="administrator", username="bench-admin")
            hq = Unit.objects.create(agency=agency, name="HQ")
            patrol = Unit.objects.create(agency=agency, name="Patrol", parent=hq)
            sergeant = make_member(agency, role="supervisor", username="bench-sergeant",
                                   unit=patrol)  # fmt: skip
            set_unit_supervisors(administrator=admin, unit=patrol, memberships=[sergeant])
            for n in range(20):
                make_member(agency, username=f"bench-officer-{n}", unit=patrol)
            make_channel(agency, platform="x", name="Bench on X", administrator=admin)
            make_channel(agency, platform="mastodon", name="Bench on Mastodon",
                         administrator=admin)  # fmt: skip
        patrol = Unit.objects.get(name="Patrol")
        sergeant = Membership.objects.get(user__username="bench-sergeant")
        officers = list(Membership.objects.filter(user__username__startswith="bench-officer"))
        channels = list(Channel.objects.filter(agency=agency))
        have = Post.objects.filter(status=Post.Status.AWAITING_APPROVAL).count()
        now = timezone.now()
        batch = 2000
        for start in range(have, posts, batch):
            made = Post.objects.bulk_create([
                Post(agency=agency, author=officers[i % len(officers)],
                     status=Post.Status.AWAITING_APPROVAL,
                     text=f"Notice {i}: road closed on Elm St between 1st and 3rd until 5 pm. "
                          "Use Oak Ave. #traffic",
                     awaiting_unit=patrol, awaiting_since=now - timedelta(seconds=i),
                     submitted_at=now - timedelta(seconds=i),
                     approval_reasons=["The author may not publish to Bench on X without "
                                       "approval."])
                for i in range(start, min(start + batch, posts))
            ])  # fmt: skip
            Publication.objects.bulk_create([
                Publication(agency=agency, post=post, channel=channel,
                            idempotency_key=f"{post.pk}-{channel.pk}")
                for post in made for channel in channels
            ])  # fmt: skip
        return agency, Membership.objects.get(user__username="bench-admin"), sergeant


def measure(client, url_for, pages: int, requests: int, rng) -> list[float]:
    samples = []
    for _ in range(requests):
        url = url_for(rng.randint(1, pages))
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    migrate()
    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from posting.models import Post
    from posting.queue import QUEUE_PAGE_SIZE
    from smc.tenancy import agency_scope

    agency, admin, sergeant = seed(args.posts)
    with agency_scope(agency):
        waiting = Post.objects.filter(status=Post.Status.AWAITING_APPROVAL).count()
    pages = max(1, -(-waiting // QUEUE_PAGE_SIZE))
    base = reverse("posting:approval_queue")
    rng = random.Random(7)
    print(f"posts_waiting: {waiting} posts")

    figures = {}
    for who, member in (("administrator", admin), ("supervisor", sergeant)):
        client = Client(SERVER_NAME="localhost")
        client.force_login(member.user)
        client.get(base)  # warm: connection, templates, session
        figures[who] = measure(client, lambda page: f"{base}?page={page}", pages,
                               args.requests, rng)  # fmt: skip

    # The stack's fixed cost for comparison: a page of the same layout with nothing on it
    # (the administrator's notifications: none in the bench agency).
    empty = reverse("accounts:notification_list")
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin.user)
    client.get(empty)
    empty_samples = measure(client, lambda page: empty, 1, args.requests, rng)

    # The physical reference: the page's SQL, bare. Capture one request's statements and
    # re-run the queue's own (the longest one: the page select with its subqueries).
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin.user)
    page = pages // 2
    with CaptureQueriesContext(connection) as captured:
        client.get(f"{base}?page={page}")
    statements = [q["sql"] for q in captured.captured_queries]
    page_sql = max((s for s in statements if "posting_post" in s), key=len)
    reset_queries()
    sql_samples = []
    for _ in range(args.requests):
        with agency_scope(agency), connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(page_sql)
            cursor.fetchall()
            sql_samples.append((time.perf_counter() - started) * 1000)

    admin_p95, supervisor_p95 = p95(figures["administrator"]), p95(figures["supervisor"])
    sql_p95 = p95(sql_samples)
    print(f"queries_per_request: {len(statements)} queries")
    print(f"approval_queue_p50: {statistics.median(figures['administrator']):.1f} ms")
    print(f"approval_queue_p95: {admin_p95:.1f} ms")
    print(f"approval_queue_supervisor_p95: {supervisor_p95:.1f} ms")
    print(f"page_sql_p95: {sql_p95:.1f} ms")
    print(f"empty_page_p95: {p95(empty_samples):.1f} ms")
    print(f"approval_queue_to_sql_ratio: {admin_p95 / sql_p95:.1f} x")
    # The machine is shared: say how busy it was, so the figures can be read fairly.
    print(f"load_average_1m: {os.getloadavg()[0]:.1f} processes")


if __name__ == "__main__":
    main()
