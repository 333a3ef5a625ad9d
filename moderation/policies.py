"""The agency's stored comment policy (M2–M4): what the engine applies, and when hold
mode is on.

- `policy_for_agency(agency)` is the engine Policy the ingest and the dry run use.
- `save_policy` / `set_hold_switch` change it; every change is recorded.
- `hold_reason(...)` says whether a new comment is held, and why: the switch, outside
  staffed hours, or a surge on its channel.

Two things no setting can change. Threats always escalate and are never deleted (the
comment is evidence and a supervisor must see it). Criticism is never a violation: a
block term that names a viewpoint about the agency's work is refused, because a
government account is a public forum and hiding a viewpoint there can be unlawful.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import Action
from audit.services import record_event
from moderation.engine import custom
from moderation.engine.policy import ACTIONS, CATEGORIES, Policy, PolicyError
from moderation.models import Comment, CommentPolicy
from smc.errors import SmcError

# What each rule may do. "reply" posts the rule's reply template under the comment and
# leaves it visible. A threat always escalates: it is not in this table.
RULE_ACTIONS = ("allow", "hide", "hold", "delete", "reply", "escalate")
CONFIGURABLE = ("personal_data", "profanity", "spam", "custom")
DEFAULT_ACTIONS = {
    "threat": "escalate",
    "personal_data": "hide",
    "profanity": "hide",
    "spam": "hide",
    "custom": "hold",
}
WEEKDAYS = ("0", "1", "2", "3", "4", "5", "6")  # Monday first, as datetime.weekday()
SURGE_BOUNDS = (1, 100000)
REPLY_MAX = 280  # the shortest reply any platform allows (X)
# Words that state a view of the agency's work. A block term holding one would hide
# criticism, which the policy must never do (product.md M2): such a term is refused.
VIEWPOINT_WORDS = frozenset(  # fmt: skip
    {
        "corrupt",
        "corruption",
        "incompetent",
        "incompetence",
        "liar",
        "liars",
        "lie",
        "lies",
        "lying",
        "disgrace",
        "disgraceful",
        "shame",
        "shameful",
        "resign",
        "resignation",
        "defund",
        "abolish",
        "brutality",
        "brutal",
        "racist",
        "racism",
        "misconduct",
        "coverup",
        "cover-up",
        "accountability",
        "accountable",
        "lawsuit",
        "negligent",
        "negligence",
        "useless",
        "failure",
        "failed",
        "failing",
        "abuse",
        "abusive",
        "harassment",
        "unjust",
        "injustice",
        "protest",
        "protests",
        "oppose",
        "opposition",
    }
)


class PolicyRefused(SmcError):
    pass


@dataclass(frozen=True)
class StoredPolicy(Policy):
    """The engine's Policy with what only a stored policy has: "reply" as an action,
    with each rule's reply text."""

    replies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for category, action in self.actions.items():
            if category not in CATEGORIES:
                raise PolicyError(f"Unknown rule category “{category}”.")
            if action not in (*ACTIONS, "reply"):
                raise PolicyError(f"Unknown action “{action}” for {category}.")


def stored_policy(agency) -> CommentPolicy:
    """The agency's policy row; created with the defaults the first time it is asked for."""
    found = CommentPolicy.objects.filter(agency=agency).first()
    if found is None:
        CommentPolicy.objects.bulk_create(
            [CommentPolicy(agency=agency, actions=dict(DEFAULT_ACTIONS))], ignore_conflicts=True
        )
        found = CommentPolicy.objects.get(agency=agency)
    return found


def engine_policy(row: CommentPolicy, agency_slug: str = "") -> StoredPolicy:
    actions = {**DEFAULT_ACTIONS, **(row.actions or {})}
    actions["threat"] = "escalate"
    return StoredPolicy(
        actions=actions,
        block_terms=tuple(row.block_terms or ()),
        allow_terms=tuple(row.allow_terms or ()),
        name=_policy_name(row, agency_slug),
        replies=dict(row.reply_templates or {}),
    )


def _policy_name(row: CommentPolicy, agency_slug: str) -> str:
    """What each archived decision names as its policy: "default" until the agency changes
    it, then the agency and the moment of the change, so the record shows which rules
    decided (CommentVersion.policy_name holds 60 characters)."""
    if row.updated_by_id is None:
        return "default"
    stamp = row.updated_at.strftime("%Y%m%dT%H%M%S")
    return f"{(agency_slug or str(row.agency_id))[:40]}@{stamp}"


def policy_for_agency(agency) -> StoredPolicy:
    """M2: the engine Policy of this agency, as stored (the defaults until changed)."""
    return engine_policy(stored_policy(agency), agency.slug)


# --- Changing it ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyChange:
    actions: dict[str, str]
    reply_templates: dict[str, str]
    block_terms: list[str]
    allow_terms: list[str]
    hold_outside_staffed_hours: bool
    staffed_hours: dict[str, list[str]]
    surge_per_minute: int
    surge_per_channel: dict[str, int]


def can_edit_policy(member) -> bool:
    return member.role in ("administrator", "supervisor")


def _check(change: PolicyChange) -> None:
    """Every problem is refused with a message saying what to fix; nothing is saved."""
    for category, action in change.actions.items():
        if category not in CONFIGURABLE:
            raise PolicyRefused(_("Threats always escalate; that rule cannot be changed."))
        if action not in RULE_ACTIONS:
            raise PolicyRefused(_("“%s” is not an action SMC knows.") % action)
        if action == "reply":
            text = (change.reply_templates.get(category) or "").strip()
            if not text:
                raise PolicyRefused(
                    _("Write the reply for the %s rule, or choose another action.") % category
                )
            if len(text) > REPLY_MAX:
                raise PolicyRefused(
                    _("A reply may have at most %(most)s characters (X's limit); the %(rule)s "
                      "reply has %(n)s.") % {"most": REPLY_MAX, "rule": category, "n": len(text)}
                )  # fmt: skip
    for term in change.block_terms:
        words = set(re.findall(r"[\w-]+", custom.fold_term(term)))
        viewpoint = sorted(words & VIEWPOINT_WORDS)
        if viewpoint:
            raise PolicyRefused(
                _("“%(term)s” would hide criticism (“%(word)s”). Criticism of the agency is "
                  "never a violation on a public forum; remove it from the block list.")
                % {"term": term, "word": viewpoint[0]}
            )  # fmt: skip
    for day, hours in change.staffed_hours.items():
        if day not in WEEKDAYS or len(hours) != 2:
            raise PolicyRefused(_("Staffed hours need a start and an end for each day."))
        start, end = (_parse_time(h) for h in hours)
        if start is None or end is None:
            raise PolicyRefused(_("Write staffed hours as HH:MM, for example 08:00."))
        if end != time(0) and end <= start:
            raise PolicyRefused(
                _("Each day's staffed hours must end after they start (use 00:00 as the end "
                  "for midnight).")
            )  # fmt: skip
    if change.hold_outside_staffed_hours and not change.staffed_hours:
        raise PolicyRefused(
            _("Give the staffed hours of at least one day, or switch off holding outside them.")
        )
    low, high = SURGE_BOUNDS
    for value in [change.surge_per_minute, *change.surge_per_channel.values()]:
        if not low <= value <= high:
            raise PolicyRefused(
                _("A surge threshold must be between %(low)s and %(high)s comments a minute.")
                % {"low": low, "high": high}
            )


def _parse_time(value: str) -> time | None:
    try:
        return time.fromisoformat(value) if re.fullmatch(r"\d\d:\d\d", value or "") else None
    except ValueError:
        return None


@transaction.atomic
def save_policy(*, editor, change: PolicyChange) -> CommentPolicy:
    """An administrator or supervisor changes the agency's comment policy. Recorded with
    the before and after. Raises PolicyRefused, having changed nothing."""
    if not can_edit_policy(editor):
        raise PolicyRefused(_("Only an administrator or a supervisor can change the policy."))
    _check(change)
    row = stored_policy(editor.agency)
    row = CommentPolicy.objects.select_for_update().get(pk=row.pk)
    before = row.audit_snapshot()
    row.actions = {**dict(DEFAULT_ACTIONS), **change.actions, "threat": "escalate"}
    row.reply_templates = {k: v.strip() for k, v in change.reply_templates.items() if v.strip()}
    row.block_terms = _terms(change.block_terms)
    row.allow_terms = _terms(change.allow_terms)
    row.hold_outside_staffed_hours = change.hold_outside_staffed_hours
    row.staffed_hours = change.staffed_hours
    row.surge_per_minute = change.surge_per_minute
    row.surge_per_channel = {str(k): int(v) for k, v in change.surge_per_channel.items()}
    row.updated_at, row.updated_by = timezone.now(), editor
    row.save()
    after = row.audit_snapshot()
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    record_event(actor=editor, action=Action.COMMENT_POLICY_CHANGED, subject=row,
                 details={"changed": changed})  # fmt: skip
    return row


def _terms(terms: list[str]) -> list[str]:
    seen, kept = set(), []
    for term in (t.strip() for t in terms):
        if term and term.casefold() not in seen:
            seen.add(term.casefold())
            kept.append(term[:200])
    return kept


@transaction.atomic
def set_hold_switch(*, editor, on: bool) -> CommentPolicy:
    """M4: hold every new comment from now on (a viral event, an incident), or stop."""
    if not can_edit_policy(editor):
        raise PolicyRefused(_("Only an administrator or a supervisor can switch hold mode."))
    row = CommentPolicy.objects.select_for_update().get(pk=stored_policy(editor.agency).pk)
    if row.hold_switch != on:
        row.hold_switch = on
        row.hold_switch_changed_at, row.hold_switch_changed_by = timezone.now(), editor
        row.save(update_fields=["hold_switch", "hold_switch_changed_at", "hold_switch_changed_by"])
        record_event(actor=editor, action=Action.HOLD_SWITCH_CHANGED, subject=row,
                     details={"on": on})  # fmt: skip
    return row


# --- Hold mode ------------------------------------------------------------------------------


def agency_zone(agency) -> ZoneInfo:
    try:
        return ZoneInfo(agency.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_staffed(row: CommentPolicy, agency, at: datetime) -> bool:
    """Whether `at` falls in the agency's staffed hours, in the agency's own time zone."""
    local = at.astimezone(agency_zone(agency))
    hours = (row.staffed_hours or {}).get(str(local.weekday()))
    if not hours:
        return False
    start, end = (_parse_time(h) for h in hours)
    if start is None or end is None:
        return False
    now = local.time().replace(tzinfo=None)
    return start <= now and (end == time(0) or now < end)


def surge_threshold(row: CommentPolicy, channel_id: int) -> int:
    return int((row.surge_per_channel or {}).get(str(channel_id), row.surge_per_minute))


def channel_rate(channel_id: int, at: datetime) -> int:
    """New comments on the channel in the minute up to `at`."""
    return Comment.objects.filter(
        channel_id=channel_id, first_seen_at__gt=at - timedelta(minutes=1), first_seen_at__lte=at
    ).count()


@dataclass(frozen=True)
class HoldReason:
    code: str
    text: str


def hold_reason(row: CommentPolicy, agency, *, channel_id: int, at: datetime) -> HoldReason | None:
    """M4: why a comment first seen at `at` on this channel is held, or None."""
    if row.hold_switch:
        return HoldReason("hold.switch", _("Hold mode was switched on."))
    if row.hold_outside_staffed_hours and not is_staffed(row, agency, at):
        return HoldReason("hold.outside_staffed_hours", _("It came outside staffed hours."))
    rate, limit = channel_rate(channel_id, at), surge_threshold(row, channel_id)
    if rate > limit:
        return HoldReason(
            "hold.surge",
            _("Its channel had %(rate)s new comments in a minute (surge above %(limit)s).")
            % {"rate": rate, "limit": limit},
        )
    return None
