"""The approval clock under Celery beat (P2). Imported by PostingConfig.ready so workers
register it; posting/tasks.py belongs to publishing."""

from celery import shared_task

from smc.tenancy import agency_task


@shared_task(acks_late=True)
def escalate_overdue_approvals() -> int:
    """Beat, every minute: one escalation pass per agency with approvals waiting at a unit."""
    from posting.queue import agency_ids_with_waiting_approvals

    agency_ids = agency_ids_with_waiting_approvals()
    for agency_id in agency_ids:
        escalate_agency_approvals.delay(agency_id=agency_id)
    return len(agency_ids)


@shared_task(acks_late=True)
@agency_task
def escalate_agency_approvals(*, agency_id: int) -> int:
    from accounts.selectors import agency_by_id
    from posting.services.approval import escalate_overdue

    return len(escalate_overdue(agency=agency_by_id(agency_id)))
