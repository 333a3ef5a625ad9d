"""M6 dry run: apply a policy to comments read as JSON Lines, write one decision per line.

    manage.py moderation_dry_run [--agency SLUG | --policy FILE] < comments.jsonl

Each input line is {"id": ..., "text": ...}; each output line is {"id", "action",
"category", "rule"}. With no option the default policy is used and no database is touched,
so an agency can tune a policy file before anything goes live. A one-line summary goes to
stderr so stdout stays pure JSON Lines.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from moderation.dry_run import DryRunError, decide_lines
from moderation.engine.policy import DEFAULT_POLICY, Policy, PolicyError


class Command(BaseCommand):
    help = "Dry-run a moderation policy over JSON Lines comments on stdin (M6)."
    # Tests pass a file-like object as stdin through call_command.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--agency", metavar="SLUG", help="use this agency's stored policy")
        group.add_argument("--policy", metavar="FILE", type=Path, help="a JSON policy file")

    def handle(self, *args, agency=None, policy=None, **options):
        rules = self._policy(agency, policy)
        stdin = options.get("stdin") or sys.stdin
        counts: Counter[str] = Counter()
        try:
            for row in decide_lines(stdin, rules):
                counts[row.decision.action] += 1
                self.stdout.write(json.dumps(row.to_line(), ensure_ascii=False))
        except DryRunError as exc:
            raise CommandError(str(exc)) from exc
        summary = ", ".join(f"{action} {n}" for action, n in sorted(counts.items())) or "none"
        self.stderr.write(f"Dry run with policy “{rules.name}”: {summary}.")

    def _policy(self, agency: str | None, path: Path | None) -> Policy:
        if agency:
            # No per-agency policy model exists yet; say so rather than guess a default.
            raise CommandError(
                f"--agency is not available yet: there is no stored policy for “{agency}”. "
                "Export the policy to a JSON file and use --policy FILE."
            )
        if path is None:
            return DEFAULT_POLICY
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"Cannot read the policy file {path}: {exc.strerror}.") from exc
        except ValueError as exc:
            raise CommandError(f"The policy file {path} is not valid JSON: {exc}.") from exc
        try:
            return Policy.from_dict(raw)
        except PolicyError as exc:
            raise CommandError(f"The policy file {path} cannot be used: {exc}") from exc
