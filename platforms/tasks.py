from celery import shared_task

from platforms import selectors, services
from platforms.adapters.base import RetryLater, backoff
from smc.tenancy import agency_task


@shared_task(acks_late=True)
def check_every_channel_compliance() -> int:
    """Beat, daily (C3): one task per connected channel of every agency."""
    due = selectors.connected_channel_ids_everywhere()
    for agency_id, channel_id in due:
        check_channel_compliance.delay(agency_id=agency_id, channel_id=channel_id)
    return len(due)


@shared_task(bind=True, acks_late=True, max_retries=5)
@agency_task
def check_channel_compliance(self, *, agency_id: int, channel_id: int) -> None:
    channel = selectors.channel_by_id(channel_id)
    if channel is None:
        return
    try:
        services.check_compliance(channel=channel)
    except RetryLater as error:
        raise self.retry(countdown=error.retry_after or backoff(self.request.retries)) from None
