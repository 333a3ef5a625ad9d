"""Comment policy engine (M2, M5, M6): pure Python, no Django models, no database.

``decide(text, policy)`` returns a ``Decision`` naming the rule that fired, the matched span
in the original text and a one-line explanation for a reviewer.
"""

from moderation.engine.policy import DEFAULT_POLICY, Decision, Policy, decide

__all__ = ["DEFAULT_POLICY", "Decision", "Policy", "decide"]
