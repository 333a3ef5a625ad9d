"""Issue 6, bad input: a malformed webhook, a bad signature, a comment of 100,000
characters, text that is not valid UTF-8 and a flood of 10,000 comments in a minute,
all arriving among ordinary comments. None breaks the ingest or loses another comment,
and each is recorded. Against the Facebook simulator; nothing of SMC is patched."""

import json

import pytest

from audit.actions import Action
from audit.models import AuditEvent
from moderation import ingest, selectors
from moderation.models import Comment, CommentVersion
from smc.tenancy import every_agency
from tests.moderation.test_ingest import comment_on, connect_page, publish
from tests.moderation.test_ingest_webhook import URL, deliver, feed_event, signed
from tests.platforms.contract import SimClient


@pytest.fixture
def page(agency, simulated_platforms, settings):
    settings.SMC_FACEBOOK_WEBHOOK_VERIFY_TOKEN = "our-verify-token"
    channel = connect_page(agency, simulated_platforms["facebook"])
    channel.sim = SimClient(simulated_platforms["facebook"])
    channel.post_id = publish(channel, "Main St reopens at 6 pm")
    return channel


def installation_refusals() -> list[str]:
    with every_agency():
        found = AuditEvent.objects.filter(agency_id=None).order_by("seq")
        return list(found.values_list("action", flat=True))


def test_bad_input_among_ordinary_comments_loses_nothing_and_is_recorded(client, page, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200_000
    before = comment_on(page.sim, page.post_id, "Is the detour still on?")
    good = feed_event(page.platform_account_id, comment_id=before["id"])

    # The bad deliveries, each answered and recorded; the good one still gets through.
    assert deliver(client, good, signed(good, "not-our-secret")).status_code == 403
    assert deliver(client, b"\xff\xfe{not utf-8", signed(b"\xff\xfe{not utf-8")).status_code == 400
    shapeless = json.dumps({"object": "page", "entry": [{"id": 1, "changes": [7]}]}).encode()
    assert deliver(client, shapeless, signed(shapeless)).status_code == 400
    oversized = json.dumps({"object": "page", "entry": [], "pad": "x" * 300_000}).encode()
    assert client.post(URL, oversized, content_type="application/json",
                       HTTP_X_HUB_SIGNATURE_256=signed(oversized)).status_code == 413  # fmt: skip
    assert deliver(client, good, signed(good)).status_code == 200

    # The bad comments, archived repaired or cut, between ordinary ones.
    huge = comment_on(page.sim, page.post_id, "y" * 100_000)
    broken = comment_on(page.sim, page.post_id, "caf\udce9 \x00 au lait")
    after = comment_on(page.sim, page.post_id, "Thanks for the update")
    ingest.poll_channel(channel=page)

    texts = dict(Comment.objects.values_list("platform_comment_id", "text"))
    assert texts[before["id"]] == "Is the detour still on?"
    assert texts[after["id"]] == "Thanks for the update"
    assert texts[broken["id"]] == "caf\ufffd \ufffd au lait"
    assert len(texts[huge["id"]]) == settings.SMC_COMMENT_MAX_CHARS
    assert CommentVersion.objects.filter(decision_category="").count() == 0
    assert installation_refusals() == [
        Action.WEBHOOK_SIGNATURE_REFUSED, Action.WEBHOOK_MALFORMED, Action.WEBHOOK_MALFORMED,
        Action.WEBHOOK_MALFORMED,
    ]  # fmt: skip
    recorded = AuditEvent.objects.filter(
        action__in=[Action.COMMENT_TRUNCATED, Action.COMMENT_REPAIRED]
    ).values_list("action", "details__platform_comment_id")
    assert sorted(recorded) == sorted(
        [(Action.COMMENT_TRUNCATED, huge["id"]), (Action.COMMENT_REPAIRED, broken["id"])]
    )
    state = selectors.poll_state(channel=page)
    assert (state.last_error, state.consecutive_failures) == ("", 0)


def test_a_flood_of_ten_thousand_comments_in_a_minute_polled_as_it_comes(page, simulated_platforms):
    """10,000 comments over one (simulated) minute with a poll every ten seconds: the
    watermark's overlap re-reads some, the archive keeps each exactly once."""
    simulator = simulated_platforms.simulators["facebook"]
    written = 0
    for chunk in (1667, 1667, 1667, 1667, 1666, 1666):
        with simulator.lock:
            for n in range(written, written + chunk):
                simulator.inject({"target": page.post_id, "text": f"flood {n}",
                                  "author": {"name": f"P{n % 300}"}})  # fmt: skip
        written += chunk
        page.sim.post("/_sim/clock", {"advance_s": 10})
        ingest.poll_channel(channel=page)

    assert written == 10_000
    assert Comment.objects.count() == 10_000
    assert CommentVersion.objects.count() == 10_000
    assert set(CommentVersion.objects.values_list("kind", flat=True)) == {"created"}
    texts = set(Comment.objects.values_list("text", flat=True))
    assert texts == {f"flood {n}" for n in range(10_000)}


def test_a_payload_is_stored_as_it_came_unless_postgresql_would_refuse_it(settings):
    plain = {"id": "1_2", "message": "Thanks 🚒", "from": {"id": 7}, "tags": [1.5, None]}
    assert ingest.storable(plain) is plain
    settings.SMC_COMMENT_MAX_CHARS = 50
    hostile = {"a": "nul \x00", "b": ["lone \ud800"], "c": float("nan"), "d": "z" * 60}
    assert ingest.storable(hostile) == {
        "a": "nul \ufffd", "b": ["lone \ufffd"], "c": "nan", "d": "z" * 50 + "…[cut by SMC]"
    }  # fmt: skip
    spelled = {"message": "a comment that types \\u0000 out"}
    assert ingest.storable(spelled) == spelled
