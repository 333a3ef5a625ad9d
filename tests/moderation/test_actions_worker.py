"""M3 under Celery: after a poll commits, a real worker escalates, holds and hides, and a
platform that fails for a while is retried with backoff until the comment is hidden, once."""

import pytest

from accounts.models import Notification, Role
from moderation import ingest
from moderation.models import ModerationAction
from smc.tenancy import agency_scope
from tests.conftest import simulator_settings, wait_for
from tests.factories import make_agency, make_member
from tests.moderation.test_actions import comment, connect, on_platform

THREAT = "I will shoot the officer at the Elm St station tomorrow"


@pytest.fixture
def worker_environment(simulated_platforms):
    # Retries without waiting: the backoff's doubling is what is tested, not the clock.
    return {**simulator_settings(simulated_platforms), "SMC_ACTION_RETRY_SECONDS": "0"}


def test_a_failing_platform_is_retried_until_the_comment_is_hidden_once(
    simulated_platforms, celery_worker
):
    agency = make_agency(name="Metro Police", slug="metro")
    make_member(agency, role=Role.SUPERVISOR, username="pio")
    with agency_scope(agency):
        page = connect(agency, simulated_platforms)
        profane = comment(page, "This is fucking useless")
        comment(page, THREAT)
        # The first two hide calls fail as Facebook does when it is having a bad minute.
        page.sim.fault("POST", f"/{profane['id']}", count=2, mode="error", status=503)

        ingest.poll_channel(channel=page)  # commits; on_archived queues the worker's part

    def hidden(text):
        return on_platform(page)[text]["hidden"]

    wait_for(lambda: hidden("This is fucking useless"), what="the retried hide",
             process=celery_worker)  # fmt: skip
    wait_for(lambda: hidden(THREAT), what="the threat hidden", process=celery_worker)

    def hide_row():
        with agency_scope(agency):
            return ModerationAction.objects.get(comment__platform_comment_id=profane["id"])

    # The platform answers before the worker commits the row: wait for the commit.
    wait_for(lambda: hide_row().state == ModerationAction.State.DONE,
             what="the hide recorded as done", process=celery_worker)  # fmt: skip
    assert hide_row().attempts == 3
    with agency_scope(agency):
        assert Notification.objects.filter(member__user__username="pio").count() == 1
    tries = page.sim.requests(method="POST", path=f"/{profane['id']}")
    assert [r["status"] for r in tries] == [503, 503, 200]
