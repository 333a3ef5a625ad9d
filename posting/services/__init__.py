"""Writes for posting, split by topic (house style: one package past ~500 lines):

- drafts.py      compose: create and save drafts, photos, channels, checks (P1, P5)
- approval.py    submit, approve, reject, edit, escalate (P2, A3–A5)
- publishing.py  release, claim, publish, reconcile, retry, delete (P3, P4)
"""

from smc.errors import SmcError


class PostingError(SmcError):
    """A posting rule said no; .message says why and what to do."""
