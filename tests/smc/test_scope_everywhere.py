"""A query of agency data with no agency scope raises in tasks and commands too
(views: tests/smc/test_route_walker.py)."""

import subprocess
import sys

import pytest

from accounts.models import Unit
from smc.tenancy import AgencyScopeMissing, agency_task
from tests.conftest import child_environment
from tests.factories import make_agency, make_unit


def unit_names(*, agency_id):
    return sorted(Unit.objects.values_list("name", flat=True))


def test_a_task_body_sees_only_the_agency_it_was_given(db):
    a, b = make_agency(), make_agency()
    make_unit(a, name="A's")
    make_unit(b, name="B's")
    assert agency_task(unit_names)(agency_id=a.pk) == ["A's"]
    assert agency_task(unit_names)(agency_id=b.pk) == ["B's"]
    with pytest.raises(AgencyScopeMissing):
        unit_names(agency_id=a.pk)  # the same body, without @agency_task


def test_a_command_without_an_agency_scope_raises(db):
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from accounts.models import Unit; print(Unit.objects.count())"],
        env=child_environment(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "ScopeError" in result.stderr and "needs to be active" in result.stderr
