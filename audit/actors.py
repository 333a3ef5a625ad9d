"""Who did it, named by id and label so the record outlives the rows it names."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    agency_id: int | None
    agency_label: str
    user_id: int | None = None
    user_label: str = ""
    role: str = ""


def system_actor(*, agency_id: int | None, agency_label: str, label: str = "system") -> Actor:
    """The clock, a worker or an operator's command acting for an agency (or none)."""
    return Actor(agency_id=agency_id, agency_label=agency_label, user_label=label, role="system")
