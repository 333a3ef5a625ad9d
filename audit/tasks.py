import logging

from celery import shared_task

from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.exports import services as exports
from audit.services import record_event, verify_chains
from smc.tenancy import agency_scope, agency_task

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def verify_audit_chains() -> int:
    """Beat (R2): walk every chain. A broken one is logged for the operator and recorded
    in that agency's own record, so its auditors see it too."""
    broken = 0
    for report in verify_chains():
        if report.ok:
            continue
        broken += 1
        log.error("audit chain broken: %s", report.describe())
        actor = system_actor(
            agency_id=report.agency_id, agency_label=report.agency_label, label="record check"
        )
        record_event(
            actor=actor,
            action=Action.CHAIN_BROKEN,
            outcome=Outcome.FAILURE,
            reason=report.describe(),
            details={"seq": report.broken_seq},
        )
    return broken


# Exports run on their own queue ("exports", settings.CELERY_TASK_ROUTES), so a
# million-entry package never delays comment polling or posting. The limits sit below
# the broker's visibility timeout so a running export is never handed out twice.
@shared_task(acks_late=True, soft_time_limit=3000, time_limit=3300)
@agency_task
def make_export(*, agency_id: int, export_id: int) -> None:
    exports.make_export(export_id=export_id)


@shared_task(acks_late=True)
def remove_expired_exports() -> int:
    """Beat: expired export files are deleted, each removal recorded."""
    removed = 0
    for agency_id in exports.agencies_with_expired_exports():
        with agency_scope(agency_id):
            removed += exports.remove_expired_exports(agency_id=agency_id)
    return removed
