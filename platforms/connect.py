"""C1: connecting a channel through the platform's own flow.

OAuth platforms (Facebook, X, YouTube, Mastodon): start() gives the address of the
platform's consent page, with a fresh state (and PKCE where the platform has it); the
pending state stays in the administrator's session; finish() checks it and stores the
account. Bluesky: the handle and an app password, checked by logging in.

Every refusal gets a message the administrator can act on, stores nothing, and is
recorded.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from audit.actions import Action, Outcome
from audit.services import record_event
from platforms.adapters import get_connector_class
from platforms.adapters.base import ConnectRefused, ConnectStart, OAuthClient
from platforms.credentials import platform_base_urls
from platforms.crypto import Sealed, seal, unseal
from platforms.models import Channel, Platform, PlatformApp
from platforms.services import ChannelError, app_aad, connect_channel
from smc.tenancy import every_agency

OAUTH_PLATFORMS = (Platform.FACEBOOK, Platform.X, Platform.YOUTUBE, Platform.MASTODON)


@dataclass
class Pending:
    """What the session keeps between start and callback (no credential in it)."""

    platform: str
    state: str
    code_verifier: str | None
    instance: str = ""

    def as_session(self) -> dict:
        return asdict(self)


def redirect_uri(platform: str) -> str:
    return settings.SMC_BASE_URL.rstrip("/") + reverse("platforms:connect_callback",
                                                       args=[platform])  # fmt: skip


def instance_origin(url: str) -> str:
    """A Mastodon instance as its origin: 'mastodon.social' → 'https://mastodon.social'."""
    url = url.strip()
    if "//" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelError(_("“%s” is not a web address. Enter the instance, e.g. "
                             "mastodon.social.") % url)  # fmt: skip
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _oauth_client(platform: str) -> OAuthClient:
    client_id, client_secret = settings.SMC_OAUTH_CLIENTS[platform]
    if not client_id:
        raise ChannelError(
            _("SMC has no %s client registration yet. The operator sets it in the "
              "environment (see the README).") % Platform(platform).label
        )  # fmt: skip
    return OAuthClient(client_id, client_secret, redirect_uri(platform))


def _mastodon_client(origin: str) -> OAuthClient:
    """SMC's app on this instance: registered on the fly once, then reused (C1)."""
    uri = redirect_uri(Platform.MASTODON)
    # Instance registrations belong to the installation, not to one agency.
    with every_agency():
        app = PlatformApp.objects.filter(platform=Platform.MASTODON, origin=origin,
                                         redirect_uri=uri).first()  # fmt: skip
        if app is not None:
            secret = unseal(Sealed(bytes(app.client_secret_ciphertext), app.key_id),
                            aad=app_aad(Platform.MASTODON, origin))  # fmt: skip
            return OAuthClient(app.client_id, secret, uri)
        connector_class = get_connector_class(Platform.MASTODON)
        client = connector_class.register_app(instance_url=origin, redirect_uri=uri)
        sealed = seal(client.client_secret, aad=app_aad(Platform.MASTODON, origin))
        PlatformApp.objects.create(platform=Platform.MASTODON, origin=origin,
                                   client_id=client.client_id, redirect_uri=uri,
                                   client_secret_ciphertext=sealed.ciphertext,
                                   key_id=sealed.key_id)  # fmt: skip
        return client


def _connector(platform: str, instance: str = ""):
    if platform == Platform.MASTODON:
        client, base_urls = _mastodon_client(instance), {"instance": instance}
    else:
        client, base_urls = _oauth_client(platform), platform_base_urls(platform)
    return get_connector_class(platform)(base_urls=base_urls, client=client)


def refuse(*, administrator, platform: str, reason: str) -> None:
    record_event(actor=administrator, action=Action.CHANNEL_CONNECT_REFUSED,
                 outcome=Outcome.DENIED, reason=reason, details={"platform": platform})  # fmt: skip


def start_connect(*, administrator, platform: str, instance_url: str = "") -> tuple[str, Pending]:
    """The consent page to send the administrator to, and what to keep until the callback."""
    if platform not in OAUTH_PLATFORMS:
        raise ChannelError(_("That platform does not connect this way."))
    try:
        instance = instance_origin(instance_url) if platform == Platform.MASTODON else ""
    except ChannelError as error:
        refuse(administrator=administrator, platform=platform, reason=error.message)
        raise
    try:
        start = _connector(platform, instance).start(state=secrets.token_urlsafe(32))
    except ConnectRefused as refusal:
        refuse(administrator=administrator, platform=platform, reason=refusal.message)
        raise ChannelError(refusal.message, code=refusal.code) from None
    return start.authorize_url, Pending(platform, start.state, start.code_verifier, instance)


def finish_connect(*, administrator, pending: Pending | None, platform: str,
                   callback_url: str) -> list[Channel]:  # fmt: skip
    """The platform sent the administrator back: check, exchange, store."""
    if pending is None or pending.platform != platform:
        reason = _("This connection was not started here, or it was started too long ago. "
                   "Start it again from the Channels page.")  # fmt: skip
        refuse(administrator=administrator, platform=platform, reason=reason)
        raise ChannelError(reason, code="state")
    start = ConnectStart(authorize_url="", state=pending.state, code_verifier=pending.code_verifier)
    try:
        accounts = _connector(platform, pending.instance).finish(callback_url=callback_url,
                                                                 start=start)  # fmt: skip
    except ConnectRefused as refusal:
        refuse(administrator=administrator, platform=platform, reason=refusal.message)
        raise ChannelError(refusal.message, code=refusal.code) from None
    with transaction.atomic():
        return [connect_channel(administrator=administrator, platform=platform, account=account)
                for account in accounts]  # fmt: skip


def connect_bluesky(*, administrator, identifier: str, app_password: str) -> Channel:
    connector = get_connector_class(Platform.BLUESKY)(
        base_urls=platform_base_urls(Platform.BLUESKY)
    )
    try:
        account = connector.login(identifier=identifier.strip().lstrip("@"),
                                  app_password=app_password.strip())  # fmt: skip
    except ConnectRefused as refusal:
        refuse(administrator=administrator, platform=Platform.BLUESKY, reason=refusal.message)
        raise ChannelError(refusal.message, code=refusal.code) from None
    return connect_channel(administrator=administrator, platform=Platform.BLUESKY, account=account)
