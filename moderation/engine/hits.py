"""Plain result types shared by the detectors."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule firing: the rule id, the span in the original text and why."""

    rule: str
    start: int
    end: int
    explanation: str

    @property
    def category(self) -> str:
        return self.rule.split(".", 1)[0]
