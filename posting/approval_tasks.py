"""The approval clock under Celery beat (P2). Imported by PostingConfig.ready so workers
register it; posting/tasks.py belongs to publishing."""

from celery import shared_task

from smc.tenancy import agency_task, every_agency


def agency_ids_with_waiting_approvals() -> list[int]:
    from posting.models import Post

    # The tick covers every agency: it only lists ids; each agency escalates in its scope.
    with every_agency():
        return sorted(
            set(
                Post.objects.filter(
                    status=Post.Status.AWAITING_APPROVAL, awaiting_unit__isnull=False
                ).values_list("agency_id", flat=True)
            )
        )


@shared_task(acks_late=True)
def escalate_overdue_approvals() -> int:
    """Beat, every minute: one escalation pass per agency with approvals waiting at a unit."""
    agency_ids = agency_ids_with_waiting_approvals()
    for agency_id in agency_ids:
        escalate_agency_approvals.delay(agency_id=agency_id)
    return len(agency_ids)


@shared_task(acks_late=True)
@agency_task
def escalate_agency_approvals(*, agency_id: int) -> int:
    from accounts.models import Agency
    from posting.services.approval import escalate_overdue

    return len(escalate_overdue(agency=Agency.objects.get(pk=agency_id)))
