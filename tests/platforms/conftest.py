import os

import pytest

from platforms.adapters import PLATFORMS
from platforms.simulators.core import serve
from tests.platforms.contract import SimClient, load_harness

_running: dict[str, tuple] = {}


# SMC_CONTRACT_PLATFORMS=x,bluesky runs the suite for some platforms only (development).
_CHOSEN = [p for p in os.environ.get("SMC_CONTRACT_PLATFORMS", "").split(",") if p] or PLATFORMS


def _has(platform: str, capability: str) -> bool:
    harness = load_harness(platform)
    return {
        "publish": harness.adapter_class.can_publish,
        "no_publish": not harness.adapter_class.can_publish,
        "rate_headers": harness.has_rate_headers,
    }[capability]


def pytest_generate_tests(metafunc):
    # A case about a capability runs for the platforms that have it (one test states that
    # the others refuse), so no platform shows up as a skipped test.
    if "harness" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("capability")
        chosen = [p for p in _CHOSEN if marker is None or _has(p, marker.args[0])]
        metafunc.parametrize("harness", chosen, indirect=True)


@pytest.fixture
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
