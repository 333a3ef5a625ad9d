"""Publishing under Celery (P3, P4): beat's tick and sweep, one task per publication.

Tasks carry ids and a lease token only; the Publication row is the truth. A lost or
repeated message is therefore harmless: a task without the row's current lease does
nothing, and a row whose task never ran is claimed again when its lease runs out.
No Celery ETA or countdown schedules a post: due times live in PostgreSQL.
"""

from celery import shared_task

from posting.services import publishing
from smc.tenancy import agency_task

_SOFT_LIMIT, _HARD_LIMIT = publishing.task_time_limits()


@shared_task(acks_late=True)
def publish_due_posts() -> int:
    """Beat, every second or two: one publish task per publication due."""
    claims = publishing.claim_due_publications()
    for claim in claims:
        publish_publication.delay(
            agency_id=claim.agency_id,
            publication_id=claim.publication_id,
            lease_token=claim.lease_token,
        )
    return len(claims)


@shared_task(acks_late=True)
def sweep_publication_leases() -> int:
    """Beat: attempts whose worker died become UNKNOWN, to be looked up on the platform."""
    return publishing.sweep_expired_leases()


# acks_late and reject-on-worker-lost (settings) make a killed worker's message go back
# to the queue; the lease makes running it twice harmless. The time limits stay inside
# the lease, so a running attempt always still holds its row.
@shared_task(acks_late=True, soft_time_limit=_SOFT_LIMIT, time_limit=_HARD_LIMIT)
@agency_task
def publish_publication(*, agency_id: int, publication_id: int, lease_token: str) -> str:
    return publishing.publish_publication(publication_id=publication_id, lease_token=lease_token)
