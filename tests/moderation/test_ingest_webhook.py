"""M1 Facebook webhook (platform-apis.md §1.4): the handshake, signatures checked before
anything is read, bad deliveries refused and recorded, and good ones turned into polls
and deletion versions by a real worker."""

import hashlib
import hmac
import json

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from moderation import ingest, selectors
from moderation.models import CommentVersion
from platforms.adapters.base import OutgoingPost
from platforms.demo import connect_through_simulator
from platforms.services import call_platform
from smc.tenancy import agency_scope, every_agency
from tests.conftest import simulator_settings, wait_for
from tests.factories import make_agency, make_member
from tests.platforms.contract import SimClient

URL = "/moderation/webhooks/facebook/"
SECRET = "sim-secret"  # the simulators' Facebook app secret (SMC_OAUTH_CLIENTS)


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(client, body: bytes, signature: str | None = None):
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature} if signature else {}
    return client.post(URL, body, content_type="application/json", **headers)


def feed_event(page_id: str, verb: str = "add", comment_id: str = "987_654") -> bytes:
    value = {"item": "comment", "verb": verb, "comment_id": comment_id,
             "post_id": f"{page_id}_987", "from": {"id": "5550001", "name": "Pat Q"},
             "message": "When will Main St reopen?", "created_time": 1785585600}  # fmt: skip
    entry = {"id": page_id, "time": 1785585600, "changes": [{"field": "feed", "value": value}]}
    event = {"object": "page", "entry": [entry]}
    return json.dumps(event).encode()


def refusals(action: str) -> list[AuditEvent]:
    # Refusals are recorded in the installation's chain: before the body is trusted,
    # no agency is known.
    with every_agency():
        return list(AuditEvent.objects.filter(action=action, agency_id=None))


@pytest.fixture
def webhook_settings(settings, simulated_platforms):
    settings.SMC_FACEBOOK_WEBHOOK_VERIFY_TOKEN = "our-verify-token"
    return settings


def test_the_handshake_echoes_the_challenge_only_for_our_token(client, db, webhook_settings):
    answer = client.get(URL, {"hub.mode": "subscribe", "hub.challenge": "c4ll3nge",
                              "hub.verify_token": "our-verify-token"})  # fmt: skip
    assert answer.status_code == 200
    assert answer.content == b"c4ll3nge"
    wrong = client.get(URL, {"hub.mode": "subscribe", "hub.challenge": "c4ll3nge",
                             "hub.verify_token": "guessed"})  # fmt: skip
    assert wrong.status_code == 403
    assert b"c4ll3nge" not in wrong.content


def test_without_a_configured_token_no_handshake_succeeds(client, db, settings):
    settings.SMC_FACEBOOK_WEBHOOK_VERIFY_TOKEN = ""
    answer = client.get(URL, {"hub.mode": "subscribe", "hub.challenge": "x",
                              "hub.verify_token": ""})  # fmt: skip
    assert answer.status_code == 403


def test_a_bad_signature_is_refused_and_recorded(client, db, webhook_settings):
    body = feed_event("1122334455")
    assert deliver(client, body, signed(body, "not-our-secret")).status_code == 403
    assert deliver(client, body).status_code == 403
    [first, second] = refusals(Action.WEBHOOK_SIGNATURE_REFUSED)
    assert first.details["sha256"] == hashlib.sha256(body).hexdigest()
    # A refused delivery does not stop the next good one.
    assert deliver(client, body, signed(body)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"object": "page", "entry": "no"}', b"\xff\xfe\x00 not utf-8", b"[]"],
    ids=["not-json", "bad-shape", "not-utf-8", "not-an-object"],
)
def test_a_malformed_delivery_is_refused_and_recorded(client, db, webhook_settings, body):
    assert deliver(client, body, signed(body)).status_code == 400
    [refusal] = refusals(Action.WEBHOOK_MALFORMED)
    assert refusal.details["bytes"] == len(body)


def test_an_oversized_delivery_is_refused_unread_and_recorded(client, db, webhook_settings):
    webhook_settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"object": "page", "entry": [], "padding": "x" * 5000}).encode()
    assert deliver(client, body, signed(body)).status_code == 413
    [refusal] = refusals(Action.WEBHOOK_MALFORMED)
    assert refusal.details["bytes"] == len(body)


def test_a_signed_delivery_asks_for_a_poll_of_the_page(
    client, agency, simulated_platforms, webhook_settings
):
    admin = make_member(agency, role=Role.ADMINISTRATOR)
    [channel], _ = connect_through_simulator(
        administrator=admin, platform="facebook", sim_url=simulated_platforms["facebook"],
        display_name="Metro Police", handle="metropd",
    )  # fmt: skip
    body = feed_event(channel.platform_account_id)

    assert deliver(client, body, signed(body)).status_code == 200

    state = selectors.poll_state(channel=channel)
    assert state.next_poll_at <= timezone.now()
    assert state.hinted_at is not None
    assert state.lease_token  # claimed for the poll the view queued
    # A second hint while that poll is queued claims nothing more: polls coalesce.
    with agency_scope(agency):
        assert ingest.hint_channel(channel=channel) == ""


@pytest.fixture
def worker_environment(simulated_platforms):
    return {
        **simulator_settings(simulated_platforms),
        "SMC_FACEBOOK_CLIENT_ID": "sim-client",
        "SMC_FACEBOOK_CLIENT_SECRET": SECRET,
    }


def test_facebook_notifications_reach_the_archive_through_a_worker(
    simulated_platforms, webhook_settings, live_server, celery_worker
):
    agency = make_agency(name="Metro Police", slug="metro")
    admin = make_member(agency, role=Role.ADMINISTRATOR)
    sim = SimClient(simulated_platforms["facebook"])
    with agency_scope(agency):
        [channel], _ = connect_through_simulator(
            administrator=admin, platform="facebook", sim_url=simulated_platforms["facebook"],
            display_name="Metro Police", handle="metropd",
        )  # fmt: skip
        post_id = call_platform(
            channel, lambda a: a.publish(OutgoingPost(text="Main St reopens at 6 pm"))
        ).platform_post_id
    # The simulator runs the hub.challenge handshake against our callback here.
    sim.post("/_sim/webhooks", {"callback_url": live_server.url + URL,
                                "verify_token": "our-verify-token", "app_secret": SECRET},
             expect=200)  # fmt: skip

    posted = sim.post("/_sim/inject", {"target": post_id, "text": "When will it reopen?",
                                       "author": {"name": "Pat Q"}}, expect=201)  # fmt: skip

    def archived(kind):
        def check():
            with agency_scope(agency):
                return CommentVersion.objects.filter(
                    comment__platform_comment_id=posted["id"], kind=kind
                ).exists()

        return check

    wait_for(archived(CommentVersion.Kind.CREATED), what="the worker to archive the comment",
             process=celery_worker)  # fmt: skip

    with agency_scope(agency):
        call_platform(channel, lambda a: a.delete_comment(posted["id"]))
    wait_for(archived(CommentVersion.Kind.DELETED), what="the deletion to be archived",
             process=celery_worker)  # fmt: skip
    with agency_scope(agency):
        kinds = list(
            CommentVersion.objects.filter(comment__platform_comment_id=posted["id"])
            .order_by("seq")
            .values_list("kind", "text")
        )
    assert kinds == [("created", "When will it reopen?"), ("deleted", "When will it reopen?")]


@pytest.fixture
def old_hidden_comment(agency, simulated_platforms):
    """A comment archived an hour ago, since hidden on Facebook where a read from the
    cursor no longer reaches it."""
    admin = make_member(agency, role=Role.ADMINISTRATOR)
    sim = SimClient(simulated_platforms["facebook"])
    [channel], _ = connect_through_simulator(
        administrator=admin, platform="facebook", sim_url=simulated_platforms["facebook"],
        display_name="Metro Police", handle="metropd",
    )  # fmt: skip
    post_id = call_platform(
        channel, lambda a: a.publish(OutgoingPost(text="Main St reopens at 6 pm"))
    ).platform_post_id
    posted = sim.post("/_sim/inject", {"target": post_id, "text": "Old comment",
                                       "author": {"name": "Pat Q"}}, expect=201)  # fmt: skip
    sim.post("/_sim/clock", {"advance_s": 3600})
    sim.post("/_sim/inject", {"target": post_id, "text": "New comment",
                              "author": {"name": "Sam R"}}, expect=201)  # fmt: skip
    ingest.poll_channel(channel=channel)
    call_platform(channel, lambda a: a.hide_comment(posted["id"]))
    ingest.poll_channel(channel=channel)
    old = selectors.channel_comments(channel=channel).get(platform_comment_id=posted["id"])
    assert old.version_count == 1
    channel.sim, channel.post_id = sim, post_id
    return channel, old


def edit_notice(channel, comment_id):
    body = feed_event(channel.platform_account_id, verb="edited", comment_id=comment_id)
    return ingest.receive_facebook_webhook(body=body, signature=signed(body))


def test_an_edit_notice_archives_facebooks_own_copy_of_that_comment(old_hidden_comment):
    channel, old = old_hidden_comment
    answer = edit_notice(channel, old.platform_comment_id)
    [(agency_id, channel_id, comment_id, post_id)] = answer.reads
    assert (agency_id, channel_id, comment_id) == (channel.agency_id, channel.pk,
                                                   old.platform_comment_id)  # fmt: skip

    ingest.archive_hinted_comment(channel=channel, platform_comment_id=comment_id,
                                  post_id=post_id)  # fmt: skip

    old.refresh_from_db()
    versions = list(selectors.comment_versions(comment=old))
    assert [v.kind for v in versions] == ["created", "hidden"]
    # Facebook's copy, not the notification's message ("When will Main St reopen?").
    assert versions[1].text == "Old comment" and versions[1].raw["is_hidden"] is True
    # One read by id: no re-read of the whole watched window is needed.
    assert not selectors.poll_state(channel=channel).full_read_requested


def test_when_facebook_cannot_be_asked_the_next_poll_reads_the_window_again(old_hidden_comment):
    channel, old = old_hidden_comment
    channel.sim.fault("GET", f"/{old.platform_comment_id}", mode="error", status=500)
    [(_, _, comment_id, post_id)] = edit_notice(channel, old.platform_comment_id).reads

    assert ingest.archive_hinted_comment(channel=channel, platform_comment_id=comment_id,
                                         post_id=post_id) is None  # fmt: skip
    assert selectors.poll_state(channel=channel).full_read_requested
    ingest.poll_channel(channel=channel)

    old.refresh_from_db()
    assert [v.kind for v in selectors.comment_versions(comment=old)] == ["created", "hidden"]
    assert not selectors.poll_state(channel=channel).full_read_requested


def test_a_flood_of_edit_notices_becomes_one_window_read(old_hidden_comment):
    channel, _old = old_hidden_comment
    changes = [{"field": "feed", "value": {"item": "comment", "verb": "edited",
                                           "comment_id": f"987_{n}", "post_id": "1_2"}}
               for n in range(ingest.READS_PER_DELIVERY + 1)]  # fmt: skip
    body = json.dumps({"object": "page", "entry": [
        {"id": channel.platform_account_id, "changes": changes}]}).encode()  # fmt: skip
    answer = ingest.receive_facebook_webhook(body=body, signature=signed(body))
    assert answer.status == 200 and answer.reads == ()
    assert selectors.poll_state(channel=channel).full_read_requested


def test_a_flood_of_notifications_coalesces_into_one_poll(agency, simulated_platforms):
    admin = make_member(agency, role=Role.ADMINISTRATOR)
    [channel], _ = connect_through_simulator(
        administrator=admin, platform="facebook", sim_url=simulated_platforms["facebook"],
        display_name="Metro Police", handle="metropd",
    )  # fmt: skip
    answers = []
    for n in range(500):
        body = feed_event(channel.platform_account_id, comment_id=f"987_{n}")
        answers.append(ingest.receive_facebook_webhook(body=body, signature=signed(body)))

    assert {a.status for a in answers} == {200}
    assert sum(len(a.polls) for a in answers) == 1
