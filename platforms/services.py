"""What administrators and the clock do to channels (C1–C3)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.services import record_event
from platforms.credentials import secret_aad, store_secrets
from platforms.crypto import (
    CredentialUnreadable,
    Sealed,
    associated_data,
    current_key_id,
    seal,
    unseal,
)
from platforms.models import Channel, ChannelSecret, PlatformApp
from smc.errors import SmcError
from smc.tenancy import agency_scope, every_agency


class ChannelError(SmcError):
    pass


def _clock_actor(channel: Channel, label: str = "system"):
    return system_actor(agency_id=channel.agency_id, agency_label=channel.agency.name, label=label)


@transaction.atomic
def mark_needs_reconnect(*, channel: Channel, reason: str) -> Channel:
    """C2: a dead credential stops all calls until an administrator reconnects."""
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    if channel.status == Channel.Status.NEEDS_RECONNECT:
        return channel
    channel.status, channel.status_reason = Channel.Status.NEEDS_RECONNECT, reason
    channel.save(update_fields=["status", "status_reason"])
    record_event(actor=_clock_actor(channel), action=Action.CHANNEL_NEEDS_RECONNECT,
                 subject=channel, outcome=Outcome.FAILURE, reason=reason)  # fmt: skip
    return channel


def report_unreadable_credential(*, channel: Channel, error: CredentialUnreadable) -> Channel:
    """Fail closed and say so: the channel stops until it is reconnected."""
    record_event(actor=_clock_actor(channel), action=Action.CREDENTIAL_UNREADABLE,
                 subject=channel, outcome=Outcome.FAILURE, reason=str(error))  # fmt: skip
    return mark_needs_reconnect(
        channel=channel,
        reason="Its stored credential could not be read. Reconnect it to continue.",
    )


@dataclass(frozen=True)
class ReencryptOutcome:
    reencrypted: int
    current: int
    unreadable: int


def reencrypt_credentials(*, dry_run: bool = False) -> ReencryptOutcome:
    """Operator: move every credential under the newest key. Spans agencies by nature."""
    newest = current_key_id()
    reencrypted = current = unreadable = 0
    with every_agency():
        agency_ids = list(ChannelSecret.objects.values_list("agency_id", flat=True).distinct())
    for agency_id in agency_ids:
        with agency_scope(agency_id), transaction.atomic():
            for secret in ChannelSecret.objects.select_for_update().select_related("channel"):
                if secret.key_id == newest:
                    current += 1
                    continue
                aad = _secret_aad(secret)
                try:
                    plaintext = unseal(Sealed(bytes(secret.ciphertext), secret.key_id), aad=aad)
                except CredentialUnreadable as error:
                    unreadable += 1
                    if not dry_run:
                        report_unreadable_credential(channel=secret.channel, error=error)
                    continue
                reencrypted += 1
                if not dry_run:
                    sealed = seal(plaintext, aad=aad)
                    secret.ciphertext, secret.key_id = sealed.ciphertext, sealed.key_id
                    secret.save(update_fields=["ciphertext", "key_id", "updated_at"])
    with every_agency():
        for app in PlatformApp.objects.exclude(key_id=newest):
            if dry_run:
                reencrypted += 1
                continue
            aad = app_aad(app.platform, app.origin)
            try:
                plaintext = unseal(Sealed(bytes(app.client_secret_ciphertext), app.key_id), aad=aad)
            except CredentialUnreadable:
                unreadable += 1
                continue
            sealed = seal(plaintext, aad=aad)
            app.client_secret_ciphertext, app.key_id = sealed.ciphertext, sealed.key_id
            app.save(update_fields=["client_secret_ciphertext", "key_id"])
            reencrypted += 1
    return ReencryptOutcome(reencrypted, current, unreadable)


def _secret_aad(secret: ChannelSecret) -> bytes:
    return secret_aad(agency_id=secret.agency_id, channel_id=secret.channel_id, field=secret.field)


def app_aad(platform: str, origin: str) -> bytes:
    return associated_data(agency_id=None, owner=f"app={platform}:{origin}", field="client_secret")


def touch_sync(*, channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(last_sync_at=timezone.now())


@transaction.atomic
def connect_channel(*, administrator, platform: str, account) -> Channel:
    """C1: store a connected account as a channel (or revive it on reconnect).

    `account` is the adapter's ConnectedAccount; its secrets go straight to encrypted
    storage and are never kept on the channel row."""
    channel = (
        Channel.objects.select_for_update()
        .filter(
            agency=administrator.agency, platform=platform, platform_account_id=account.account_id
        )  # fmt: skip
        .first()
    )
    reconnected = channel is not None
    if channel is None:
        channel = Channel(agency=administrator.agency, platform=platform,
                          platform_account_id=account.account_id)  # fmt: skip
    channel.name = account.display_name or account.handle
    channel.handle = account.handle
    channel.base_urls = dict(account.base_urls)
    channel.settings = {**channel.settings, **account.settings}
    channel.status, channel.status_reason = Channel.Status.CONNECTED, ""
    channel.connected_by, channel.connected_at = administrator, timezone.now()
    channel.save()
    # Fields a reconnect no longer has (an old refresh token) must not linger.
    ChannelSecret.objects.filter(channel=channel).exclude(field__in=account.secrets).delete()
    store_secrets(channel=channel, secrets=account.secrets)
    record_event(actor=administrator, action=Action.CHANNEL_CONNECTED, subject=channel,
                 details={"reconnected": reconnected})  # fmt: skip
    return channel


def check_compliance(*, channel: Channel) -> Channel:
    """C3: read the channel's public profile and store what it lacks.

    Raises RetryLater for the task to retry; a dead credential marks the channel."""
    from platforms.adapters.base import NeedsReconnect, Rejected
    from platforms.compliance import profile_problems
    from platforms.credentials import get_adapter

    try:
        profile = get_adapter(channel).read_profile()
    except CredentialUnreadable as error:
        report_unreadable_credential(channel=channel, error=error)
        return channel
    except NeedsReconnect as error:
        return mark_needs_reconnect(channel=channel, reason=error.reason)
    except Rejected as error:
        problems = [f"SMC could not read the profile: {error.reason}"]
    else:
        agency = channel.agency
        problems = profile_problems(
            profile,
            agency_name=agency.name,
            statement=agency.profile_statement,
            website=agency.website,
        )
    Channel.objects.filter(pk=channel.pk).update(
        compliance_problems=problems, compliance_checked_at=timezone.now()
    )
    channel.refresh_from_db()
    return channel


@transaction.atomic
def disconnect_channel(*, administrator, channel: Channel) -> Channel:
    """Stop using a channel and forget its credentials; its record stays."""
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    if channel.status == Channel.Status.DISCONNECTED:
        raise ChannelError("This channel is disconnected already.")
    ChannelSecret.objects.filter(channel=channel).delete()
    channel.status, channel.status_reason = Channel.Status.DISCONNECTED, ""
    channel.save(update_fields=["status", "status_reason"])
    record_event(actor=administrator, action=Action.CHANNEL_DISCONNECTED, subject=channel)
    return channel
