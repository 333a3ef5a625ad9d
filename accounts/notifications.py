"""In-app notices with an email copy: the one way SMC tells a member something happened.

notify() writes the row in the caller's transaction and sends the email only after
that transaction commits, so a rolled-back approval never emails "approved".
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Notification
from smc.errors import NotFound

log = logging.getLogger(__name__)


def notify(*, member: Membership, title: str, body: str = "", url: str = "") -> Notification:
    # Only paths inside SMC: opening a notice redirects to its url, which must never
    # become an open redirect.
    if url and (not url.startswith("/") or url.startswith("//")):
        raise ValueError("A notification links to a path inside SMC.")
    notice = Notification.objects.create(
        agency_id=member.agency_id, member=member, title=title[:200], body=body, url=url
    )
    email = member.user.email
    if email and member.is_active:
        link = f"{settings.SMC_BASE_URL.rstrip('/')}{url}" if url else ""
        text = "\n\n".join(part for part in (body, link) if part)
        transaction.on_commit(lambda: _send(email, title, text))
    return notice


def _send(email: str, title: str, text: str) -> None:
    try:
        send_mail(f"[SMC] {title}", text, None, [email])
    except Exception:  # the in-app notice is there; a mail outage must not fail the request
        log.exception("notification email to a member could not be sent")


def unread_count(member: Membership) -> int:
    return Notification.objects.filter(agency_id=member.agency_id, member=member,
                                       read_at=None).count()  # fmt: skip


def notifications_of(member: Membership) -> QuerySet[Notification]:
    return Notification.objects.filter(agency_id=member.agency_id, member=member)


def get_notification_for(member: Membership, notification_id: int) -> Notification:
    notice = notifications_of(member).filter(pk=notification_id).first()
    if notice is None:
        raise NotFound(_("That notification does not exist."))
    return notice


def mark_read(*, member: Membership, notification: Notification | None = None) -> int:
    """One notice (opened), or all of the member's unread ones."""
    unread = notifications_of(member).filter(read_at=None)
    if notification is not None:
        unread = unread.filter(pk=notification.pk)
    return unread.update(read_at=timezone.now())
