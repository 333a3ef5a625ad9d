"""Template filters for public comments: `{{ text|comment_text }}` escapes and shows the
invisible characters; `{% decision_text version %}` also marks the span the decision
matched; `{{ html|sanitized_html }}` is the sanitized platform HTML. See moderation.display."""

from django import template

from moderation import display

register = template.Library()


@register.filter(is_safe=True)
def comment_text(text):
    return display.marked_text(text)


@register.simple_tag
def decision_text(item):
    """A text with its decision's span (if any) highlighted: an archived CommentVersion
    (decision_start/end) or a dry-run row (its Decision's start/end)."""
    decision = getattr(item, "decision", None)
    if decision is not None:
        return display.marked_text(item.text, decision.start, decision.end)
    return display.marked_text(item.text, item.decision_start, item.decision_end)


@register.filter(is_safe=True)
def sanitized_html(html):
    return display.sanitized_html(html)


@register.filter
def platform_html(version):
    return display.platform_html(version)
