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


@shared_task(acks_late=True)
def refresh_expiring_credentials() -> int:
    """Beat: refresh the tokens that would expire before the next sweep (C1). Access
    tokens live an hour (YouTube) or two (X, Bluesky); the sweep runs every 15 minutes
    and refreshes those last renewed over 30 minutes ago."""
    due = selectors.channels_to_refresh_everywhere()
    for agency_id, channel_id in due:
        refresh_channel_credential.delay(agency_id=agency_id, channel_id=channel_id)
    return len(due)


@shared_task(bind=True, acks_late=True, max_retries=5)
@agency_task
def refresh_channel_credential(self, *, agency_id: int, channel_id: int) -> None:
    channel = selectors.channel_by_id(channel_id)
    if channel is None:
        return
    try:
        services.refresh_credential(channel=channel)
    except RetryLater as error:
        raise self.retry(countdown=error.retry_after or backoff(self.request.retries)) from None


@shared_task(acks_late=True)
def withdraw_lapsed_publish_rights_everywhere() -> int:
    """Beat, daily (A5): one sweep per agency where someone publishes without approval."""
    agency_ids = selectors.agency_ids_with_publishers()
    for agency_id in agency_ids:
        withdraw_lapsed_publish_rights.delay(agency_id=agency_id)
    return len(agency_ids)


@shared_task(acks_late=True)
@agency_task
def withdraw_lapsed_publish_rights(*, agency_id: int) -> int:
    from accounts.selectors import agency_by_id

    return services.withdraw_lapsed_publish_rights(agency=agency_by_id(agency_id))
