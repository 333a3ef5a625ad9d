import logging

from celery import shared_task

from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.anchoring import checkpoint_every_chain
from audit.exports import services as exports
from audit.retention import purge_expired_records
from audit.services import chain_agency_ids, record_event, verify_chains
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


@shared_task(acks_late=True)
def checkpoint_audit_chains() -> int:
    """Beat (R2): sign each chain's head into SMC_AUDIT_CHECKPOINT_DIR."""
    written = checkpoint_every_chain()
    for path in written:
        log.info("audit checkpoint written: %s", path)
    return len(written)


@shared_task(acks_late=True)
def purge_expired_records_everywhere() -> int:
    """Beat (R5): one purge task per agency that has a record."""
    agencies = [a for a in chain_agency_ids() if a is not None]
    for agency_id in agencies:
        purge_expired_records_of.delay(agency_id=agency_id)
    return len(agencies)


@shared_task(acks_late=True)
@agency_task
def purge_expired_records_of(*, agency_id: int) -> int:
    """Purge one agency's records past their retention period, never a held one. Running
    it twice does no harm: a purged record is no longer expired-and-present."""
    reports = purge_expired_records(agency_id=agency_id)
    return sum(r.purged for r in reports)


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
