"""Channels: the agency's connected platform accounts (C1–C3), and their credentials."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager
from guardian.managers import UserObjectPermissionManager
from guardian.models import UserObjectPermissionBase

from accounts.models import Agency, AgencyData, Membership


class Platform(models.TextChoices):
    FACEBOOK = "facebook", _("Facebook Page")
    X = "x", _("X")
    YOUTUBE = "youtube", _("YouTube channel")
    MASTODON = "mastodon", _("Mastodon")
    BLUESKY = "bluesky", _("Bluesky")


class Channel(AgencyData):
    """One connected account: the agency's main Page, or an officer's official account."""

    class Status(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnect")
        DISCONNECTED = "disconnected", _("Disconnected")

    platform = models.CharField(max_length=20, choices=Platform.choices)
    name = models.CharField(_("name"), max_length=200)
    handle = models.CharField(_("handle"), max_length=200, blank=True)
    platform_account_id = models.CharField(max_length=200)
    # Where this channel's API lives (a Mastodon instance, a Bluesky PDS); platform-wide
    # bases (Graph, X, Google) come from settings.
    base_urls = models.JSONField(default=dict, blank=True)
    # Non-secret facts the adapter needs (instance limits, Graph version, …).
    settings = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONNECTED)
    status_reason = models.TextField(blank=True)
    rate_limited_until = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(default=timezone.now)
    secrets_changed_at = models.DateTimeField(null=True, blank=True)
    compliance_checked_at = models.DateTimeField(null=True, blank=True)
    compliance_problems = models.JSONField(default=list, blank=True)
    # A5: every post to this channel goes to a supervisor, whoever writes it.
    needs_approval = models.BooleanField(_("every post needs approval"), default=False)

    class Meta:
        ordering = ["platform", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "platform", "platform_account_id"],
                name="one_channel_per_platform_account",
            )
        ]
        indexes = [models.Index(fields=["agency", "status"], name="channel_agency_status")]
        # Per-channel authority (A4), held by django-guardian as object permissions.
        permissions = [
            ("draft_for_channel", "Draft posts for the channel"),
            ("publish_to_channel", "Publish to the channel without approval"),
            ("moderate_channel", "Moderate the channel's comments"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def is_rate_limited(self) -> bool:
        return bool(self.rate_limited_until and self.rate_limited_until > timezone.now())

    def audit_snapshot(self) -> dict:
        # Never a credential: those live in ChannelSecret, encrypted.
        return {
            "platform": self.platform,
            "name": self.name,
            "handle": self.handle,
            "platform_account_id": self.platform_account_id,
            "status": self.status,
        }


class ChannelSecret(AgencyData):
    """One encrypted credential field of a channel (access token, refresh token, app
    password). Decrypted only inside platforms.credentials, never shown or logged."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="secrets")
    field = models.CharField(max_length=40)
    ciphertext = models.BinaryField()
    key_id = models.CharField(max_length=16)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "field"], name="one_secret_per_field")
        ]

    def __str__(self):
        return f"{self.field} of channel {self.channel_id}"


class PlatformApp(models.Model):
    """SMC's own client registration on a Mastodon instance (made on the fly at the
    first connect, then reused). Installation-wide: no agency owns an instance."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    origin = models.CharField(max_length=300)
    client_id = models.CharField(max_length=300)
    client_secret_ciphertext = models.BinaryField()
    key_id = models.CharField(max_length=16)
    redirect_uri = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "origin", "redirect_uri"], name="one_app_per_instance"
            )
        ]

    def __str__(self):
        return f"{self.platform} app at {self.origin}"


class ChannelPermission(UserObjectPermissionBase):
    """A person's right on one channel (A4): django-guardian's object permission with a
    direct key to the channel, carrying its agency so tenancy (scope and row-level
    security) covers it like any agency data."""

    content_object = models.ForeignKey(Channel, on_delete=models.CASCADE)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT)
    objects = ScopedManager(_manager_class=UserObjectPermissionManager, agency="agency")

    class Meta(UserObjectPermissionBase.Meta):
        pass

    def save(self, *args, **kwargs):
        # guardian creates rows from (user, permission, channel): the agency follows.
        self.agency_id = self.content_object.agency_id
        return super().save(*args, **kwargs)
