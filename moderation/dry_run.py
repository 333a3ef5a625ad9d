"""M6 dry run: a policy applied to comments given as JSON Lines, nothing stored.

One reading of the input for both doors: `manage.py moderation_dry_run` (stdin) and the
dry-run page (an uploaded file). Each line is {"id": ..., "text": ...}; a line that is not
is refused with its number, so the person can fix the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from moderation.engine.policy import DEFAULT_POLICY, Decision, Policy, decide


class DryRunError(ValueError):
    """A line that cannot be read; the message names the line and what is wrong."""


@dataclass(frozen=True)
class DryRunRow:
    id: object
    text: str
    decision: Decision

    def to_line(self) -> dict:
        return {
            "id": self.id,
            "action": self.decision.action,
            "category": self.decision.category,
            "rule": self.decision.rule,
        }


def dry_run_policy(agency) -> Policy:
    """The policy a dry run for ``agency`` uses.

    The agency's stored policy belongs to the policy settings (M3/M4); until that exists
    here this is the default policy. Wire ``policy_for_agency(agency)`` in here, and only
    here, so the page and the command follow together."""
    return DEFAULT_POLICY


def decide_lines(lines: Iterable[str | bytes], policy: Policy) -> Iterator[DryRunRow]:
    """One decision per non-blank line, in order. Raises DryRunError at the first bad line."""
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DryRunError(f"Line {number} is not UTF-8 text ({exc.reason}).") from exc
        if not line.strip():
            continue
        try:
            comment = json.loads(line)
        except ValueError as exc:
            raise DryRunError(f"Line {number} is not JSON: {exc}.") from exc
        if not isinstance(comment, dict) or "text" not in comment:
            raise DryRunError(f'Line {number} is not a JSON object with a "text" field.')
        text = comment["text"]
        if not isinstance(text, str):
            raise DryRunError(f'Line {number}: "text" must be a string.')
        yield DryRunRow(id=comment.get("id"), text=text, decision=decide(text, policy))
