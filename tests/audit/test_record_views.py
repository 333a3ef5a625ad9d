"""R1, R3: the auditor reads the record, and every read is itself recorded."""

from django.urls import reverse

from accounts.models import Role
from audit.actions import Action
from audit.actors import system_actor
from audit.models import AuditEvent
from audit.services import record_event
from tests.factories import make_member


def test_searching_the_record_is_recorded(client, agency, admin):
    auditor = make_member(agency, role=Role.AUDITOR, username="aude")
    client.force_login(auditor.user)
    response = client.get(reverse("audit:event_list"), {"kind": Action.MEMBERSHIP_CREATED})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Member added" in body and "Aude" in body
    entries = body[body.index('data-testid="entries"') :]
    assert "Signed in" not in entries and "hits-comments" not in body
    viewed = AuditEvent.objects.filter(action=Action.LOG_VIEWED).get()
    assert viewed.actor_label == "aude" and viewed.details == {
        "kind": "accounts.membership.created"
    }


def test_an_entry_shows_its_place_in_the_chain_and_the_read_is_recorded(client, agency, admin):
    auditor = make_member(agency, role=Role.AUDITOR, username="aude")
    first = AuditEvent.objects.order_by("seq").first()
    second = AuditEvent.objects.get(seq=first.seq + 1)
    client.force_login(auditor.user)
    body = client.get(reverse("audit:event_detail", args=[second.pk])).content.decode()
    assert second.hash in body and second.prev_hash == first.hash and first.hash in body
    assert f"#{first.seq}" in body
    opened = AuditEvent.objects.get(action=Action.EVENT_VIEWED)
    assert opened.details == {"seq": second.seq, "hash": second.hash}


def test_the_chain_check_page_says_it_is_intact(client, agency, admin):
    auditor = make_member(agency, role=Role.AUDITOR, username="aude")
    client.force_login(auditor.user)
    body = client.get(reverse("audit:chain_status")).content.decode()
    assert "Yes. All" in body and "entries link up and match their hashes." in body
    assert AuditEvent.objects.filter(action=Action.CHAIN_VERIFIED).count() == 1


def test_untrusted_text_in_the_record_is_escaped(client, agency, admin):
    actor = system_actor(agency_id=agency.pk, agency_label=agency.name, label="<b>x</b>")
    record_event(actor=actor, action=Action.LOGIN_FAILED, reason="<script>alert(1)</script>")
    event = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    client.force_login(admin.user)
    list_body = client.get(reverse("audit:event_list")).content.decode()
    detail_body = client.get(reverse("audit:event_detail", args=[event.pk])).content.decode()
    for body in (list_body, detail_body):
        assert "<b>x</b>" not in body and "&lt;b&gt;x&lt;/b&gt;" in body
    assert "<script>alert(1)</script>" not in detail_body


def test_a_bad_date_range_is_explained(client, agency, admin):
    client.force_login(admin.user)
    body = client.get(
        reverse("audit:event_list"), {"since": "2026-05-02", "until": "2026-05-01"}
    ).content.decode()
    assert "The end date is before the start date." in body


def test_users_and_supervisors_cannot_read_the_record(client, agency, admin):
    for role in (Role.USER, Role.SUPERVISOR):
        member = make_member(agency, role=role)
        client.force_login(member.user)
        assert client.get(reverse("audit:event_list")).status_code == 403
    assert not AuditEvent.objects.filter(action=Action.LOG_VIEWED).exists()
