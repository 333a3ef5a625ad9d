"""Publishing (P3, P4) in one process against the simulators: the claim, one attempt at
a time, and what each platform answer makes of a publication. The same code runs under
real workers in test_publishing_chaos.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from posting.models import Post, Publication
from posting.services import PostingError, publishing
from smc.errors import PermissionDenied
from smc.tenancy import agency_scope
from tests.factories import make_member
from tests.platforms.contract import SimClient
from tests.posting.publishing_world import (
    PUBLISH_PATHS,
    connect_channels,
    publications,
    released_post,
    remote_copies,
)


@pytest.fixture
def author(agency):
    return make_member(agency, role=Role.USER, username="olive")


@pytest.fixture
def pio(agency):
    return make_member(agency, role=Role.SUPERVISOR, username="pat")


def run_tick(now=None) -> list[str]:
    """What beat and a worker do: claim what is due, then one attempt per claim."""
    outcomes = []
    for claim in publishing.claim_due_publications(now=now):
        with agency_scope(claim.agency_id):
            outcomes.append(publishing.publish_publication(
                publication_id=claim.publication_id, lease_token=claim.lease_token))  # fmt: skip
    return outcomes


def later(seconds: float = 3600):
    return timezone.now() + timedelta(seconds=seconds)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_a_due_post_goes_out_once_on_every_channel_and_is_recorded(
    agency, author, simulated_platforms
):
    channels = connect_channels(agency, simulated_platforms)
    post = released_post(author, channels)
    assert post.status == Post.Status.SCHEDULED
    [scheduled] = events(Action.POST_SCHEDULED)
    assert sorted(scheduled.details["channels"]) == sorted(c.pk for c in channels)

    assert sorted(run_tick()) == ["published"] * 4

    assert remote_copies(simulated_platforms, post.text) == dict.fromkeys(PUBLISH_PATHS, 1)
    rows = publications(post)
    assert {p.status for p in rows} == {Publication.Status.PUBLISHED}
    assert all(p.platform_post_id and p.url.startswith("http") and p.attempts == 1 for p in rows)
    recorded = {e.details["platform_post_id"] for e in events(Action.PUBLICATION_PUBLISHED)}
    assert recorded == {p.platform_post_id for p in rows}
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert run_tick() == []  # nothing goes twice


def test_a_scheduled_post_waits_for_its_time(agency, author, simulated_platforms):
    [channel] = connect_channels(agency, simulated_platforms, ["mastodon"])
    post = released_post(author, [channel], publish_at=later(600))

    assert run_tick() == []
    assert remote_copies(simulated_platforms, post.text)["mastodon"] == 0
    assert run_tick(now=later(601)) == ["published"]
    assert remote_copies(simulated_platforms, post.text)["mastodon"] == 1


def test_a_publish_time_passed_while_awaiting_approval_goes_at_once(
    agency, author, simulated_platforms
):
    [channel] = connect_channels(agency, simulated_platforms, ["x"])
    post = released_post(author, [channel], publish_at=timezone.now() - timedelta(hours=2))
    [publication] = publications(post)
    assert publication.due_at >= post.publish_at + timedelta(hours=2) - timedelta(seconds=5)
    assert run_tick() == ["published"]


@pytest.mark.parametrize("platform", list(PUBLISH_PATHS))
def test_an_answer_lost_after_the_platform_accepted_is_looked_up_not_resent(
    agency, author, simulated_platforms, platform
):
    [channel] = connect_channels(agency, simulated_platforms, [platform])
    sim = SimClient(simulated_platforms[platform])
    sim.fault("POST", PUBLISH_PATHS[platform], mode="drop_after_commit")
    post = released_post(author, [channel])

    assert run_tick() == ["unknown"]
    [publication] = publications(post)
    assert publication.attempts == 1 and publication.platform_post_id == ""
    assert events(Action.PUBLICATION_UNKNOWN)
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHING
    assert run_tick() == []  # not before the look-up is due

    assert run_tick(now=later()) == ["published"]
    [publication] = publications(post)
    assert publication.attempts == 1  # found, not sent again
    assert remote_copies(simulated_platforms, post.text)[platform] == 1
    sent = [r for r in sim.requests(method="POST") if _is_publish(platform, r["path"])]
    assert len(sent) == 1


def _is_publish(platform: str, path: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(path, PUBLISH_PATHS[platform])


@pytest.mark.parametrize("platform", ["facebook", "x"])
def test_a_request_dropped_before_the_platform_saved_it_is_sent_again_after_a_look(
    agency, author, simulated_platforms, platform
):
    [channel] = connect_channels(agency, simulated_platforms, [platform])
    sim = SimClient(simulated_platforms[platform])
    sim.fault("POST", PUBLISH_PATHS[platform], mode="drop_before_commit")
    post = released_post(author, [channel])

    assert run_tick() == ["unknown"]
    assert remote_copies(simulated_platforms, post.text)[platform] == 0
    assert run_tick(now=later()) == ["published"]
    [publication] = publications(post)
    assert publication.attempts == 2
    assert remote_copies(simulated_platforms, post.text)[platform] == 1


def test_a_worker_lost_mid_attempt_is_swept_to_unknown_and_found(
    agency, author, simulated_platforms
):
    [channel] = connect_channels(agency, simulated_platforms, ["facebook"])
    post = released_post(author, [channel])
    [claim] = publishing.claim_due_publications()
    # The worker commits SENDING and the platform takes the post; then the worker dies.
    sending = publishing._begin_attempt(claim.publication_id, claim.lease_token)
    from platforms.credentials import get_adapter

    get_adapter(channel).publish(publishing.outgoing_post(sending))
    assert publishing.sweep_expired_leases() == 0  # its lease still runs

    assert publishing.sweep_expired_leases(now=later()) == 1
    [publication] = publications(post)
    assert publication.status == Publication.Status.UNKNOWN
    assert run_tick(now=later(2 * 3600)) == ["published"]
    assert remote_copies(simulated_platforms, post.text)["facebook"] == 1


def test_a_rate_limit_is_waited_out_without_sending(agency, author, simulated_platforms):
    [channel] = connect_channels(agency, simulated_platforms, ["x"])
    SimClient(simulated_platforms["x"]).fault("POST", "/2/tweets", mode="rate_limit",
                                              reset_in_s=120)  # fmt: skip
    post = released_post(author, [channel])

    assert run_tick() == ["queued"]
    [publication] = publications(post)
    assert publication.next_attempt_at > timezone.now() + timedelta(seconds=100)
    assert run_tick() == []
    assert remote_copies(simulated_platforms, post.text)["x"] == 0


def test_server_errors_are_looked_up_then_resent_until_it_gives_up(
    agency, author, pio, simulated_platforms, settings
):
    settings.SMC_PUBLISH_MAX_ATTEMPTS = 2
    [channel] = connect_channels(agency, simulated_platforms, ["mastodon"])
    sim = SimClient(simulated_platforms["mastodon"])
    sim.fault("POST", PUBLISH_PATHS["mastodon"], count=2, mode="error", status=503)
    post = released_post(author, [channel])

    # A 5xx on a write may have landed: unknown, looked up, then sent again.
    assert run_tick() == ["unknown"]
    assert run_tick(now=later()) == ["unknown"]
    assert run_tick(now=later(2 * 3600)) == ["failed"]
    [publication] = publications(post)
    assert publication.attempts == 2 and "not on the platform after 2" in publication.last_error
    [failed] = events(Action.PUBLICATION_FAILED)
    assert failed.reason == publication.last_error
    post.refresh_from_db()
    assert post.status == Post.Status.FAILED

    publishing.retry_publication(member=pio, publication=publication)
    assert [e.actor_id for e in events(Action.PUBLICATION_RETRIED)] == [pio.user_id]
    assert run_tick() == ["published"]
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert remote_copies(simulated_platforms, post.text)["mastodon"] == 1


def test_a_refusal_fails_with_the_platforms_reason(agency, author, simulated_platforms):
    channels = connect_channels(agency, simulated_platforms, ["x", "mastodon"])
    post = released_post(author, channels, text="Long update. " * 30)  # too long for X only

    assert sorted(run_tick()) == ["failed", "published"]
    failed = next(p for p in publications(post) if p.status == Publication.Status.FAILED)
    assert failed.channel.platform == "x" and "280" in failed.last_error
    post.refresh_from_db()
    assert post.status == Post.Status.FAILED  # not everywhere


def test_only_a_failed_publication_can_be_retried_and_only_by_supervisors(
    agency, author, pio, simulated_platforms
):
    [channel] = connect_channels(agency, simulated_platforms, ["bluesky"])
    post = released_post(author, [channel])
    run_tick()
    [publication] = publications(post)
    with pytest.raises(PostingError, match="Only a failed publication"):
        publishing.retry_publication(member=pio, publication=publication)
    with pytest.raises(PermissionDenied):
        publishing.delete_publication(member=author, publication=publication)
    assert publications(post)[0].status == Publication.Status.PUBLISHED
    assert not events(Action.PUBLICATION_DELETED)


@pytest.mark.parametrize("platform", list(PUBLISH_PATHS))
def test_a_published_post_is_deleted_from_its_platform(
    agency, author, pio, simulated_platforms, platform
):
    [channel] = connect_channels(agency, simulated_platforms, [platform])
    post = released_post(author, [channel])
    run_tick()
    [publication] = publications(post)

    publishing.delete_publication(member=pio, publication=publication)

    [publication] = publications(post)
    assert publication.status == Publication.Status.DELETED and publication.deleted_at
    assert remote_copies(simulated_platforms, post.text)[platform] == 0
    [deleted] = events(Action.PUBLICATION_DELETED)
    assert deleted.details["platform_post_id"] == publication.platform_post_id
    assert deleted.actor_id == pio.user_id


def test_a_delete_the_platform_does_not_answer_changes_nothing(
    agency, author, pio, simulated_platforms
):
    [channel] = connect_channels(agency, simulated_platforms, ["x"])
    post = released_post(author, [channel])
    run_tick()
    [publication] = publications(post)
    SimClient(simulated_platforms["x"]).fault("DELETE", "/2/tweets/*", mode="error", status=503)

    with pytest.raises(PostingError, match="try again"):
        publishing.delete_publication(member=pio, publication=publication)
    assert publications(post)[0].status == Publication.Status.PUBLISHED
    assert remote_copies(simulated_platforms, post.text)["x"] == 1


def test_a_burst_waits_in_the_database_not_in_the_broker(agency, author, simulated_platforms):
    [channel] = connect_channels(agency, simulated_platforms, ["mastodon"])
    for _ in range(3):
        released_post(author, [channel])

    first = publishing.claim_due_publications(limit=2)
    assert len(first) == 2
    assert publishing.claim_due_publications(limit=2) == []  # two handed out, none started
    with agency_scope(agency):
        publishing.publish_publication(publication_id=first[0].publication_id,
                                       lease_token=first[0].lease_token)  # fmt: skip
    [third] = publishing.claim_due_publications(limit=2)
    assert third.publication_id not in {c.publication_id for c in first}
    # A lost message: the lease runs out and the row is handed out again, with a new token.
    reclaimed = publishing.claim_due_publications(now=later(), limit=2)
    assert first[1].publication_id in {c.publication_id for c in reclaimed}
    with agency_scope(agency):
        stale = publishing.publish_publication(
            publication_id=first[1].publication_id, lease_token=first[1].lease_token
        )
    assert stale == "not ours"


def test_workers_ack_late_and_stop_before_their_lease_and_the_broker_redelivers():
    from django.conf import settings

    from posting.tasks import publish_publication
    from smc.celery import app

    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    lease = settings.SMC_PUBLISH_LEASE_SECONDS
    assert publish_publication.soft_time_limit < publish_publication.time_limit < lease
    assert lease < app.conf.broker_transport_options["visibility_timeout"]
    assert app.conf.task_time_limit < app.conf.broker_transport_options["visibility_timeout"]


def _add_photo(post, name: str, data: bytes | None):
    from django.core.files.base import ContentFile

    from posting.models import PostPhoto

    with agency_scope(post.agency_id):
        photo = PostPhoto(agency_id=post.agency_id, post=post, upload_key=name,
                          content_type="image/png", cleaned_sha256="0" * 64)  # fmt: skip
        if data is None:
            photo.original.name = photo.cleaned.name = f"posts/{post.agency_id}/missing"
        else:
            photo.original.save(f"{name}-original", ContentFile(data), save=False)
            photo.cleaned.save(f"{name}-cleaned", ContentFile(data), save=False)
        photo.save()


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c"
    "6360000002000154a24f5d0000000049454e44ae426082"
)


def test_the_posts_cleaned_photos_go_with_it(agency, author, simulated_platforms, settings,
                                             tmp_path):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path
    [channel] = connect_channels(agency, simulated_platforms, ["mastodon"])
    post = released_post(author, [channel])
    _add_photo(post, "a", PNG)

    assert run_tick() == ["published"]
    uploads = SimClient(simulated_platforms["mastodon"]).requests(method="POST",
                                                                  path="/api/v2/media")  # fmt: skip
    assert len(uploads) == 1


def test_a_photo_missing_from_storage_fails_without_sending(agency, author, simulated_platforms,
                                                           settings, tmp_path):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path
    [channel] = connect_channels(agency, simulated_platforms, ["x"])
    post = released_post(author, [channel])
    _add_photo(post, "gone", None)

    assert run_tick() == ["failed"]
    [publication] = publications(post)
    assert "could not be read" in publication.last_error
    assert SimClient(simulated_platforms["x"]).requests(method="POST", path="/2/tweets") == []


def test_an_unqueued_post_is_not_sent_even_by_a_task_already_handed_out(
    agency, author, simulated_platforms
):
    channels = connect_channels(agency, simulated_platforms, ["x", "mastodon"])
    post = released_post(author, channels)
    claims = publishing.claim_due_publications()
    with agency_scope(agency):  # the X one goes out before the edit
        x_claim = next(c for c in claims if Publication.objects.get(pk=c.publication_id)
                       .channel.platform == "x")  # fmt: skip
        publishing.publish_publication(publication_id=x_claim.publication_id,
                                       lease_token=x_claim.lease_token)  # fmt: skip
        post.refresh_from_db()
        not_stopped = publishing.unqueue_publications(post=post)
    assert [p.channel.platform for p in not_stopped] == ["x"]

    with agency_scope(agency):
        outcomes = [publishing.publish_publication(publication_id=c.publication_id,
                                                   lease_token=c.lease_token)
                    for c in claims if c is not x_claim]  # fmt: skip
    assert outcomes == ["not ours"]
    assert {p.channel.platform: p.status for p in publications(post)} == {
        "x": Publication.Status.PUBLISHED, "mastodon": Publication.Status.WAITING}  # fmt: skip
    assert remote_copies(simulated_platforms, post.text)["mastodon"] == 0
    assert run_tick(now=later()) == []
