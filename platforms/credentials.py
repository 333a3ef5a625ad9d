"""The one place a channel's credentials are decrypted (C1).

Credentials go from here into an adapter and nowhere else: never to a template, a log
line, an audit event or a Celery message (tasks carry channel ids and call
get_adapter() in the worker).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from platforms.adapters import get_adapter_class
from platforms.adapters.base import ChannelCredentials, PlatformAdapter
from platforms.crypto import Sealed, associated_data, seal, unseal
from platforms.models import Channel, ChannelSecret, Platform


def secret_aad(*, agency_id: int, channel_id: int, field: str) -> bytes:
    return associated_data(agency_id=agency_id, owner=f"channel={channel_id}", field=field)


def _aad(channel: Channel, field: str) -> bytes:
    return secret_aad(agency_id=channel.agency_id, channel_id=channel.pk, field=field)


def store_secrets(*, channel: Channel, secrets: dict[str, str]) -> None:
    """Encrypt and store (or replace) credential fields of a channel."""
    from django.utils import timezone

    with transaction.atomic():
        # When the credential last changed (a connect or a refresh), for the sweep that
        # refreshes tokens before they expire. A fact about the secret, not the secret.
        Channel.objects.filter(pk=channel.pk).update(secrets_changed_at=timezone.now())
        for field, value in secrets.items():
            sealed = seal(value, aad=_aad(channel, field))
            ChannelSecret.objects.update_or_create(
                agency_id=channel.agency_id,
                channel=channel,
                field=field,
                defaults={"ciphertext": sealed.ciphertext, "key_id": sealed.key_id},
            )


def read_secrets(channel: Channel) -> dict[str, str]:
    """Decrypt a channel's credentials. Raises CredentialUnreadable (fails closed)."""
    return {
        secret.field: unseal(Sealed(bytes(secret.ciphertext), secret.key_id),
                             aad=_aad(channel, secret.field))
        for secret in ChannelSecret.objects.filter(channel=channel)
    }  # fmt: skip


def platform_base_urls(platform: str) -> dict[str, str]:
    """The platform-wide API bases from settings (a simulator in tests and the demo)."""
    bases = settings.SMC_PLATFORM_BASES
    return {
        Platform.FACEBOOK: {"www": bases["FB_WWW_BASE"], "graph": bases["FB_GRAPH_BASE"]},
        Platform.X: {"www": bases["X_WWW_BASE"], "api": bases["X_API_BASE"]},
        Platform.YOUTUBE: {
            "accounts": bases["GOOGLE_ACCOUNTS_BASE"],
            "oauth": bases["GOOGLE_OAUTH_BASE"],
            "api": bases["YOUTUBE_API_BASE"],
        },
        Platform.MASTODON: {},
        Platform.BLUESKY: {"service": bases["BSKY_SERVICE"]},
    }[platform]


def credentials_for(channel: Channel) -> ChannelCredentials:
    return ChannelCredentials(
        platform=channel.platform,
        account_id=channel.platform_account_id,
        handle=channel.handle,
        base_urls={**platform_base_urls(channel.platform), **channel.base_urls},
        settings=dict(channel.settings),
        secrets=read_secrets(channel),
        # Refresh tokens rotate: the new pair must be stored before it is needed again.
        on_secrets_changed=lambda secrets: store_secrets(channel=channel, secrets=secrets),
        channel_id=channel.pk,
    )


def get_adapter(channel: Channel, **options) -> PlatformAdapter:
    """house-style §13: the one way to talk to a platform. Workers share one rate book
    in Redis, so a limit one of them has seen stops the others too."""
    from platforms.ratebook import SharedRateBook

    options.setdefault("rate_book", SharedRateBook())
    if channel.platform == Platform.X:
        # A confidential X app authenticates its refresh requests with its secret.
        from platforms.adapters.base import OAuthClient

        client_id, client_secret = settings.SMC_OAUTH_CLIENTS["x"]
        if client_id:
            options.setdefault("client", OAuthClient(client_id, client_secret))
    return get_adapter_class(channel.platform)(credentials_for(channel), **options)
