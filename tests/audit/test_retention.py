"""R5: retention periods per kind of record, legal holds, purges that keep the chain."""

from datetime import timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.models import AuditEvent, LegalHold, RetentionRule
from audit.retention import (
    RecordsHeld,
    RetentionError,
    place_hold,
    purge_expired_records,
    purge_records,
    release_hold,
    set_retention,
)
from audit.services import verify_chain
from moderation import ingest
from moderation.models import Comment, CommentVersion
from platforms.adapters.base import CommentBatch, IncomingComment
from smc.tenancy import agency_scope, every_agency
from tests.conftest import app_connection, owner_connection
from tests.factories import make_agency, make_channel, make_member

A_YEAR_AND_MORE = timedelta(days=400)


def _sweep(agency, ahead=A_YEAR_AND_MORE):
    return {
        r.kind: r
        for r in purge_expired_records(
            agency_id=agency.pk, agency_label=agency.name, now=timezone.now() + ahead
        )
    }


def _with_content(agency):
    return AuditEvent.objects.filter(agency_id=agency.pk).exclude(content="")


def test_a_purge_drops_event_content_and_the_chain_still_verifies(agency, admin):
    make_member(agency, username="casey")
    before = {e.pk: (e.content_sha256, e.hash) for e in _with_content(agency)}
    assert before, "adding members records their snapshots as content"

    report = _sweep(agency)["audit.event"]

    assert report.purged == len(before) and not report.held
    for event in AuditEvent.objects.filter(pk__in=before):
        assert event.content == "" and event.purged_at is not None
        assert (event.content_sha256, event.hash) == before[event.pk]
    assert verify_chain(agency.pk).ok
    call_command("verify_audit")  # raises CommandError if any chain is broken
    purged = AuditEvent.objects.get(action=Action.RECORDS_PURGED)
    assert purged.details["kind"] == "audit.event" and purged.details["purged"] == len(before)
    # The next sweep finds nothing left to purge and records nothing.
    assert _sweep(agency)["audit.event"].purged == 0
    assert AuditEvent.objects.filter(action=Action.RECORDS_PURGED).count() == 1


def test_nothing_is_purged_before_its_period(agency, admin):
    assert _sweep(agency, ahead=timedelta(days=300))["audit.event"].purged == 0
    assert not AuditEvent.objects.filter(purged_at__isnull=False).exists()


def test_held_records_are_kept_and_the_refusal_is_recorded(agency, admin):
    make_member(agency, username="casey")
    # Alex invites someone: an event by alex with content, among others by "test".
    from accounts.services import invite_member

    invite_member(administrator=admin, email="dana@example.org", role=Role.USER)
    hold = place_hold(member=admin, reason="Case 24-113", person="ALEX")
    held = set(_with_content(agency).filter(actor_label="alex").values_list("pk", flat=True))
    assert held and _with_content(agency).exclude(actor_label="alex").exists()

    report = _sweep(agency)["audit.event"]

    assert set(report.held) == held
    assert set(_with_content(agency).values_list("pk", flat=True)) == held
    refused = AuditEvent.objects.get(action=Action.PURGE_REFUSED)
    assert refused.outcome == Outcome.DENIED
    assert f"hold #{hold.pk}" in refused.reason and "were not purged" in refused.reason
    assert verify_chain(agency.pk).ok


def test_a_released_hold_no_longer_keeps_records(agency, admin):
    hold = place_hold(member=admin, reason="Case 24-113", kind="audit.event")
    release_hold(member=admin, hold=hold, reason="Case closed")
    assert _sweep(agency)["audit.event"].purged > 0
    assert AuditEvent.objects.filter(action=Action.LEGAL_HOLD_RELEASED).count() == 1
    with pytest.raises(RetentionError, match="already released"):
        release_hold(member=admin, hold=hold, reason="again")


def test_a_purge_by_hand_that_touches_a_held_record_is_refused_whole(agency, admin):
    ids = sorted(_with_content(agency).values_list("pk", flat=True))
    place_hold(member=admin, reason="Subpoena 7", kind="audit.event", record_id=str(ids[0]))
    actor = system_actor(agency_id=agency.pk, agency_label=agency.name, label="operator")
    before = set(_with_content(agency).values_list("pk", flat=True))

    with pytest.raises(RecordsHeld) as refused:
        purge_records(
            actor=actor,
            kind_name="audit.event",
            record_ids=ids,
            now=timezone.now() + A_YEAR_AND_MORE,
        )

    assert "1 of the" in refused.value.message and "under legal hold" in refused.value.message
    assert set(_with_content(agency).values_list("pk", flat=True)) == before  # nothing purged
    recorded = AuditEvent.objects.get(action=Action.PURGE_REFUSED)
    assert recorded.details["records"] == [ids[0]]
    # Without the held record it goes through.
    assert (
        purge_records(
            actor=actor,
            kind_name="audit.event",
            record_ids=ids[1:],
            now=timezone.now() + A_YEAR_AND_MORE,
        )
        == len(ids) - 1
    )


def test_a_purge_by_hand_of_a_record_still_in_its_period_is_refused(agency, admin):
    ids = list(_with_content(agency).values_list("pk", flat=True))
    actor = system_actor(agency_id=agency.pk, agency_label=agency.name, label="operator")
    with pytest.raises(RetentionError, match="still within their retention period"):
        purge_records(actor=actor, kind_name="audit.event", record_ids=ids)
    assert _with_content(agency).count() == len(ids)


def test_the_database_lets_through_only_a_purge_of_content(transactional_db):
    # Committed rows: the owner's own connection must see them.
    agency = make_agency(name="Purge PD")
    make_member(agency, role=Role.ADMINISTRATOR, username="alex")
    with every_agency():
        event = AuditEvent.objects.filter(agency_id=agency.pk).exclude(content="").first()
    with owner_connection() as c:
        c.execute("SELECT set_config('smc.every_agency', 'on', false)")
        c.execute("SELECT set_config('smc.audit_purge', 'on', false)")
        for statement in (
            "UPDATE audit_auditevent SET content = '', reason = 'x', purged_at = now()",
            "UPDATE audit_auditevent SET content = 'other', purged_at = now()",
            "UPDATE audit_auditevent SET content = ''",
            "DELETE FROM audit_auditevent",
        ):
            with pytest.raises(psycopg.Error, match="append-only"):
                c.execute(statement + f" WHERE id = {event.pk}")
    # The app role may call the purge function, but only sees its scope's rows: none here.
    with app_connection() as c:
        assert c.execute("SELECT audit_purge_content(%s)", [[event.pk]]).fetchone()[0] == 0
    with every_agency():
        event.refresh_from_db()
    assert event.content != ""


def test_held_records_by_channel_and_date(agency, admin):
    channel = make_channel(agency, administrator=admin)
    now = timezone.now()
    comments = [
        IncomingComment(f"c{i}", "p1", None, f"u{i}", f"Pat {i}", f"pat{i}", f"hello {i}", now)
        for i in range(3)
    ]
    ingest.archive_comments(channel=channel, batch=CommentBatch(comments, None))
    other = make_channel(agency, administrator=admin)
    ingest.archive_comments(
        channel=other,
        batch=CommentBatch(
            [IncomingComment("d1", "p2", None, "u9", "Kim", "kim", "hi", now)], None
        ),
    )
    place_hold(member=admin, reason="Protest inquiry", channel_id=channel.pk)

    report = _sweep(agency, ahead=timedelta(days=91))["moderation.comment.quiet"]

    assert report.purged == 1 and len(report.held) == 3
    assert set(Comment.objects.values_list("channel_id", flat=True)) == {channel.pk}
    assert CommentVersion.objects.count() == 3
    # A date range outside the comments' dates holds nothing.
    assert not _sweep(agency, ahead=timedelta(days=1))["moderation.comment.quiet"].purged


def test_comments_acted_on_are_kept_longer(agency, admin):
    channel = make_channel(agency, administrator=admin)
    now = timezone.now()
    ingest.archive_comments(
        channel=channel,
        batch=CommentBatch(
            [
                IncomingComment("a", "p", None, "u1", "Pat", "pat", "Thanks for the update", now),
                IncomingComment("b", "p", None, "u2", "Kim", "kim", "call me 612-555-0182", now),
            ],
            None,
        ),
    )
    reports = _sweep(agency, ahead=timedelta(days=91))
    assert reports["moderation.comment.quiet"].purged == 1
    assert reports["moderation.comment.acted"].purged == 0
    assert list(Comment.objects.values_list("platform_comment_id", flat=True)) == ["b"]


def test_an_administrator_sets_a_period_and_it_is_recorded(client, agency, admin):
    client.force_login(admin.user)
    response = client.post(
        reverse("audit:set_retention"), {"kind": "moderation.comment.quiet", "days": 30}
    )
    assert response.status_code == 302
    assert RetentionRule.objects.get(kind="moderation.comment.quiet").days == 30
    changed = AuditEvent.objects.get(action=Action.RETENTION_RULE_CHANGED)
    assert changed.details == {"kind": "moderation.comment.quiet", "from_days": 90, "to_days": 30}
    body = client.get(reverse("audit:retention"), follow=True).content.decode()
    assert "Public comments that needed no action" in body


def test_a_period_below_the_kinds_minimum_is_refused(client, agency, admin):
    client.force_login(admin.user)
    response = client.post(
        reverse("audit:set_retention"), {"kind": "audit.event", "days": 30}, follow=True
    )
    assert "Record entry content must be kept at least 365 days." in response.content.decode()
    assert not RetentionRule.objects.exists()
    with pytest.raises(RetentionError):
        set_retention(administrator=admin, kind_name="audit.event", days=364)


def test_an_auditor_places_and_releases_a_hold(client, agency, admin):
    auditor = make_member(agency, role=Role.AUDITOR, username="aude")
    client.force_login(auditor.user)
    response = client.post(
        reverse("audit:hold_list"),
        {"reason": "Case <b>24-113</b>", "person": "pat", "starts_on": "2026-01-01"},
    )
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert hold.placed_by_label == "aude" and hold.person == "pat"
    placed = AuditEvent.objects.get(action=Action.LEGAL_HOLD_PLACED)
    assert placed.actor_label == "aude" and placed.reason == "Case <b>24-113</b>"
    body = client.get(reverse("audit:hold_list")).content.decode()
    assert "Case &lt;b&gt;24-113&lt;/b&gt;" in body and "In force" in body

    response = client.post(reverse("audit:release_hold", args=[hold.pk]), {"reason": "Closed"})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.released_by_label == "aude" and not hold.is_active
    # An auditor still may not change a retention period.
    response = client.post(reverse("audit:set_retention"), {"kind": "audit.event", "days": 999})
    assert response.status_code == 403 and not RetentionRule.objects.exists()


def test_a_hold_that_names_nothing_is_explained_and_not_placed(client, agency, admin):
    client.force_login(admin.user)
    events = AuditEvent.objects.count()
    response = client.post(reverse("audit:hold_list"), {"reason": "Case 1"})
    assert response.status_code == 400
    assert "A hold must name a record, a kind of record, a channel, a person or dates." in (
        response.content.decode()
    )
    assert not LegalHold.objects.exists() and AuditEvent.objects.count() == events
    response = client.post(reverse("audit:hold_list"), {"reason": "Case 1", "record_id": "12"})
    assert "Say which kind of record the record id belongs to." in response.content.decode()
    assert not LegalHold.objects.exists()


def test_the_purge_command_refuses_held_records_with_a_clear_message(agency, admin):
    ids = sorted(_with_content(agency).values_list("pk", flat=True))
    place_hold(member=admin, reason="Subpoena 9", kind="audit.event")
    with pytest.raises(CommandError) as refused:
        call_command("purge_records", "--agency", "metro", "--kind", "audit.event", *map(str, ids))
    assert "under legal hold (hold #" in str(refused.value)
    assert _with_content(agency).filter(pk__in=ids).count() == len(ids)
    assert AuditEvent.objects.filter(action=Action.PURGE_REFUSED).count() == 1
    with pytest.raises(CommandError, match="There is no kind of record called"):
        call_command("purge_records", "--agency", "metro", "--kind", "posts", "1")


def test_only_the_purge_function_removes_archived_comment_versions(transactional_db):
    agency = make_agency(name="Versions PD")
    admin = make_member(agency, role=Role.ADMINISTRATOR, username="alex")
    with agency_scope(agency):
        channel = make_channel(agency, administrator=admin)
        batch = [IncomingComment("c1", "p1", None, "u1", "Pat", "pat", "hello", timezone.now())]
        ingest.archive_comments(channel=channel, batch=CommentBatch(batch, None))
        comment = Comment.objects.get()
    # The app role cannot borrow the purge's flag: it is not the table's owner.
    with app_connection() as c:
        c.execute("SELECT set_config('smc.every_agency', 'on', false)")
        c.execute("SELECT set_config('smc.comment_purge', 'on', false)")
        with pytest.raises(psycopg.Error, match="append-only"):
            c.execute(f"DELETE FROM moderation_commentversion WHERE comment_id = {comment.pk}")
    # Through the function, in the agency's scope, they go (retention's purge).
    with app_connection() as c:
        c.execute("SELECT set_config('smc.every_agency', 'on', false)")
        purged = c.execute("SELECT moderation_purge_comment_versions(%s)", [[comment.pk]])
        assert purged.fetchone()[0] == 1
    with every_agency():
        assert not CommentVersion.objects.filter(comment_id=comment.pk).exists()
