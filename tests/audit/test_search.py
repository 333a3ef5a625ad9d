"""R3: the auditor searches every entry, post and comment, with filters; a malformed
query is explained; each result opens the full record with its place in the chain."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.models import AuditEvent
from audit.search import SearchError, parse_query
from audit.selectors import events
from audit.services import record_event
from moderation import ingest
from platforms.adapters.base import CommentBatch, IncomingComment
from smc.tenancy import agency_scope
from tests.factories import make_channel, make_member


def note(agency, reason, *, who="dispatch", outcome=Outcome.SUCCESS):
    actor = system_actor(agency_id=agency.pk, agency_label=agency.name, label=who)
    return record_event(actor=actor, action=Action.LOGIN_FAILED, reason=reason, outcome=outcome)


def found(agency, text="", **filters):
    return [e.reason for e in events(agency_id=agency.pk, query=parse_query(text), **filters)]


@pytest.fixture
def auditor(agency):
    return make_member(agency, role=Role.AUDITOR, username="aude")


def test_words_match_in_any_form_and_phrases_match_exactly(agency):
    note(agency, "The road was closed by flooding")
    note(agency, "Roads closing tomorrow")
    note(agency, "Fire on Main Street")
    assert set(found(agency, "flood")) == {"The road was closed by flooding"}
    # Any form of each word: "roads closing" is "road closed" to full-text search...
    assert set(found(agency, "road closed")) == {
        "The road was closed by flooding", "Roads closing tomorrow"
    }  # fmt: skip
    # ...but an exact phrase is exact.
    assert set(found(agency, '"roads closing"')) == {"Roads closing tomorrow"}
    assert found(agency, '"road closing"') == []
    assert set(found(agency, "flood OR fire")) == {
        "The road was closed by flooding", "Fire on Main Street"
    }  # fmt: skip
    assert set(found(agency, "road -tomorrow")) == {"The road was closed by flooding"}


def test_filters_by_person_outcome_and_date(agency):
    note(agency, "alpha report", who="olive")
    note(agency, "alpha report denied", who="pat", outcome=Outcome.DENIED)
    assert found(agency, "alpha", person="OLIVE") == ["alpha report"]
    assert found(agency, "alpha", outcome=Outcome.DENIED) == ["alpha report denied"]
    today = timezone.localdate()
    assert len(found(agency, "alpha", since=today, until=today)) == 2
    assert found(agency, "alpha", until=today - timedelta(days=1)) == []


def test_other_agencies_entries_are_never_found(agency, other_agency):
    with agency_scope(other_agency):
        note(other_agency, "secret riverside matter")
    assert found(agency, "riverside") == []


@pytest.mark.parametrize(
    "typed, message",
    [
        ('"road closed', "A quotation mark is not closed."),
        ('""', "An exact phrase is empty"),
        ("-test", "Say what to look for"),
        ("flood OR", "OR must stand between two words"),
        ("OR flood", "OR must stand between two words"),
        ("&&& |", "has no letters or digits"),
        ("x" * 201, "The search is too long"),
    ],
)
def test_a_malformed_query_is_explained(typed, message):
    with pytest.raises(SearchError) as raised:
        parse_query(typed)
    assert message in raised.value.message


def test_a_malformed_query_on_the_page_shows_the_message_and_no_entries(client, agency, auditor):
    note(agency, "road closed")
    client.force_login(auditor.user)
    body = client.get(reverse("audit:event_list"), {"text": '"road closed'}).content.decode()
    assert "A quotation mark is not closed." in body
    assert "road closed</td>" not in body and "Fix the search above" in body
    viewed = AuditEvent.objects.filter(action=Action.LOG_VIEWED).get()
    assert viewed.outcome == Outcome.FAILURE and viewed.details == {"text": '"road closed'}


def archive(agency, channel, comment_id, text, author="Pat Q"):
    comment = IncomingComment(
        platform_comment_id=comment_id, platform_post_id="p1", parent_id=None, author_id="a1",
        author_name=author, author_handle="patq", text=text, created_at=timezone.now(),
    )  # fmt: skip
    ingest.archive_comments(channel=channel, batch=CommentBatch(comments=[comment], cursor=None))


def test_comment_versions_are_found_and_open_with_every_version(client, agency, auditor):
    channel = make_channel(agency, name="Metro X")
    archive(agency, channel, "c1", "The bridge is flooded again")
    archive(agency, channel, "c1", "The bridge is flooded again, edited <b>loud</b>")
    client.force_login(auditor.user)
    body = client.get(reverse("audit:event_list"), {"text": "bridge"}).content.decode()
    assert "Comments (every version)" in body
    assert body.count("Comment by Pat Q, version") == 2
    assert "&lt;b&gt;loud&lt;/b&gt;" in body and "<b>loud</b>" not in body
    from moderation.models import CommentVersion

    latest = CommentVersion.objects.order_by("-seq").first()
    page = client.get(reverse("audit:record_detail", args=["comments", latest.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "The bridge is flooded again" in text and latest.text_sha256 in text
    assert AuditEvent.objects.filter(action=Action.RECORD_VIEWED).get().details == {
        "source": "comments", "record": str(latest.pk)
    }  # fmt: skip
    # By channel, and leaving out comments when only log entries are asked for.
    by_channel = client.get(reverse("audit:event_list"), {"text": "bridge", "channel": "metro x"})
    assert by_channel.content.decode().count("Comment by Pat Q") == 2
    log_only = client.get(reverse("audit:event_list"), {"text": "bridge", "kind": "log"})
    assert "Comment by Pat Q" not in log_only.content.decode()


def test_another_agencys_comment_is_not_found(client, agency, auditor, other_agency):
    with agency_scope(other_agency):
        channel = make_channel(other_agency, name="River X")
        archive(other_agency, channel, "c9", "riverside secret")
        from moderation.models import CommentVersion

        theirs = CommentVersion.objects.get()
    client.force_login(auditor.user)
    assert (
        "riverside secret"
        not in client.get(reverse("audit:event_list"), {"text": "riverside"}).content.decode()
    )
    response = client.get(reverse("audit:record_detail", args=["comments", theirs.pk]))
    assert response.status_code == 404


def test_an_entry_shows_its_position_in_the_chain(client, agency, auditor):
    entry = note(agency, "hello")
    client.force_login(auditor.user)
    body = client.get(reverse("audit:event_detail", args=[entry.pk])).content.decode()
    # The head as the page was drawn: every entry but the page's own "entry opened".
    head = AuditEvent.objects.order_by("-seq").first().seq - 1
    assert f"Entry {entry.seq} of {head}" in body
    assert entry.hash in body and entry.prev_hash in body


def test_pages_go_back_in_time_without_counting(client, agency, auditor):
    for number in range(55):
        note(agency, f"paging {number:02d}")
    client.force_login(auditor.user)
    url = reverse("audit:event_list")
    first = client.get(url, {"text": "paging"}).content.decode()
    assert "paging 54" in first and "paging 05" in first and "paging 04" not in first
    older = AuditEvent.objects.get(reason="paging 05").seq
    assert f"before={older}" in first
    second = client.get(url, {"text": "paging", "before": older}).content.decode()
    assert "paging 04" in second and "paging 00" in second and "paging 05" not in second


def test_a_word_search_uses_the_index_under_row_level_security(agency):
    """At a million entries only the GIN index answers in time; under forced row-level
    security PostgreSQL uses it only because the match function is marked LEAKPROOF
    (smc/embedded.py, deploy/postgres-init.sh)."""
    from django.db import connection, transaction

    note(agency, "flood")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # leaves bitmap scans
        cursor.execute(
            "EXPLAIN SELECT id FROM audit_auditevent "
            "WHERE search @@ plainto_tsquery('english', 'flood')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on audit_search" in plan, plan
