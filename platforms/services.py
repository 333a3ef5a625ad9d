"""What administrators and the clock do to channels (C1–C3)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

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
    """C2: a dead credential stops all calls until an administrator reconnects; the
    agency's administrators are told by email."""
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    if channel.status == Channel.Status.NEEDS_RECONNECT:
        return channel
    channel.status, channel.status_reason = Channel.Status.NEEDS_RECONNECT, reason
    channel.save(update_fields=["status", "status_reason"])
    record_event(actor=_clock_actor(channel), action=Action.CHANNEL_NEEDS_RECONNECT,
                 subject=channel, outcome=Outcome.FAILURE, reason=reason)  # fmt: skip
    recipients = administrator_emails(channel.agency)
    subject = _("%s needs to be reconnected") % channel
    body = _(
        "SMC can no longer use %(channel)s: %(reason)s\n\nUntil an administrator reconnects "
        "it (Channels → %(channel)s → Connect again), nothing is published to it and its "
        "comments are not read.\n%(url)s"
    ) % {"channel": channel, "reason": reason, "url": settings.SMC_BASE_URL.rstrip("/")
         + reverse("platforms:channel_detail", args=[channel.pk])}  # fmt: skip
    if recipients:
        transaction.on_commit(lambda: send_mail(subject, body, None, recipients))
    return channel


def administrator_emails(agency) -> list[str]:
    from accounts.models import Membership, Role

    return list(
        Membership.objects.filter(agency=agency, role=Role.ADMINISTRATOR, is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def call_platform(channel: Channel, operation, **adapter_options):
    """Run `operation(adapter)` for a channel and keep the channel's status true to what
    the platform said: a dead credential marks it, a rate limit shows until when.
    Adapter errors are re-raised for the caller to decide what happens to its work.
    `adapter_options` go to get_adapter (the publisher's shorter timeouts)."""
    from platforms.adapters.base import NeedsReconnect, RetryLater
    from platforms.credentials import get_adapter

    if channel.status != Channel.Status.CONNECTED:
        raise ChannelError(
            _("%s is not connected. An administrator must reconnect it first.") % channel,
            code="not_connected",
        )
    try:
        return operation(get_adapter(channel, **adapter_options))
    except CredentialUnreadable as error:
        report_unreadable_credential(channel=channel, error=error)
        raise
    except NeedsReconnect as error:
        mark_needs_reconnect(channel=channel, reason=error.reason)
        raise
    except RetryLater as error:
        if error.retry_after and not error.ambiguous and error.retry_after >= 60:
            until = timezone.now() + timedelta(seconds=error.retry_after)
            Channel.objects.filter(pk=channel.pk).update(rate_limited_until=until)
        raise


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
    # Instance registrations (PlatformApp) belong to the installation, not to an agency.
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
    # C3: the profile is checked now, not only at the next daily sweep.
    from platforms.tasks import check_channel_compliance

    agency_id, channel_id = channel.agency_id, channel.pk
    transaction.on_commit(
        lambda: check_channel_compliance.delay(agency_id=agency_id, channel_id=channel_id)
    )
    return channel


def check_compliance(*, channel: Channel) -> Channel:
    """C3: read the channel's public profile and store what it lacks.

    Raises RetryLater for the task to retry; a dead credential marks the channel."""
    from platforms.adapters.base import NeedsReconnect, Rejected
    from platforms.compliance import profile_problems

    try:
        profile = call_platform(channel, lambda adapter: adapter.read_profile())
    except (CredentialUnreadable, NeedsReconnect):
        return channel  # call_platform marked it; the profile is checked after reconnect
    except Rejected as error:
        problems = [_("SMC could not read the profile: %s") % error.reason]
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


def refresh_credential(*, channel: Channel) -> None:
    """Renew a channel's access token before it expires (X, YouTube, Bluesky)."""
    from platforms.adapters.base import NeedsReconnect

    # A dead credential: call_platform has marked the channel and told its administrators.
    with contextlib.suppress(CredentialUnreadable, NeedsReconnect):
        call_platform(channel, lambda adapter: adapter.refresh())


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


DRAFT_FOR = "platforms.draft_for_channel"


@transaction.atomic
def set_channel_people(*, administrator, channel: Channel, memberships) -> list:
    """Who may use a channel (draft posts for it). An officer's own official account is
    usually theirs alone. Only active members of the channel's agency qualify."""
    from guardian.shortcuts import assign_perm, remove_perm

    from platforms.selectors import channel_people

    wanted = {m.user_id: m for m in memberships}
    if any(m.agency_id != channel.agency_id or not m.is_active for m in wanted.values()):
        raise ChannelError(_("Only active members of this agency can use its channels."))
    current = {m.user_id: m for m in channel_people(channel)}
    for user_id, membership in wanted.items():
        if user_id not in current:
            assign_perm(DRAFT_FOR, membership.user, channel)
    for user_id, membership in current.items():
        if user_id not in wanted:
            remove_perm(DRAFT_FOR, membership.user, channel)
            # Publishing without approval is a way of using the channel: it goes too.
            remove_perm(PUBLISH_TO, membership.user, channel)
    before = sorted(m.user.username for m in current.values())
    after = sorted(m.user.username for m in wanted.values())
    if before != after:
        record_event(actor=administrator, action=Action.CHANNEL_PEOPLE_CHANGED, subject=channel,
                     details={"before": before, "after": after})  # fmt: skip
    return list(wanted.values())


# --- Publishing without approval (A4, A5) ----------------------------------------------------

PUBLISH_TO = "platforms.publish_to_channel"


@transaction.atomic
def set_channel_publishers(*, administrator, channel: Channel, memberships) -> list:
    """Who may publish to the channel without approval. Each must already use the
    channel and hold training in date (A5); the daily sweep removes the right when the
    training expires."""
    from guardian.shortcuts import assign_perm, remove_perm

    from accounts.authority import trained_member_ids
    from platforms.selectors import channel_people, channel_publishers

    wanted = {m.user_id: m for m in memberships}
    users = {m.user_id for m in channel_people(channel)}
    trained = trained_member_ids(channel.agency)
    for membership in wanted.values():
        if membership.agency_id != channel.agency_id or not membership.is_active:
            raise ChannelError(_("Only active members of this agency can use its channels."))
        if membership.user_id not in users:
            raise ChannelError(_("%s does not use this channel: add them to its users first.")
                               % membership.user)  # fmt: skip
        if membership.pk not in trained:
            raise ChannelError(_("%s has no training in date: record their training first.")
                               % membership.user)  # fmt: skip
    current = {m.user_id: m for m in channel_publishers(channel)}
    for user_id, membership in wanted.items():
        if user_id not in current:
            assign_perm(PUBLISH_TO, membership.user, channel)
    for user_id, membership in current.items():
        if user_id not in wanted:
            remove_perm(PUBLISH_TO, membership.user, channel)
    before = sorted(m.user.username for m in current.values())
    after = sorted(m.user.username for m in wanted.values())
    if before != after:
        record_event(actor=administrator, action=Action.CHANNEL_PUBLISHERS_CHANGED,
                     subject=channel, details={"before": before, "after": after})  # fmt: skip
    return list(wanted.values())


@transaction.atomic
def set_channel_needs_approval(*, administrator, channel: Channel, needs_approval: bool) -> Channel:
    """A5: every post to this channel goes to a supervisor, whoever writes it."""
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    if channel.needs_approval != needs_approval:
        channel.needs_approval = needs_approval
        channel.save(update_fields=["needs_approval"])
        record_event(actor=administrator, action=Action.CHANNEL_APPROVAL_CHANGED, subject=channel,
                     details={"before": not needs_approval, "after": needs_approval})  # fmt: skip
    return channel


@transaction.atomic
def withdraw_lapsed_publish_rights(*, agency) -> int:
    """The daily sweep (A5), inside the agency's scope: whoever publishes without
    approval but has no training in date loses that right on every channel, on the record.
    Returns how many rights were removed."""
    from accounts.authority import trained_member_ids
    from accounts.models import Membership
    from platforms.models import ChannelPermission

    trained_users = set(
        Membership.objects.filter(pk__in=trained_member_ids(agency), is_active=True)
        .values_list("user_id", flat=True)
    )  # fmt: skip
    lapsed = (
        ChannelPermission.objects.filter(agency=agency, permission__codename="publish_to_channel")
        .exclude(user_id__in=trained_users)
        .select_related("content_object", "user")
        .order_by("pk")
    )
    actor = system_actor(agency_id=agency.pk, agency_label=agency.name, label="training sweep")
    removed = 0
    for right in lapsed:
        channel, user = right.content_object, right.user
        right.delete()
        removed += 1
        record_event(actor=actor, action=Action.PUBLISH_RIGHTS_LAPSED, subject=channel,
                     details={"member": user.username})  # fmt: skip
    return removed
