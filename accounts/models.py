"""People, agencies, units and memberships (A1, A2).

A person (User) logs in once and may belong to several agencies; everything they may
do comes from the Membership of the agency they are working in.
"""

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.actors import Actor
from smc.tenancy import AgencyScopedManager


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    SUPERVISOR = "supervisor", _("Supervisor")
    USER = "user", _("User")
    AUDITOR = "auditor", _("Auditor")


class User(AbstractUser):
    """A person with an SMC login. Not agency data: memberships say where they belong."""

    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    last_agency_id = models.BigIntegerField(null=True, blank=True, editable=False)

    def __str__(self):
        return self.full_name or self.username


class Agency(models.Model):
    """The tenant. Rows of this table are the operator's list of agencies; the app only
    ever reads the agencies of the signed-in person's memberships."""

    name = models.CharField(_("name"), max_length=150)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    mfa_required_roles = ArrayField(
        models.CharField(max_length=20, choices=Role.choices),
        default=list,
        blank=True,
        verbose_name=_("roles that must use two-factor sign-in"),
    )
    # C3: what every channel's public profile must say and link to.
    website = models.URLField(_("website"), blank=True)
    profile_statement = models.CharField(
        _("statement every profile must carry"),
        max_length=300,
        default="Not monitored 24/7 — in an emergency call 911",
    )
    # P2: how long a post may wait for its unit's supervisors before it moves up the chain.
    approval_escalation_minutes = models.PositiveIntegerField(
        _("minutes before an approval moves up the chain"), default=60
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["name"]

    def __str__(self):
        return self.name


class AgencyData(models.Model):
    """Base of every model that holds agency data: its agency, and the scoped manager."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT)
    objects = AgencyScopedManager()

    class Meta:
        abstract = True


class Unit(AgencyData):
    """A team within the agency (patrol, traffic, PIO office). Units nest (A3)."""

    name = models.CharField(_("name"), max_length=150)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "name"], name="unit_name_unique_in_agency")
        ]

    def __str__(self):
        return self.name


class Membership(AgencyData):
    """A person's place in one agency: their role and unit there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.USER)
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT)
    is_active = models.BooleanField(default=True)
    # A5: everything this person posts goes to a supervisor, whatever their channel rights.
    needs_approval = models.BooleanField(_("every post needs approval"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "user"], name="one_membership_per_agency")
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()}, {self.agency})"

    @property
    def is_administrator(self) -> bool:
        return self.role == Role.ADMINISTRATOR

    @property
    def is_auditor(self) -> bool:
        return self.role == Role.AUDITOR

    @property
    def audit_actor(self) -> Actor:
        return Actor(
            agency_id=self.agency_id,
            agency_label=self.agency.name,
            user_id=self.user_id,
            user_label=self.user.username,
            role=self.role,
        )

    def audit_snapshot(self) -> dict:
        return {
            "user": self.user.username,
            "role": self.role,
            "unit": self.unit.name if self.unit_id else None,
            "is_active": self.is_active,
        }


class Supervision(AgencyData):
    """A3: a supervisor of a unit. They approve for the unit and every unit beneath it;
    the units' parents are the chain an unanswered approval climbs."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="supervisions")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["unit", "membership"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "membership"], name="one_supervision_per_unit")
        ]

    def __str__(self):
        return f"{self.membership_id} supervises {self.unit_id}"


class TrainingRecord(AgencyData):
    """A5: a course a member passed. Publishing without approval needs one in date."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="trainings")
    course = models.CharField(_("course"), max_length=200)
    completed_on = models.DateField(_("completed on"))
    expires_on = models.DateField(_("expires on"))
    recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-expires_on", "-pk"]
        indexes = [
            models.Index(fields=["agency", "membership", "expires_on"], name="training_valid")
        ]

    def __str__(self):
        return f"{self.course} ({self.completed_on} – {self.expires_on})"

    @property
    def is_current(self) -> bool:
        return self.expires_on >= timezone.localdate()

    def audit_snapshot(self) -> dict:
        return {
            "member": self.membership_id,
            "course": self.course,
            "completed_on": self.completed_on.isoformat(),
            "expires_on": self.expires_on.isoformat(),
        }


class Notification(AgencyData):
    """Something a member should know (a post approved, sent back, waiting for them),
    shown in the app until read; notify() also emails it."""

    member = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # Always a path inside SMC (notify refuses anything else): opening it redirects there.
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["member"], name="notification_unread", condition=models.Q(read_at=None)
            )
        ]

    def __str__(self):
        return self.title


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(AgencyData):
    """An administrator's invitation by email. Only the token's hash is stored: the
    link in the email is the only copy of the secret."""

    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.USER)
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT)
    # None when the operator invited an agency's first administrator.
    invited_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation for {self.email}"

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )

    @property
    def status_label(self) -> str:
        if self.accepted_at:
            return _("Accepted")
        if self.revoked_at:
            return _("Withdrawn")
        if self.expires_at <= timezone.now():
            return _("Expired")
        return _("Waiting")

    def audit_snapshot(self) -> dict:
        return {"email": self.email, "role": self.role, "expires_at": self.expires_at.isoformat()}
