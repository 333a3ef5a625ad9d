"""R5 in the background: beat's daily purge runs on a real Celery worker."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEvent
from audit.retention import place_hold, set_retention
from audit.services import verify_chain
from audit.tasks import purge_expired_records_everywhere
from moderation import ingest
from moderation.models import Comment
from platforms.adapters.base import CommentBatch, IncomingComment
from smc.tenancy import agency_scope
from tests.conftest import wait_for
from tests.factories import make_agency, make_channel, make_member


def test_the_daily_purge_runs_on_a_worker_and_spares_held_comments(celery_worker):
    assert (
        settings.CELERY_BEAT_SCHEDULE["purge-expired-records"]["task"]
        == "audit.tasks.purge_expired_records_everywhere"
    )
    agency = make_agency(name="Worker PD", slug="worker-pd")
    admin = make_member(agency, role="administrator", username="chief")
    with agency_scope(agency):
        channel = make_channel(agency, administrator=admin)
        now = timezone.now()
        comments = [
            IncomingComment(f"c{i}", "p", None, f"u{i}", f"Pat {i}", f"pat{i}", "hello", now)
            for i in range(3)
        ]
        ingest.archive_comments(channel=channel, batch=CommentBatch(comments, None))
        Comment.objects.update(changed_at=now - timedelta(days=2))
        set_retention(administrator=admin, kind_name="moderation.comment.quiet", days=1)
        place_hold(member=admin, reason="Complaint 5", person="pat1")

    purge_expired_records_everywhere.delay()

    def purged():
        with agency_scope(agency):
            return AuditEvent.objects.filter(action=Action.RECORDS_PURGED).exists()

    wait_for(purged, what="the worker to purge", process=celery_worker)
    with agency_scope(agency):
        assert list(Comment.objects.values_list("platform_comment_id", flat=True)) == ["c1"]
        refused = AuditEvent.objects.get(action=Action.PURGE_REFUSED)
        assert refused.details["kind"] == "moderation.comment.quiet"
        assert verify_chain(agency.pk).ok
