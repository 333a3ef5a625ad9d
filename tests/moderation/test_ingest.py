"""M1 ingest: every comment archived once, changes as new versions, nothing lost when a
poll fails, the cursor moving only with its comments, and fair polling across agencies.
Against the platform simulators; nothing of SMC is patched."""

import dataclasses
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from moderation import ingest, selectors
from moderation.models import ChannelPoll, Comment, CommentVersion
from platforms.adapters.base import CommentBatch, OutgoingPost
from platforms.demo import connect_through_simulator
from platforms.services import call_platform
from smc.tenancy import agency_scope
from tests.factories import make_agency, make_member
from tests.platforms.contract import SimClient


def connect_page(agency, sim_url: str, name: str = "Metro Police"):
    admin = make_member(agency, role=Role.ADMINISTRATOR)
    [channel], _ = connect_through_simulator(
        administrator=admin, platform="facebook", sim_url=sim_url,
        display_name=name, handle=name.lower().replace(" ", ""),
    )  # fmt: skip
    return channel


def publish(channel, text: str) -> str:
    return call_platform(channel, lambda a: a.publish(OutgoingPost(text=text))).platform_post_id


def comment_on(sim: SimClient, post_id: str, text: str, author: str = "Pat Q") -> dict:
    payload = {"target": post_id, "text": text, "author": {"name": author, "handle": author}}
    return sim.post("/_sim/inject", payload, expect=201)


@pytest.fixture
def page(agency, simulated_platforms):
    channel = connect_page(agency, simulated_platforms["facebook"])
    channel.sim = SimClient(simulated_platforms["facebook"])
    channel.post_id = publish(channel, "Main St reopens at 6 pm")
    return channel


def versions_of(channel, platform_comment_id: str) -> list[CommentVersion]:
    comment = selectors.channel_comments(channel=channel).get(
        platform_comment_id=platform_comment_id
    )
    return list(selectors.comment_versions(comment=comment))


def test_a_poll_archives_each_comment_once_however_often_it_is_read(page):
    first = comment_on(page.sim, page.post_id, "When will Main St reopen?")
    comment_on(page.sim, page.post_id, "Thanks for the update", author="Sam R")

    outcome = ingest.poll_channel(channel=page)
    assert outcome.archived.created == 2
    again = ingest.poll_channel(channel=page)
    assert (again.archived.created, again.archived.changed) == (0, 0)

    comments = selectors.channel_comments(channel=page)
    assert comments.count() == 2
    assert CommentVersion.objects.count() == 2
    [version] = versions_of(page, first["id"])
    assert version.kind == CommentVersion.Kind.CREATED
    assert version.text == "When will Main St reopen?"
    assert version.normalized_text == "when will main st reopen?"
    assert version.raw["id"] == first["id"]
    archived = comments.get(platform_comment_id=first["id"])
    assert (archived.author_name, archived.platform_post_id) == ("Pat Q", page.post_id)
    assert selectors.poll_state(channel=page).cursor is not None
    page.refresh_from_db()
    assert page.last_sync_at is not None


def test_changes_seen_on_the_platform_become_versions_and_nothing_is_overwritten(page):
    posted = comment_on(page.sim, page.post_id, "Main St is a mess")
    ingest.poll_channel(channel=page)
    call_platform(page, lambda adapter: adapter.hide_comment(posted["id"]))
    ingest.poll_channel(channel=page)

    # An edit seen in a later read of the platform.
    batch = call_platform(page, lambda adapter: adapter.fetch_comments(since=None))
    edited = [
        dataclasses.replace(c, text="Main St is a mess (edited)")
        for c in batch.comments
        if c.platform_comment_id == posted["id"]
    ]
    ingest.archive_comments(channel=page, batch=CommentBatch(edited, batch.cursor))
    ingest.archive_removal(channel=page, platform_comment_id=posted["id"], raw={"verb": "remove"})

    versions = versions_of(page, posted["id"])
    assert [(v.seq, v.kind, v.text, v.is_hidden) for v in versions] == [
        (1, "created", "Main St is a mess", False),
        (2, "hidden", "Main St is a mess", True),
        (3, "edited", "Main St is a mess (edited)", True),
        (4, "deleted", "Main St is a mess (edited)", True),
    ]
    comment = selectors.channel_comments(channel=page).get(platform_comment_id=posted["id"])
    assert comment.is_deleted and comment.version_count == 4


def test_a_failed_poll_moves_no_cursor_and_loses_no_comment(page):
    second_post = publish(page, "Road closure on 5th")
    comment_on(page.sim, page.post_id, "First post comment")
    comment_on(page.sim, second_post, "Second post comment")
    # The platform fails half-way through the read: after the first post's comments.
    page.sim.fault("GET", f"/{second_post}/comments", mode="error", status=500)

    failed = ingest.poll_channel(channel=page)

    assert failed.error
    assert not Comment.objects.exists()
    state = selectors.poll_state(channel=page)
    assert state.cursor is None
    assert state.consecutive_failures == 1
    assert state.next_poll_at > timezone.now()
    assert state.last_error

    ingest.poll_channel(channel=page)
    texts = set(selectors.channel_comments(channel=page).values_list("text", flat=True))
    assert texts == {"First post comment", "Second post comment"}
    assert selectors.poll_state(channel=page).consecutive_failures == 0


def test_the_cursor_moves_only_when_its_comments_commit(page):
    comment_on(page.sim, page.post_id, "Is the bridge open?")
    batch = call_platform(page, lambda adapter: adapter.fetch_comments(since=None))
    assert batch.cursor

    # The worker dies after writing, before the commit.
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest.archive_comments(channel=page, batch=batch)
        raise RuntimeError("worker lost")

    assert not Comment.objects.exists()
    state = selectors.poll_state(channel=page)
    assert state is None or state.cursor is None
    # The batch is read again from the old cursor, and archived once.
    ingest.poll_channel(channel=page)
    ingest.poll_channel(channel=page)
    assert Comment.objects.get().text == "Is the bridge open?"
    assert selectors.poll_state(channel=page).cursor is not None


def test_huge_and_invalid_text_is_archived_recorded_and_spares_its_neighbours(page, settings):
    settings.SMC_COMMENT_MAX_CHARS = 65536
    huge = comment_on(page.sim, page.post_id, "x" * 100_000)
    broken = comment_on(page.sim, page.post_id, "bad \ud800 bytes \x00 here")
    comment_on(page.sim, page.post_id, "A plain neighbour")

    ingest.poll_channel(channel=page)

    assert Comment.objects.count() == 3
    [cut] = versions_of(page, huge["id"])
    assert (len(cut.text), cut.text_length, cut.text_truncated) == (65536, 100_000, True)
    [fixed] = versions_of(page, broken["id"])
    assert fixed.text == "bad \ufffd bytes \ufffd here"
    assert fixed.text_repaired
    assert AuditEvent.objects.filter(action=Action.COMMENT_TRUNCATED).count() == 1
    assert AuditEvent.objects.filter(action=Action.COMMENT_REPAIRED).count() == 1
    assert selectors.channel_comments(channel=page).filter(text="A plain neighbour").exists()


def test_a_flood_of_ten_thousand_comments_is_archived(page, simulated_platforms):
    simulator = simulated_platforms.simulators["facebook"]
    with simulator.lock:
        for n in range(10_000):
            simulator.inject(
                {"target": page.post_id, "text": f"comment {n}", "author": {"name": f"P{n}"}}
            )

    outcome = ingest.poll_channel(channel=page)

    assert outcome.archived.created == 10_000
    assert Comment.objects.count() == 10_000
    assert CommentVersion.objects.count() == 10_000
    assert ingest.poll_channel(channel=page).archived.created == 0


def test_polling_serves_the_longest_overdue_channels_of_every_agency_first(
    agency, simulated_platforms
):
    sim_url = simulated_platforms["facebook"]
    riverside = make_agency(name="Riverside Fire", slug="riverside-fire")
    mine = [connect_page(agency, sim_url, name) for name in ("Metro A", "Metro B")]
    with agency_scope(riverside):
        theirs = connect_page(riverside, sim_url, "Riverside")
    now = timezone.now()
    ingest.claim_due_channels(now=now - timedelta(hours=1))  # polling rows appear

    overdue = {mine[0].pk: 10, theirs.pk: 30, mine[1].pk: -60}  # seconds overdue
    for channel_id, seconds in overdue.items():
        agency_id = theirs.agency_id if channel_id == theirs.pk else agency.pk
        with agency_scope(agency_id):
            ChannelPoll.objects.filter(channel_id=channel_id).update(
                next_poll_at=now - timedelta(seconds=seconds), leased_until=None
            )

    first = ingest.claim_due_channels(now=now, per_platform=1)
    second = ingest.claim_due_channels(now=now, per_platform=1)
    third = ingest.claim_due_channels(now=now, per_platform=1)

    assert [c.channel_id for c in first] == [theirs.pk]
    assert [c.channel_id for c in second] == [mine[0].pk]
    assert third == []  # Metro B is not due yet; the others are leased


def test_a_failing_channel_backs_off_without_holding_up_the_others(agency, simulated_platforms):
    sim_url = simulated_platforms["facebook"]
    sim = SimClient(sim_url)
    failing, healthy = (connect_page(agency, sim_url, n) for n in ("Metro A", "Metro B"))
    ingest.claim_due_channels(now=timezone.now() - timedelta(hours=1))
    sim.fault("GET", f"/{failing.platform_account_id}/posts", count=5, mode="error", status=500)

    claims = ingest.claim_due_channels(now=timezone.now())
    assert {c.channel_id for c in claims} == {failing.pk, healthy.pk}
    for claim in claims:
        channel = selectors.channel_for_ingest(claim.channel_id)
        ingest.poll_channel(channel=channel, lease_token=claim.lease_token)

    backed_off = selectors.poll_state(channel=failing)
    assert backed_off.consecutive_failures == 1
    assert backed_off.next_poll_at > timezone.now()
    assert backed_off.leased_until is None
    fine = selectors.poll_state(channel=healthy)
    assert fine.consecutive_failures == 0 and fine.last_success_at is not None

    # At the failing channel's retry time it is due again, and only then.
    assert ingest.claim_due_channels(now=timezone.now()) == []
    later = ingest.claim_due_channels(now=backed_off.next_poll_at + timedelta(seconds=1))
    assert [c.channel_id for c in later] == [failing.pk]


def test_a_stale_lease_does_not_poll(page):
    comment_on(page.sim, page.post_id, "Hello")
    assert ingest.poll_channel(channel=page, lease_token="not-the-lease").skipped
    assert not Comment.objects.exists()


def test_another_agency_sees_none_of_the_archive(page, other_agency):
    comment_on(page.sim, page.post_id, "Only Metro may read this")
    ingest.poll_channel(channel=page)
    assert selectors.channel_comments(channel=page).count() == 1

    with agency_scope(other_agency):
        assert not Comment.objects.exists()
        assert not CommentVersion.objects.exists()
        assert not ChannelPoll.objects.exists()
        assert selectors.channel_comments(channel=page).count() == 0
        assert selectors.poll_state(channel=page) is None


def test_an_administrator_sets_how_often_a_channel_is_read(page, agency):
    admin = make_member(agency, role=Role.ADMINISTRATOR, username="pat")
    officer = make_member(agency, role=Role.USER, username="kim")

    state = ingest.set_poll_interval(administrator=admin, channel=page, seconds=300)

    assert state.interval_s == 300
    event = AuditEvent.objects.get(action=Action.POLL_INTERVAL_CHANGED)
    assert event.details["to_s"] == 300
    with pytest.raises(ingest.IngestError, match="Choose between 10 seconds and 86400"):
        ingest.set_poll_interval(administrator=admin, channel=page, seconds=1)
    with pytest.raises(ingest.IngestError, match="Only an administrator"):
        ingest.set_poll_interval(administrator=officer, channel=page, seconds=120)
    ingest.poll_channel(channel=page)
    after = selectors.poll_state(channel=page)
    assert after.next_poll_at - after.last_polled_at == timedelta(seconds=300)


def test_every_archived_comment_carries_the_policy_decision(page):
    profane = comment_on(page.sim, page.post_id, "What a load of sh1t, fix the road")
    critical = comment_on(page.sim, page.post_id, "This department is incompetent. Do better.")
    threat = comment_on(page.sim, page.post_id, "I'm going to burn down the station tonight")
    ingest.poll_channel(channel=page)

    [version] = versions_of(page, profane["id"])
    assert (version.decision_category, version.decision_action) == ("profanity", "hide")
    assert version.decision_rule.startswith("profanity.")
    # The span points into the text exactly as posted.
    assert version.text[version.decision_start : version.decision_end].lower() == "sh1t"
    assert version.decision_explanation and version.policy_name == "default"

    [version] = versions_of(page, critical["id"])
    # M5: criticism is never a violation.
    assert (version.decision_category, version.decision_action) == ("clean", "allow")

    [version] = versions_of(page, threat["id"])
    assert (version.decision_category, version.decision_action) == ("threat", "escalate")
