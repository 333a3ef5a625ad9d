"""The agency's published rules (M2) and the one function that applies them.

``decide(text, policy)`` normalizes the comment once, runs the enabled detectors in the
README's tie-break order (threat > personal_data > profanity > spam, then custom terms) and
returns the first rule that fires as a ``Decision``: action, category, rule id, the span in
the original text, the matched text and a one-line explanation a reviewer can read (M5).

Default actions: a threat is escalated (M3: it pages a supervisor); personal data,
profanity and spam are hidden; custom terms are held for review. Spam is hidden, not
deleted: every decision must be restorable (M5) and a platform delete is not, while a
false positive on a local business's thank-you would otherwise be gone for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from moderation.engine import custom, personal_data, profanity, spam, threats
from moderation.engine.hits import Hit
from moderation.engine.normalize import normalize

CATEGORIES = ("threat", "personal_data", "profanity", "spam", "custom")
ACTIONS = ("allow", "hide", "hold", "delete", "escalate")


class PolicyError(ValueError):
    """A policy file or dict that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Policy:
    """Which rules an agency enabled, what each does, and its own block and allow lists.

    A category missing from ``actions`` (or mapped to "allow") is disabled.
    """

    actions: dict[str, str] = field(
        default_factory=lambda: {
            "threat": "escalate",
            "personal_data": "hide",
            "profanity": "hide",
            "spam": "hide",
            "custom": "hold",
        }
    )
    block_terms: tuple[str, ...] = ()
    allow_terms: tuple[str, ...] = ()
    name: str = "default"

    def __post_init__(self) -> None:
        for category, action in self.actions.items():
            if category not in CATEGORIES:
                raise PolicyError(f"Unknown rule category “{category}”; use one of {CATEGORIES}.")
            if action not in ACTIONS:
                raise PolicyError(
                    f"Unknown action “{action}” for {category}; use one of {ACTIONS}."
                )

    def enabled(self, category: str) -> bool:
        return self.actions.get(category, "allow") != "allow"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Policy:
        if not isinstance(raw, dict):
            raise PolicyError("A policy must be a JSON object.")
        unknown = set(raw) - {"name", "rules", "block_terms", "allow_terms"}
        if unknown:
            raise PolicyError(f"Unknown policy keys: {', '.join(sorted(unknown))}.")
        rules = raw.get("rules", Policy().actions)
        if not isinstance(rules, dict):
            raise PolicyError("“rules” must map each category to an action.")
        return cls(
            actions={str(k): str(v) for k, v in rules.items()},
            block_terms=tuple(str(t) for t in raw.get("block_terms", ())),
            allow_terms=tuple(str(t) for t in raw.get("allow_terms", ())),
            name=str(raw.get("name", "custom")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rules": dict(self.actions),
            "block_terms": list(self.block_terms),
            "allow_terms": list(self.allow_terms),
        }


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Decision:
    action: str
    category: str
    rule: str
    start: int | None = None
    end: int | None = None
    matched: str = ""
    explanation: str = "No rule fired."

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "category": self.category,
            "rule": self.rule,
            "start": self.start,
            "end": self.end,
            "matched": self.matched,
            "explanation": self.explanation,
        }


CLEAN = Decision(action="allow", category="clean", rule="none")


@lru_cache(maxsize=256)
def _allow_terms(terms: tuple[str, ...]) -> tuple[str, ...]:
    extra = tuple(custom.fold_term(t) for t in terms if t.strip())
    return profanity.DEFAULT_ALLOW + extra


def _first_hit(text: str, policy: Policy) -> Hit | None:
    norm = normalize(text)
    if policy.enabled("threat"):
        hit = threats.find(norm)
        if hit:
            return hit
    spam_hit = (
        spam.find(norm) if policy.enabled("spam") or policy.enabled("personal_data") else None
    )
    if policy.enabled("personal_data"):
        hit = personal_data.find_identity(norm) or personal_data.find_contact(norm)
        # A business's or a scammer's number or email is spam, not personal data (README).
        if hit and not (spam_hit and hit.rule in ("personal_data.phone", "personal_data.email")):
            return hit
    allow = _allow_terms(policy.allow_terms) if policy.allow_terms else profanity.DEFAULT_ALLOW
    if policy.enabled("profanity"):
        hit = profanity.find(norm, allow)
        if hit:
            return hit
    if policy.enabled("spam") and spam_hit:
        return spam_hit
    if policy.enabled("custom") and policy.block_terms:
        return custom.find(norm, custom.compile_block(policy.block_terms), allow)
    return None


def decide(text: str, policy: Policy = DEFAULT_POLICY) -> Decision:
    """M2: the decision for one comment under ``policy``. Never raises on odd text."""
    hit = _first_hit(text, policy)
    if hit is None:
        return CLEAN
    return Decision(
        action=policy.actions[hit.category],
        category=hit.category,
        rule=hit.rule,
        start=hit.start,
        end=hit.end,
        matched=text[hit.start : hit.end],
        explanation=hit.explanation,
    )
