from django import template

from posting.services.publishing import may_manage_publications

register = template.Library()


@register.filter
def may_manage(membership) -> bool:
    """Whether this member may retry and delete publications (one rule, the service's)."""
    return membership is not None and may_manage_publications(membership)
