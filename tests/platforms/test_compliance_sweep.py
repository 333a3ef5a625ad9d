"""C3 under beat: the daily sweep, run by a real worker, checks every connected channel
of every agency against the simulators."""

import pytest

from accounts.models import Role
from platforms.demo import connect_through_simulator
from platforms.models import Channel
from platforms.tasks import check_every_channel_compliance
from smc.tenancy import agency_scope
from tests.conftest import simulator_settings, wait_for
from tests.factories import make_agency, make_member


@pytest.fixture
def worker_environment(simulated_platforms):
    return {**simulator_settings(simulated_platforms),
            "SMC_X_CLIENT_ID": "sim-client", "SMC_X_CLIENT_SECRET": "sim-secret"}  # fmt: skip


def test_the_daily_sweep_checks_every_agency_channel(simulated_platforms, celery_worker):
    channels = []
    for name in ("Metro Police", "Riverside Fire"):
        agency = make_agency(name=name, website="https://example.org")
        admin = make_member(agency, role=Role.ADMINISTRATOR)
        with agency_scope(agency):
            [channel], _ = connect_through_simulator(
                administrator=admin, platform="x", sim_url=simulated_platforms["x"],
                display_name=name, handle=name.replace(" ", ""), bio=f"{name} official.",
            )  # fmt: skip
        channels.append(channel)

    check_every_channel_compliance.delay()

    def all_checked():
        for channel in channels:
            with agency_scope(channel.agency_id):
                if Channel.objects.get(pk=channel.pk).compliance_checked_at is None:
                    return False
        return True

    wait_for(all_checked, what="the worker to check both channels", process=celery_worker)
    with agency_scope(channels[0].agency_id):
        checked = Channel.objects.get(pk=channels[0].pk)
    assert "It does not say “Not monitored 24/7 — in an emergency call 911”." in (
        checked.compliance_problems
    )
