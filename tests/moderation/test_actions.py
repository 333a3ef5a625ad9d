"""M3/M4 services: decided comments acted on through the adapters against the platform
simulators, idempotently and on the record; threats escalated at once; hold mode; review,
restore and the agency's stored policy. Nothing of SMC is patched."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import DatabaseError, transaction

from accounts.models import Notification, Role
from accounts.notifications import unread_count
from audit.actions import Action
from audit.models import AuditEvent
from moderation import actions, ingest, policies, selectors
from moderation.models import CommentPolicy, CommentVersion, Hold, ModerationAction
from platforms.adapters.base import OutgoingPost
from platforms.demo import connect_through_simulator
from platforms.services import call_platform
from tests.factories import make_member
from tests.platforms.contract import SimClient

Kind, State = ModerationAction.Kind, ModerationAction.State


def connect(agency, simulated_platforms, platform: str = "facebook"):
    admin = make_member(agency, role=Role.ADMINISTRATOR, username=f"admin-{platform}")
    [channel], _ = connect_through_simulator(
        administrator=admin, platform=platform, sim_url=simulated_platforms[platform],
        display_name=f"Metro {platform}", handle=f"metro{platform}",
    )  # fmt: skip
    channel.sim = SimClient(simulated_platforms[platform])
    post = OutgoingPost(text="Main St reopens at 6 pm", attempt_key=f"k-{platform}")
    channel.post_id = call_platform(channel, lambda a: a.publish(post)).platform_post_id
    return channel


@pytest.fixture
def page(agency, simulated_platforms):
    return connect(agency, simulated_platforms)


@pytest.fixture
def pio(agency):
    return make_member(agency, role=Role.SUPERVISOR, username="pio", email="pio@metro.example")


def comment(channel, text: str, author: str = "Pat Q") -> str:
    payload = {"target": channel.post_id, "text": text,
               "author": {"name": author, "handle": author.lower().replace(" ", "")}}  # fmt: skip
    return channel.sim.post("/_sim/inject", payload, expect=201)


def poll_and_act(channel) -> list:
    """What the workers do after a poll, run here: plan, then every action and follow-up."""
    outcome = ingest.poll_channel(channel=channel)
    planned = actions.plan(channel=channel, version_ids=outcome.archived.version_ids)
    work = list(planned.action_ids)
    while work:
        attempt = actions.carry_out(work.pop(0))
        work += attempt.follow_up
    return list(selectors.channel_comments(channel=channel))


def on_platform(channel) -> dict:
    """The simulator's own view: text → item, for the comments people wrote."""
    return {i["text"]: i for i in channel.sim.published()["items"] if i["kind"] != "post"}


def set_policy(editor, **changes) -> CommentPolicy:
    row = policies.stored_policy(editor.agency)
    fields = {
        "actions": {c: row.actions.get(c, "allow") for c in policies.CONFIGURABLE},
        "reply_templates": dict(row.reply_templates),
        "block_terms": list(row.block_terms),
        "allow_terms": list(row.allow_terms),
        "hold_outside_staffed_hours": row.hold_outside_staffed_hours,
        "staffed_hours": dict(row.staffed_hours),
        "surge_per_minute": row.surge_per_minute,
        "surge_per_channel": dict(row.surge_per_channel),
    }
    fields.update(changes)
    return policies.save_policy(editor=editor, change=policies.PolicyChange(**fields))


def test_a_profane_comment_is_hidden_once_and_recorded(page):
    comment(page, "This is fucking useless")
    comment(page, "When does Main St reopen?")

    [_clean, profane] = sorted(poll_and_act(page), key=lambda c: "fuck" in c.text)

    assert on_platform(page)["This is fucking useless"]["hidden"] is True
    assert on_platform(page)["When does Main St reopen?"]["hidden"] is False
    [hide] = ModerationAction.objects.filter(comment=profane)
    assert (hide.kind, hide.state, hide.attempts) == (Kind.HIDE, State.DONE, 1)
    assert hide.reason_code.startswith("profanity")
    event = AuditEvent.objects.get(action=Action.COMMENT_HIDDEN)
    assert event.object_id == str(profane.pk) and event.outcome == "success"
    assert event.details["reason_code"] == hide.reason_code and event.details["reviewer"] is None

    # Planning and acting again (a redelivered task) does nothing more on the platform.
    version_ids = list(CommentVersion.objects.values_list("pk", flat=True))
    assert actions.plan(channel=page, version_ids=version_ids).action_ids == ()
    assert actions.carry_out(hide.pk).state == State.DONE
    hides = [r for r in page.sim.requests(method="POST")
             if (r["body"] or {}).get("is_hidden") == "true"]  # fmt: skip
    assert len(hides) == 1
    assert AuditEvent.objects.filter(action=Action.COMMENT_HIDDEN).count() == 1


def test_mastodon_cannot_hide_so_the_comment_is_held_in_smcs_queue(agency, simulated_platforms):
    channel = connect(agency, simulated_platforms, "mastodon")
    comment(channel, "This is fucking useless")

    [held] = poll_and_act(channel)

    [hide] = ModerationAction.objects.filter(comment=held)
    assert hide.state == State.NOT_POSSIBLE
    assert "Mastodon cannot hide" in hide.outcome
    hold = Hold.objects.get(comment=held, state=Hold.State.HELD)
    assert "Still visible on Mastodon" in hold.platform_note
    event = AuditEvent.objects.get(action=Action.COMMENT_HIDDEN)
    assert event.outcome == "failure" and "Mastodon cannot hide" in event.reason


def test_x_cannot_delete_so_the_comment_is_hidden_instead(agency, simulated_platforms):
    channel = connect(agency, simulated_platforms, "x")
    editor = make_member(agency, role=Role.ADMINISTRATOR)
    set_policy(editor, actions={"profanity": "delete", "personal_data": "hide", "spam": "hide",
                                "custom": "hold"})  # fmt: skip
    comment(channel, "What a shitshow")

    [target] = poll_and_act(channel)

    kinds = dict(ModerationAction.objects.filter(comment=target).values_list("kind", "state"))
    assert kinds == {Kind.DELETE: State.NOT_POSSIBLE, Kind.HIDE: State.DONE}
    item = on_platform(channel)["What a shitshow"]
    assert item["hidden"] is True and item["deleted"] is False


def test_a_reply_rule_posts_its_template_once(page, pio):
    set_policy(pio, actions={"profanity": "hide", "personal_data": "hide", "spam": "reply",
                             "custom": "hold"},
               reply_templates={"spam": "Please keep links off this page."})  # fmt: skip
    comment(page, "Buy followers cheap at www.fastfollow.biz")

    [spam] = poll_and_act(page)

    [reply] = ModerationAction.objects.filter(comment=spam)
    assert (reply.kind, reply.state) == (Kind.REPLY, State.DONE)
    replies = [i for i in on_platform(page).values() if i["text"] == reply.reply_text]
    assert len(replies) == 1 and replies[0]["parent_id"] == spam.platform_comment_id
    assert actions.carry_out(reply.pk).state == State.DONE  # not posted twice
    assert len([i for i in on_platform(page).values() if i["text"] == reply.reply_text]) == 1


def test_a_threat_escalates_at_once_and_is_retained(page, pio, django_capture_on_commit_callbacks):
    officer = make_member(page.agency, role=Role.USER, username="officer")
    auditor = make_member(page.agency, role=Role.AUDITOR, username="auditor")
    policies.set_hold_switch(editor=pio, on=True)
    comment(page, "I will shoot the officer at the Elm St station tomorrow")
    comment(page, "Is the parade still on?")  # read first: Facebook lists the newest first

    with django_capture_on_commit_callbacks(execute=True):
        threat, clean = sorted(poll_and_act(page), key=lambda c: "shoot" not in c.text)

    # The threat is planned first, whatever its place in the batch.
    assert Hold.objects.get(comment=threat).pk < Hold.objects.get(comment=clean).pk

    told = set(Notification.objects.values_list("member__user__username", flat=True))
    assert "pio" in told and "admin-facebook" in told
    assert officer.user.username not in told and auditor.user.username not in told
    assert [m.to for m in mail.outbox if "threat" in m.subject.lower()].count(
        ["pio@metro.example"]
    ) == 1
    kinds = set(ModerationAction.objects.filter(comment=threat).values_list("kind", flat=True))
    assert kinds == {Kind.ESCALATE, Kind.HIDE}  # retained: hidden and held, never deleted
    assert Hold.objects.get(comment=threat).escalated
    assert not Hold.objects.get(comment=clean).escalated
    assert on_platform(page)[threat.text]["deleted"] is False
    assert AuditEvent.objects.filter(action=Action.COMMENT_ESCALATED).count() == 1
    assert unread_count(pio) == 1


def test_hold_mode_holds_every_new_comment_and_a_pio_releases_it(page, pio):
    policies.set_hold_switch(editor=pio, on=True)
    comment(page, "Is the road open yet?")
    comment(page, "Thank you firefighters")

    held = poll_and_act(page)

    assert all(i["hidden"] for i in on_platform(page).values())
    holds = list(selectors.held_comments(viewer=pio))
    assert {h.reason_code for h in holds} == {"hold.switch"}
    release, keep = holds
    actions.review(reviewer=pio, hold_ids=[release.pk], decision=actions.RELEASE)
    actions.review(reviewer=pio, hold_ids=[keep.pk], decision=actions.KEEP_HIDDEN)
    for row in ModerationAction.objects.filter(kind=Kind.UNHIDE):
        actions.carry_out(row.pk)

    shown = on_platform(page)
    assert shown[release.comment.text]["hidden"] is False
    assert shown[keep.comment.text]["hidden"] is True
    assert len(held) == 2 and not selectors.held_comments(viewer=pio).exists()
    [unhide] = ModerationAction.objects.filter(kind=Kind.UNHIDE)
    assert unhide.requested_by == pio and unhide.state == State.DONE
    released = AuditEvent.objects.get(action=Action.COMMENT_RELEASED)
    assert released.actor_label == "pio" and released.details["reason_code"] == "hold.switch"
    # Reviewing an already decided hold again changes nothing.
    assert actions.review(reviewer=pio, hold_ids=[release.pk], decision="release").decided == 0


def test_comments_outside_staffed_hours_are_held(page, pio):
    page.agency.time_zone = "America/Chicago"
    page.agency.save()
    # Staffed every day 09:00–17:00 Chicago time.
    hours = {str(d): ["09:00", "17:00"] for d in range(7)}
    row = set_policy(pio, hold_outside_staffed_hours=True, staffed_hours=hours)
    noon_chicago = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    three_am_chicago = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert policies.is_staffed(row, page.agency, noon_chicago)
    assert not policies.is_staffed(row, page.agency, three_am_chicago)
    assert policies.hold_reason(row, page.agency, channel_id=page.pk, at=noon_chicago) is None
    why = policies.hold_reason(row, page.agency, channel_id=page.pk, at=three_am_chicago)
    assert why.code == "hold.outside_staffed_hours"


def test_a_surge_on_a_channel_holds_its_new_comments(page, pio):
    set_policy(pio, surge_per_channel={str(page.pk): 2})
    for n in range(3):
        comment(page, f"Is the parade cancelled? ({n})")

    poll_and_act(page)

    assert {h.reason_code for h in selectors.held_comments(viewer=pio)} == {"hold.surge"}
    assert all(i["hidden"] for i in on_platform(page).values())


def test_criticism_is_never_actioned_whatever_the_policy(page, pio):
    set_policy(pio, actions=dict.fromkeys(policies.CONFIGURABLE, "delete"))
    comment(page, "Chief Hollins is incompetent and should resign today.")
    comment(page, "Le SPVM est complètement incompétent. Trois heures pour répondre.")

    poll_and_act(page)

    assert not ModerationAction.objects.exists() and not Hold.objects.exists()


def test_a_block_term_naming_a_viewpoint_is_refused_and_nothing_changes(agency, pio):
    before = policies.stored_policy(agency).audit_snapshot()
    with pytest.raises(policies.PolicyRefused, match="would hide criticism"):
        set_policy(pio, block_terms=["scam link", "Corrupt cops"])
    assert policies.stored_policy(agency).audit_snapshot() == before
    assert not AuditEvent.objects.filter(action=Action.COMMENT_POLICY_CHANGED).exists()


def test_policy_changes_are_recorded_and_used_by_ingest_and_dry_run(page, pio, capsys):
    set_policy(pio, block_terms=["zorblat"])
    event = AuditEvent.objects.get(action=Action.COMMENT_POLICY_CHANGED)
    assert event.actor_label == "pio"
    assert event.details["changed"]["block_terms"] == {"from": [], "to": ["zorblat"]}
    comment(page, "z0rbl4t everywhere")

    [held] = poll_and_act(page)

    assert held.versions.get().decision_rule == "custom.block"
    assert held.versions.get().policy_name.startswith("metro@")
    assert Hold.objects.get(comment=held).reason_code == "custom.block"
    import io

    call_command("moderation_dry_run", agency=page.agency.slug,
                 stdin=io.StringIO('{"id": 1, "text": "zorblat!"}\n'))  # fmt: skip
    assert '"rule": "custom.block"' in capsys.readouterr().out


def test_only_supervisors_and_administrators_change_the_policy(agency):
    officer = make_member(agency, role=Role.USER)
    with pytest.raises(policies.PolicyRefused):
        set_policy(officer, surge_per_minute=5)
    with pytest.raises(actions.ReviewRefused):
        actions.review(reviewer=officer, hold_ids=[1], decision="release")


def test_a_hidden_comment_can_be_restored_and_a_deleted_one_cannot(page, pio):
    set_policy(pio, actions={"profanity": "delete", "personal_data": "hide", "spam": "hide",
                             "custom": "hold"})  # fmt: skip
    comment(page, "What a shitshow")
    comment(page, "My neighbour's SSN is 123-45-6789")

    by_text = {c.text: c for c in poll_and_act(page)}

    deleted, hidden = by_text["What a shitshow"], by_text["My neighbour's SSN is 123-45-6789"]
    assert actions.visibility(deleted) == "deleted" and on_platform(page)[deleted.text]["deleted"]
    with pytest.raises(actions.ReviewRefused, match="cannot be posted again"):
        actions.restore(reviewer=pio, comment=deleted)
    assert deleted.versions.exists()  # the archived copy stays
    [unhide_id] = actions.restore(reviewer=pio, comment=hidden)
    actions.carry_out(unhide_id)
    assert on_platform(page)[hidden.text]["hidden"] is False
    assert actions.visibility(hidden) == "shown"
    assert AuditEvent.objects.filter(action=Action.COMMENT_RESTORED, actor_label="pio").exists()


def test_archived_versions_cannot_be_changed_or_removed(page):
    comment(page, "Road closed?")
    poll_and_act(page)
    version = CommentVersion.objects.get()
    for change in (lambda: CommentVersion.objects.filter(pk=version.pk).update(text="forged"),
                   lambda: CommentVersion.objects.filter(pk=version.pk).delete()):  # fmt: skip
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            change()
    assert CommentVersion.objects.get().text == "Road closed?"


def test_retries_back_off_and_respect_a_rate_limit_window(settings):
    settings.SMC_ACTION_RETRY_SECONDS = 5
    assert [actions.retry_delay(n, None) for n in (1, 2, 3)] == [5, 10, 20]
    assert actions.retry_delay(20, None) == 900  # at most 15 minutes
    assert actions.retry_delay(1, 4.4) == 5  # an adapter's short hint: our backoff
    assert actions.retry_delay(1, 600) == 600  # a rate-limit window is waited out


def test_an_action_that_keeps_failing_gives_up_and_holds_the_comment(page, settings):
    settings.SMC_ACTION_MAX_ATTEMPTS = 2
    outcome_id = comment(page, "This is fucking useless")["id"]
    page.sim.fault("POST", f"/{outcome_id}", count=5, mode="error", status=503)
    archived = ingest.poll_channel(channel=page).archived
    [hide_id] = actions.plan(channel=page, version_ids=archived.version_ids).action_ids

    first, second = actions.carry_out(hide_id), actions.carry_out(hide_id)

    assert first.state == State.PENDING and first.retry_in is not None
    assert second.state == State.FAILED and second.retry_in is None
    hold = Hold.objects.get(state=Hold.State.HELD)
    assert "Still visible on Facebook" in hold.platform_note
    assert on_platform(page)["This is fucking useless"]["hidden"] is False


def test_an_unanswered_reply_is_not_posted_twice(page, pio):
    set_policy(pio, actions={"profanity": "hide", "personal_data": "hide", "spam": "reply",
                             "custom": "hold"},
               reply_templates={"spam": "Please keep links off this page."})  # fmt: skip
    spam_id = comment(page, "Buy followers cheap at www.fastfollow.biz")["id"]
    # Facebook takes the reply, then the connection drops before it answers.
    page.sim.fault("POST", f"/{spam_id}/comments", mode="drop_after_commit")

    [spam] = poll_and_act(page)

    [reply] = ModerationAction.objects.filter(comment=spam)
    assert reply.state == State.FAILED and "may have been posted" in reply.outcome
    assert actions.carry_out(reply.pk).state == State.FAILED
    posted = [i for i in on_platform(page).values() if i["text"] == reply.reply_text]
    assert len(posted) == 1
