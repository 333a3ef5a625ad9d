"""The review queue, a comment's page, the policy page and alerts, over HTTP: who may
read and who may act, escaped comment text, bad input refused with nothing changed."""

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.notifications import notify
from audit.actions import Action
from audit.models import AuditEvent
from moderation import actions, policies
from moderation.models import CommentPolicy, Hold, ModerationAction
from tests.factories import make_member
from tests.moderation.test_actions import comment, connect, on_platform, poll_and_act

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def held(agency, simulated_platforms):
    """Three comments held by the hold switch and hidden on the Facebook simulator."""
    page = connect(agency, simulated_platforms)
    switcher = make_member(agency, role=Role.ADMINISTRATOR, username="chief")
    policies.set_hold_switch(editor=switcher, on=True)
    for text in ("Is the road open?", XSS, "Thanks, crew"):
        comment(page, text)
    poll_and_act(page)
    by_text = {h.comment.text: h for h in Hold.objects.select_related("comment")}
    page.holds = [by_text["Is the road open?"], by_text[XSS], by_text["Thanks, crew"]]
    return page


def login(client, agency, role, username=None):
    member = make_member(agency, role=role, username=username or f"the-{role}")
    client.force_login(member.user)
    return member


def test_a_pio_sees_the_queue_escaped_and_releases_in_bulk(client, agency, held):
    pio = login(client, agency, Role.SUPERVISOR, "pio")
    page = client.get(reverse("moderation:queue")).content.decode()
    assert "Is the road open?" in page and "hold.switch" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)" in page

    first, second, third = held.holds
    response = client.post(reverse("moderation:review"),
                           {"hold": [first.pk, second.pk], "decision": "release"})  # fmt: skip
    assert response.status_code == 302
    client.post(reverse("moderation:review"), {"single": f"keep_hidden:{third.pk}"})
    for row in ModerationAction.objects.filter(kind="unhide"):
        actions.carry_out(row.pk)

    states = dict(Hold.objects.values_list("pk", "state"))
    assert states == {first.pk: "released", second.pk: "released", third.pk: "kept_hidden"}
    shown = on_platform(held)
    assert not shown["Is the road open?"]["hidden"] and not shown[XSS]["hidden"]
    assert shown["Thanks, crew"]["hidden"]
    assert AuditEvent.objects.filter(action=Action.COMMENT_RELEASED, actor_label="pio").count() == 2
    assert Hold.objects.get(pk=third.pk).decided_by == pio
    followed = client.get(reverse("moderation:queue")).content.decode()
    assert "No comment is waiting for review." in followed
    # Still findable, to be restored: the newest hides, linked to each comment's page.
    assert reverse("moderation:comment_detail", args=[third.comment_id]) in followed


def test_a_bad_review_request_changes_nothing(client, agency, held):
    login(client, agency, Role.SUPERVISOR)
    before = sorted(Hold.objects.values_list("pk", "state"))
    response = client.post(reverse("moderation:review"), {"decision": "release"}, follow=True)
    assert "Select at least one comment." in response.content.decode()
    forged = {"hold": [held.holds[0].pk], "decision": "delete"}
    response = client.post(reverse("moderation:review"), forged, follow=True)
    assert "Choose to release or to keep hidden." in response.content.decode()
    assert sorted(Hold.objects.values_list("pk", "state")) == before


@pytest.mark.parametrize("role,status", [(Role.USER, 403), (Role.AUDITOR, 200),
                                         (Role.SUPERVISOR, 200)])  # fmt: skip
def test_who_may_read_the_queue(client, agency, held, role, status):
    login(client, agency, role)
    assert client.get(reverse("moderation:queue")).status_code == status
    comment_page = client.get(reverse("moderation:comment_detail", args=[held.holds[0].comment_id]))
    assert comment_page.status_code == status


def test_an_auditor_reads_but_cannot_release(client, agency, held):
    login(client, agency, Role.AUDITOR)
    page = client.get(reverse("moderation:queue")).content.decode()
    assert "Is the road open?" in page and "Release selected" not in page
    response = client.post(reverse("moderation:review"), {"single": f"release:{held.holds[0].pk}"})
    assert response.status_code == 403
    assert Hold.objects.filter(state="held").count() == 3


def test_the_comment_page_shows_the_appeal_trail_and_restores(client, agency, held):
    pio = login(client, agency, Role.SUPERVISOR, "pio")
    target = held.holds[0]
    actions.review(reviewer=pio, hold_ids=[target.pk], decision=actions.KEEP_HIDDEN)
    url = reverse("moderation:comment_detail", args=[target.comment_id])
    page = client.get(url).content.decode()
    assert "hold.switch" in page and "Kept hidden" in page and "Pio" in page
    assert "Restore: show it again" in page

    client.post(reverse("moderation:restore", args=[target.comment_id]))
    [unhide] = ModerationAction.objects.filter(kind="unhide")
    actions.carry_out(unhide.pk)
    assert not on_platform(held)["Is the road open?"]["hidden"]
    assert "Shown (as far as SMC" in client.get(url).content.decode()


def test_a_supervisor_edits_the_policy_and_bad_input_changes_nothing(client, agency, held):
    login(client, agency, Role.SUPERVISOR, "pio")
    url = reverse("moderation:policy")
    assert "Mastodon" not in client.get(url).content.decode()  # only Facebook is connected
    form = {"action_personal_data": "hide", "action_profanity": "delete", "action_spam": "hide",
            "action_custom": "hold", "block_terms": "zorblat", "allow_terms": "",
            "surge_per_minute": "40", f"surge_{held.pk}": "5", "hold_outside_staffed_hours": "on",
            "day0_start": "08:00", "day0_end": "17:00"}  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 302
    row = CommentPolicy.objects.get()
    assert row.actions["profanity"] == "delete" and row.surge_per_channel == {str(held.pk): 5}
    assert row.staffed_hours == {"0": ["08:00", "17:00"]} and row.block_terms == ["zorblat"]
    assert AuditEvent.objects.filter(action=Action.COMMENT_POLICY_CHANGED).count() == 1

    for bad, message in (({"block_terms": "corrupt cops"}, "would hide criticism"),
                         ({"day1_start": "09:00"}, "Give both a start and an end"),
                         ({"action_spam": "reply"}, "Write the reply for the spam rule"),
                         ({"surge_per_minute": "0"}, "greater than or equal to 1")):  # fmt: skip
        page = client.post(url, {**form, **bad}).content.decode()
        assert message in page.replace("&#x27;", "'"), bad
    assert CommentPolicy.objects.get().audit_snapshot() == row.audit_snapshot()
    assert AuditEvent.objects.filter(action=Action.COMMENT_POLICY_CHANGED).count() == 1


def test_an_officer_cannot_change_the_policy_or_switch_hold_mode(client, agency, held):
    login(client, agency, Role.USER)
    assert client.post(reverse("moderation:hold_switch"), {"on": "0"}).status_code == 403
    assert CommentPolicy.objects.get().hold_switch is True


def test_alerts_show_in_the_header_until_read(client, agency, held):
    pio = login(client, agency, Role.SUPERVISOR, "pio")
    notify(member=pio, title="Possible threat on X", url="/moderation/queue/")
    home = client.get(reverse("accounts:notification_list")).content.decode()
    assert 'data-testid="alerts"' in home and 'class="badge">1<' in home
    assert "Possible threat on X" in home
    client.post(reverse("accounts:read_all_notifications"))
    page = client.get(reverse("accounts:notification_list")).content.decode()
    assert 'class="badge"' not in page


def test_the_pages_say_when_a_platform_cannot_hide(client, agency, simulated_platforms):
    mastodon = connect(agency, simulated_platforms, "mastodon")
    comment(mastodon, "This is fucking useless")
    poll_and_act(mastodon)
    login(client, agency, Role.SUPERVISOR)

    queue = client.get(reverse("moderation:queue")).content.decode()
    assert "This is fucking useless" in queue and "Still visible on Mastodon" in queue
    policy = client.get(reverse("moderation:policy")).content.decode()
    assert "Mastodon: cannot hide others" in policy.replace("&#x27;", "'")


def test_the_queue_says_when_new_comments_are_held_for_the_hour(client, agency):
    login(client, agency, Role.SUPERVISOR, "pio")
    policies.stored_policy(agency)  # the agency's row, made with the defaults
    queue = reverse("moderation:queue")
    assert 'data-testid="outside-staffed-hours"' not in client.get(queue).content.decode()

    # Holding outside staffed hours, with no staffed hour on any day: held right now.
    CommentPolicy.objects.update(hold_outside_staffed_hours=True, staffed_hours={})
    page = client.get(queue).content.decode()
    assert 'data-testid="outside-staffed-hours"' in page and "Outside staffed hours now" in page
