"""The header's alert count: a threat must be seen on whatever page the PIO is on."""

from django import template

from moderation.actions import unread_notifications
from smc.tenancy import agency_scope

register = template.Library()


@register.simple_tag
def unread_alerts(membership) -> int:
    if membership is None:
        return 0
    # Error pages render outside the request's scope: open the member's own agency.
    with agency_scope(membership.agency_id):
        return unread_notifications(membership)
