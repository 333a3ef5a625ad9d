import os

import pytest

from platforms.adapters import PLATFORMS
from platforms.simulators.core import serve
from tests.platforms.contract import SimClient, load_harness

_running: dict[str, tuple] = {}


# SMC_CONTRACT_PLATFORMS=x,bluesky runs the suite for some platforms only (development).
_CHOSEN = [p for p in os.environ.get("SMC_CONTRACT_PLATFORMS", "").split(",") if p] or PLATFORMS


@pytest.fixture(params=_CHOSEN)
def harness(request):
    return load_harness(request.param)


@pytest.fixture
def sim(harness):
    """The platform's simulator, started once per test process, reset for each test."""
    if harness.platform not in _running:
        simulator = harness.simulator_class()
        server, url = serve(simulator)
        _running[harness.platform] = (simulator, server, url)
    _, _, url = _running[harness.platform]
    client = SimClient(url)
    client.reset()
    return client


@pytest.fixture
def credentials(harness, sim):
    return harness.credentials(sim, sim.base_url)


@pytest.fixture
def adapter(harness, credentials):
    return harness.adapter_class(credentials, timeout=(2.0, 2.0))
