"""Comment ingest under Celery (M1): beat's fair tick, one poll per channel, removals."""

from celery import shared_task

from moderation import ingest, selectors
from smc.tenancy import agency_task


@shared_task(acks_late=True)
def poll_due_channels() -> int:
    """Beat, every few seconds: one poll task per channel due, fairly across agencies."""
    claims = ingest.claim_due_channels()
    for claim in claims:
        poll_channel.delay(
            agency_id=claim.agency_id, channel_id=claim.channel_id, lease_token=claim.lease_token
        )
    return len(claims)


@shared_task(acks_late=True)
@agency_task
def poll_channel(*, agency_id: int, channel_id: int, lease_token: str = "") -> None:
    # No Celery retry: a failed poll reschedules its channel (next_poll_at, with backoff)
    # and the next tick picks it up, so retries share the fair queue with everyone else.
    channel = selectors.channel_for_ingest(channel_id)
    if channel is None:
        return
    ingest.poll_channel(channel=channel, lease_token=lease_token)


@shared_task(acks_late=True)
@agency_task
def archive_removal(
    *, agency_id: int, channel_id: int, platform_comment_id: str, post_id: str, time: int
) -> None:
    channel = selectors.channel_for_ingest(channel_id)
    if channel is None:
        return
    raw = {"source": "facebook webhook", "verb": "remove", "comment_id": platform_comment_id,
           "post_id": post_id, "time": time}  # fmt: skip
    ingest.archive_removal(channel=channel, platform_comment_id=platform_comment_id, raw=raw)


@shared_task(acks_late=True)
@agency_task
def archive_hinted_comment(
    *, agency_id: int, channel_id: int, platform_comment_id: str, post_id: str = ""
) -> None:
    channel = selectors.channel_for_ingest(channel_id)
    if channel is None:
        return
    ingest.archive_hinted_comment(
        channel=channel, platform_comment_id=platform_comment_id, post_id=post_id
    )
