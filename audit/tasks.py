import logging

from celery import shared_task

from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.services import record_event, verify_chains

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
