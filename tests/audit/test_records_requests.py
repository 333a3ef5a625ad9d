"""Records requests: the request, its scope, and redaction in the copy only."""

import hashlib

from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent, RecordsRequest, Redaction
from audit.requests import create_records_request, records_request_records, redact
from audit.services import CHAINED_FIELDS, canonical_json, chained_bytes
from moderation import ingest
from moderation.models import Comment
from platforms.adapters.base import CommentBatch, IncomingComment
from tests.factories import make_channel, make_member

PRIVATE = "My neighbour at 612-555-0182 keeps calling, email kim.doe@gmail.com"


def _comments(agency, admin):
    channel = make_channel(agency, administrator=admin, name="Metro on X")
    now = timezone.now()
    ingest.archive_comments(
        channel=channel,
        batch=CommentBatch(
            [
                IncomingComment("c1", "p1", None, "u1", "Kim Doe", "kimd", PRIVATE, now),
                IncomingComment("c2", "p1", None, "u2", "Pat", "pat", "Thanks, stay safe", now),
            ],
            None,
        ),
    )
    return channel


def _request(member, **scope):
    today = timezone.localdate()
    return create_records_request(
        member=member,
        requester="Jordan Press",
        received_on=today,
        date_from=scope.pop("date_from", today),
        date_to=today,
        kinds=scope.pop(
            "kinds", ["audit.event", "moderation.comment.quiet", "moderation.comment.acted"]
        ),
        **scope,
    )


def test_the_copy_is_redacted_the_original_kept_and_both_recorded(agency, admin):
    _comments(agency, admin)
    made = _request(admin)

    records = list(records_request_records(made))

    comments = {r.fields["platform_comment_id"]: r for r in records if r.kind.startswith("moder")}
    private = comments["c1"]
    assert "612-555-0182" not in private.fields["text"] and "gmail" not in private.fields["text"]
    assert "[redacted: personal_data.phone]" in private.fields["text"]
    assert "[redacted: personal_data.email]" in private.fields["versions"][0]["text"]
    assert comments["c2"].fields["text"] == "Thanks, stay safe" and not comments["c2"].redactions
    assert Comment.objects.get(platform_comment_id="c1").text == PRIVATE  # the original stays
    stored = Redaction.objects.filter(request=made)
    assert {r.rule for r in stored} == {"personal_data.phone", "personal_data.email"}
    assert {r.field for r in stored} == {"text", "versions.0.text"}
    assert all(r.original_sha256 == hashlib.sha256(PRIVATE.encode()).hexdigest() for r in stored)
    compiled = AuditEvent.objects.get(action=Action.RECORDS_REQUEST_COMPILED)
    assert compiled.details["redactions"] == 4
    assert compiled.details["records"]["moderation.comment.quiet"] == 1
    # Events carry what a package needs to prove them against the chain.
    event = next(r for r in records if r.kind == "audit.event")
    assert set(CHAINED_FIELDS) <= set(event.fields) and event.fields["hash"]
    # Reading again stores no second copy of each redaction.
    list(records_request_records(made))
    assert Redaction.objects.filter(request=made).count() == 4


def test_a_request_without_redaction_and_a_narrow_scope(agency, admin):
    channel = _comments(agency, admin)
    made = _request(
        admin, kinds=["moderation.comment.acted"], channel_id=channel.pk, redact_personal_data=False
    )
    records = list(records_request_records(made))
    assert [r.fields["platform_comment_id"] for r in records] == ["c1"]
    assert records[0].fields["text"] == PRIVATE and not Redaction.objects.exists()
    nobody = _request(admin, kinds=["moderation.comment.acted"], person="someone-else")
    assert list(records_request_records(nobody)) == []


def test_redaction_merges_overlapping_spans():
    from audit import requests

    def finder(text):
        return [(0, 4, "a"), (2, 6, "b")] if text.startswith("abcdef") else []

    requests.register_personal_data_finder(finder)
    try:
        assert redact("abcdefgh") == ("[redacted: a]gh", [(0, 6, "a")])
    finally:
        requests._FINDERS.remove(finder)


def test_an_auditor_opens_a_request_and_it_is_recorded(client, agency, admin):
    auditor = make_member(agency, role=Role.AUDITOR, username="aude")
    client.force_login(auditor.user)
    response = client.post(
        reverse("audit:request_list"),
        {
            "requester": "Jordan <Press>",
            "received_on": "2026-11-20",
            "date_from": "2026-01-01",
            "date_to": "2026-06-30",
            "kinds": ["audit.event", "moderation.comment.quiet"],
            "redact_personal_data": "on",
        },
    )
    made = RecordsRequest.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/requests/{made.pk}/")
    assert made.reference.startswith("RR-") and made.created_by_label == "aude"
    assert made.kinds == ["audit.event", "moderation.comment.quiet"]
    opened = AuditEvent.objects.get(action=Action.RECORDS_REQUEST_CREATED)
    assert opened.actor_label == "aude" and opened.details["reference"] == made.reference
    body = client.get(response.url).content.decode()
    assert "Jordan &lt;Press&gt;" in body and "Redacted in the copy" in body


def test_a_request_with_dates_the_wrong_way_round_is_explained(client, agency, admin):
    client.force_login(admin.user)
    events = AuditEvent.objects.count()
    response = client.post(
        reverse("audit:request_list"),
        {
            "requester": "Jordan",
            "received_on": "2026-11-20",
            "date_from": "2026-06-30",
            "date_to": "2026-01-01",
            "kinds": ["audit.event"],
        },
    )
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    assert not RecordsRequest.objects.exists() and AuditEvent.objects.count() == events


def test_the_fast_canonical_bytes_are_json_dumps_bytes():
    fields = {name: f'v\u00e9"\\\n\u2028{name}' for name in CHAINED_FIELDS}
    fields.update(
        seq=7,
        agency_id=None,
        actor_id=12345678901,
        on_behalf_of_id=None,
        ip=None,
        occurred_at=timezone.now(),
        details={"b": [1, 2.5, None, True], "a": {"z": "é", "y": "\ud7ff"}},
    )
    from audit.services import canonical_time

    expected = dict(fields, occurred_at=canonical_time(fields["occurred_at"]))
    assert chained_bytes(fields) == canonical_json(expected).encode()
