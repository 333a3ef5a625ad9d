"""Approval (P2) and the authority behind it (A3–A5), through the services, on the real DB."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from accounts.models import Notification
from audit.actions import Action, Outcome
from audit.models import AuditEvent
from platforms.services import PUBLISH_TO, set_channel_needs_approval, set_channel_publishers
from posting.models import ApprovalDecision, Post, PostRevision, Publication
from posting.services import PostingError
from posting.services.approval import (
    approve_post,
    edit_as_supervisor,
    escalate_overdue,
    may_approve,
    reject_post,
    revision_diff,
    submit_post,
)
from tests.factories import make_channel, make_post


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def trust(desk, member, channels):
    desk.train(member)
    for channel in channels:
        set_channel_publishers(administrator=desk.admin, channel=channel, memberships=[member])


def test_a_post_that_needs_approval_goes_to_the_authors_unit_supervisors(desk):
    post = make_post(desk.officer, channels=[desk.x, desk.mastodon])
    with TestCase.captureOnCommitCallbacks(execute=True):
        post = submit_post(author=desk.officer, post=post)
    assert post.status == Post.Status.AWAITING_APPROVAL
    assert post.awaiting_unit == desk.patrol and post.awaiting_since is not None
    assert any("training" in reason for reason in post.approval_reasons)
    [revision] = PostRevision.objects.filter(post=post)
    assert (revision.kind, revision.number, revision.text) == ("submitted", 1, post.text)
    assert sorted(revision.channel_ids) == sorted([desk.x.pk, desk.mastodon.pk])
    assert set(post.publications.values_list("status", flat=True)) == {"waiting"}
    [event] = events(Action.POST_SUBMITTED)
    assert event.details["needs_approval"] is True
    [notice] = Notification.objects.filter(member=desk.sergeant)
    assert notice.url == f"/posts/{post.pk}/review/"
    assert [m.to for m in mail.outbox] == [[desk.sergeant.user.email]]
    # Only the unit's own supervisor is told; the chief hears on escalation.
    assert not Notification.objects.filter(member=desk.chief).exists()


def test_a_trained_author_with_publish_rights_goes_out_without_approval(desk):
    trust(desk, desk.officer, [desk.x, desk.mastodon])
    post = submit_post(author=desk.officer,
                       post=make_post(desk.officer, channels=[desk.x, desk.mastodon]))  # fmt: skip
    assert post.status == Post.Status.SCHEDULED
    assert post.approval_reasons == []
    assert set(post.publications.values_list("status", flat=True)) == {"queued"}
    assert not Notification.objects.exists()


@pytest.mark.parametrize("why", ["failed check", "member flag", "channel flag", "one channel"])
def test_anything_short_of_full_trust_forces_approval(desk, why):
    trust(desk, desk.officer, [desk.x, desk.mastodon])
    channels = [desk.x, desk.mastodon]
    fields = {}
    if why == "failed check":
        fields["check_results"] = [{"name": "personal_data", "label": "Personal data",
                                    "ok": False}]  # fmt: skip
    elif why == "member flag":
        from accounts.authority import set_member_needs_approval

        set_member_needs_approval(administrator=desk.admin, membership=desk.officer,
                                  needs_approval=True)  # fmt: skip
    elif why == "channel flag":
        set_channel_needs_approval(administrator=desk.admin, channel=desk.x, needs_approval=True)
    else:
        set_channel_publishers(administrator=desk.admin, channel=desk.mastodon, memberships=[])
    post = submit_post(author=desk.officer,
                       post=make_post(desk.officer, channels=channels, **fields))  # fmt: skip
    assert post.status == Post.Status.AWAITING_APPROVAL, why
    assert len(post.approval_reasons) == 1, post.approval_reasons


def test_a_forged_channel_refuses_the_submission_and_changes_nothing(desk):
    secret = make_channel(desk.agency, platform="x", name="Chief's own account",
                          administrator=desk.admin)  # fmt: skip
    post = make_post(desk.officer, channels=[desk.x, secret])
    with pytest.raises(PostingError) as refused:
        submit_post(author=desk.officer, post=post)
    assert "Chief's own account" in refused.value.message
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT and post.submitted_at is None
    assert not PostRevision.objects.exists()
    assert not events(Action.POST_SUBMITTED)
    [refusal] = events(Action.POST_SUBMIT_REFUSED)
    assert refusal.outcome == Outcome.DENIED


def test_bad_submissions_say_why_and_change_nothing(desk):
    empty = make_post(desk.officer, channels=[desk.x], text="   ")
    nowhere = make_post(desk.officer, channels=[])
    too_long = make_post(desk.officer, channels=[desk.x], text="word " * 80)
    past = make_post(desk.officer, channels=[desk.x],
                     publish_at=timezone.now() - timedelta(minutes=5))  # fmt: skip
    for post, words in ((empty, "Write"), (nowhere, "channel"), (too_long, "too long"),
                        (past, "passed")):  # fmt: skip
        with pytest.raises(PostingError, match=words):
            submit_post(author=desk.officer, post=post)
        post.refresh_from_db()
        assert post.status == Post.Status.DRAFT
    with pytest.raises(PostingError, match="author"):
        submit_post(author=desk.sergeant, post=make_post(desk.officer, channels=[desk.x]))
    assert not PostRevision.objects.exists()


def waiting(desk, author=None, **fields):
    author = author or desk.officer
    return submit_post(author=author, post=make_post(author, channels=[desk.x], **fields))


def test_the_supervisor_approves_and_the_post_is_queued_and_the_author_told(desk):
    post = waiting(desk)
    with TestCase.captureOnCommitCallbacks(execute=True):
        post = approve_post(supervisor=desk.sergeant, post=post)
    assert post.status == Post.Status.SCHEDULED
    assert (post.approved_by, post.approved_revision) == (desk.sergeant, 1)
    assert list(post.publications.values_list("status", flat=True)) == ["queued"]
    [decision] = ApprovalDecision.objects.filter(post=post)
    assert (decision.decision, decision.supervisor, decision.revision) == (
        "approved",
        desk.sergeant,
        1,
    )
    [notice] = Notification.objects.filter(member=desk.officer)
    assert "approved" in notice.title
    assert desk.officer.user.email in [m.to[0] for m in mail.outbox]
    assert events(Action.POST_APPROVED)[0].actor_label == "sergeant"
    with pytest.raises(PostingError, match="not waiting"):
        approve_post(supervisor=desk.chief, post=post)


def test_who_may_approve(desk, agency):
    from tests.factories import make_member, make_unit

    traffic = make_unit(agency, name="Traffic", parent=desk.hq)
    other = make_member(agency, role="supervisor", username="traffic-sergeant", unit=traffic)
    from accounts.authority import set_unit_supervisors

    set_unit_supervisors(administrator=desk.admin, unit=traffic, memberships=[other])
    post = waiting(desk)
    assert may_approve(desk.sergeant, post)  # the unit's supervisor
    assert may_approve(desk.chief, post)  # the unit above
    assert may_approve(desk.admin, post)  # the desk
    assert not may_approve(other, post)  # a sibling unit
    assert not may_approve(desk.auditor, post)  # auditors never
    assert not may_approve(desk.officer, post)  # its author
    with pytest.raises(PostingError, match="not yours"):
        approve_post(supervisor=other, post=post)
    # Nobody approves their own post, administrators included.
    own = waiting(desk, author=desk.admin)
    assert own.status == Post.Status.AWAITING_APPROVAL and own.awaiting_unit is None
    with pytest.raises(PostingError, match="own post"):
        approve_post(supervisor=desk.admin, post=own)


def test_rejection_needs_a_reason_and_tells_the_author(desk):
    post = waiting(desk)
    for blank in ("", "   "):
        with pytest.raises(PostingError, match="why"):
            reject_post(supervisor=desk.sergeant, post=post, reason=blank)
    post.refresh_from_db()
    assert post.status == Post.Status.AWAITING_APPROVAL
    post = reject_post(
        supervisor=desk.sergeant, post=post, reason="Name the street, not the house."
    )
    assert post.status == Post.Status.REJECTED
    assert post.rejection_reason == "Name the street, not the house."
    [notice] = Notification.objects.filter(member=desk.officer)
    assert "Name the street" in notice.body
    assert events(Action.POST_REJECTED)[0].reason == "Name the street, not the house."
    # The author fixes it and sends it again: a new revision, waiting again.
    Post.objects.filter(pk=post.pk).update(text="Road closed on Elm St between 1st and 3rd.")
    post = submit_post(author=desk.officer, post=post)
    assert post.status == Post.Status.AWAITING_APPROVAL and post.revision == 2
    assert list(post.revisions.values_list("number", flat=True)) == [1, 2]


def test_an_edit_while_waiting_keeps_it_waiting_and_the_author_sees_the_change(desk):
    post = waiting(desk, text="Road closed on Elm St until 5 pm.")
    post = edit_as_supervisor(supervisor=desk.sergeant, post=post,
                              text="Road closed on Elm Street until 6 pm.")  # fmt: skip
    assert post.status == Post.Status.AWAITING_APPROVAL and post.revision == 2
    first, second = post.revisions.order_by("number")
    assert second.kind == PostRevision.Kind.EDITED_BY_SUPERVISOR
    diff = revision_diff(first.text, second.text)
    assert ("removed", "St") in [(d.kind, d.text) for d in diff]
    assert ("added", "Street") in [(d.kind, d.text) for d in diff]
    assert "edited" in Notification.objects.get(member=desk.officer).title
    event = events(Action.POST_EDITED_BY_SUPERVISOR)[0]
    assert event.details["before"]["text"] == "Road closed on Elm St until 5 pm."
    # The editor may still approve: the edit is theirs, the post is not.
    assert approve_post(supervisor=desk.sergeant, post=post).approved_revision == 2


def test_an_edit_after_approval_needs_approval_again(desk):
    post = approve_post(supervisor=desk.sergeant, post=waiting(desk))
    assert list(post.publications.values_list("status", flat=True)) == ["queued"]
    post = edit_as_supervisor(supervisor=desk.chief, post=post, text="Elm St is open again.")
    assert post.status == Post.Status.AWAITING_APPROVAL
    assert post.approved_by is None and post.awaiting_unit == desk.patrol
    assert list(post.publications.values_list("status", flat=True)) == ["waiting"]
    assert post.revisions.order_by("number").last().kind == "edited_after_approval"
    # The sergeant (who approved before) is told it needs approval again.
    assert Notification.objects.filter(member=desk.sergeant, title__contains="again").exists()
    with pytest.raises(PostingError, match="Nothing was changed"):
        edit_as_supervisor(supervisor=desk.chief, post=post, text="Elm St is open again.")
    post = approve_post(supervisor=desk.sergeant, post=post)
    assert post.approved_revision == 2


def test_an_edit_after_publishing_started_is_refused(desk):
    post = approve_post(supervisor=desk.sergeant, post=waiting(desk))
    Publication.objects.filter(post=post).update(status=Publication.Status.SENDING)
    with pytest.raises(PostingError, match="started going out"):
        edit_as_supervisor(supervisor=desk.chief, post=post, text="Changed.")
    post.refresh_from_db()
    assert post.text == "Road closed on Elm St until 5 pm." and post.revision == 1


def test_unanswered_approvals_climb_the_chain_to_the_desk(desk, agency):
    post = waiting(desk)
    assert escalate_overdue(agency=agency) == []  # not overdue yet
    late = timezone.now() + timedelta(minutes=agency.approval_escalation_minutes + 1)
    [moved] = escalate_overdue(agency=agency, now=late)
    assert (moved.from_unit, moved.to_unit) == ("Patrol", "Headquarters")
    post.refresh_from_db()
    assert post.awaiting_unit == desk.hq and post.awaiting_since == late
    assert Notification.objects.filter(member=desk.chief).count() == 1
    assert not may_approve(desk.sergeant, post)  # it left the sergeant's desk
    later = late + timedelta(minutes=agency.approval_escalation_minutes + 1)
    [moved] = escalate_overdue(agency=agency, now=later)
    assert moved.to_unit is None
    post.refresh_from_db()
    assert post.awaiting_unit is None
    assert Notification.objects.filter(member=desk.admin).count() == 1
    assert escalate_overdue(agency=agency, now=later + timedelta(days=1)) == []  # the top
    decisions = list(post.decisions.values_list("decision", "supervisor"))
    assert decisions == [("escalated", None), ("escalated", None)]
    assert len(events(Action.POST_ESCALATED)) == 2


def test_the_escalation_task_moves_overdue_approvals(desk, agency):
    from posting.approval_tasks import escalate_agency_approvals
    from posting.queue import agency_ids_with_waiting_approvals

    post = waiting(desk)
    Post.objects.filter(pk=post.pk).update(awaiting_since=timezone.now() - timedelta(hours=2))
    assert agency.pk in agency_ids_with_waiting_approvals()
    assert escalate_agency_approvals.apply(kwargs={"agency_id": agency.pk}).get() == 1
    post.refresh_from_db()
    assert post.awaiting_unit == desk.hq


def test_a_unit_without_supervisors_sends_the_approval_up(desk, agency):
    from tests.factories import make_member, make_unit

    night = make_unit(agency, name="Night shift", parent=desk.patrol)
    owl = make_member(agency, username="owl", unit=night)
    from platforms.services import set_channel_people

    set_channel_people(administrator=desk.admin, channel=desk.x, memberships=[owl])
    post = waiting(desk, author=owl)
    assert post.awaiting_unit == desk.patrol


def test_the_text_diff_is_words_and_keeps_line_breaks():
    diff = revision_diff("Elm St closed.\nDetour via Oak.", "Elm St open.\nDetour via Oak.")
    assert "".join(d.text for d in diff if d.kind != "removed") == "Elm St open.\nDetour via Oak."
    assert [d.text for d in diff if d.kind == "removed"] == ["closed."]


def test_publish_rights_need_training(desk):
    from platforms.services import ChannelError

    with pytest.raises(ChannelError, match="training"):
        set_channel_publishers(administrator=desk.admin, channel=desk.x,
                               memberships=[desk.officer])  # fmt: skip
    assert not desk.officer.user.has_perm(PUBLISH_TO, desk.x)
    desk.train(desk.officer)
    set_channel_publishers(administrator=desk.admin, channel=desk.x, memberships=[desk.officer])
    assert events(Action.CHANNEL_PUBLISHERS_CHANGED)[0].details["after"] == ["officer"]
