"""A small agency for approval: HQ above Patrol, a supervisor at each, an administrator,
an auditor and an officer in Patrol who may draft for two channels."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import authority
from accounts.models import Role
from platforms.services import set_channel_people
from tests.factories import make_channel, make_member, make_unit


@dataclass
class Desk:
    agency: object
    hq: object
    patrol: object
    admin: object
    chief: object
    sergeant: object
    officer: object
    auditor: object
    x: object
    mastodon: object

    def train(self, member, *, days_left=30, course="Social media for officers"):
        today = timezone.localdate()
        return authority.record_training(
            administrator=self.admin,
            membership=member,
            course=course,
            completed_on=today - timedelta(days=300),
            expires_on=today + timedelta(days=days_left),
        )


@pytest.fixture
def desk(agency, admin):
    hq = make_unit(agency, name="Headquarters")
    patrol = make_unit(agency, name="Patrol", parent=hq)
    chief = make_member(agency, role=Role.SUPERVISOR, username="chief", unit=hq)
    sergeant = make_member(agency, role=Role.SUPERVISOR, username="sergeant", unit=patrol)
    officer = make_member(agency, role=Role.USER, username="officer", unit=patrol)
    auditor = make_member(agency, role=Role.AUDITOR, username="auditor")
    authority.set_unit_supervisors(administrator=admin, unit=hq, memberships=[chief])
    authority.set_unit_supervisors(administrator=admin, unit=patrol, memberships=[sergeant])
    x = make_channel(agency, platform="x", name="Metro on X", administrator=admin)
    mastodon = make_channel(agency, platform="mastodon", name="Metro on Mastodon",
                            administrator=admin)  # fmt: skip
    for channel in (x, mastodon):
        set_channel_people(administrator=admin, channel=channel, memberships=[officer, admin])
    return Desk(agency, hq, patrol, admin, chief, sergeant, officer, auditor, x, mastodon)
