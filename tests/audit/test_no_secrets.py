"""R1: the record never holds secrets: no password, no invitation token."""

import re

from django.core import mail
from django.test import TestCase
from django.urls import reverse

from audit.models import AuditEvent


def test_passwords_and_invitation_tokens_never_reach_the_record(client, agency, admin, password):
    client.post(reverse("account_login"), {"login": "alex", "password": "a-wrong-Secret-1"})
    client.post(reverse("account_login"), {"login": "alex", "password": password})
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(reverse("accounts:invitation_list"), {"email": "n@x.example", "role": "user"})
    token = re.search(r"/accounts/join/(\S+)/", mail.outbox[-1].body).group(1)
    client.post(
        reverse("account_change_password"),
        {
            "oldpassword": password,
            "password1": "Next-Secret-Pass-2",
            "password2": "Next-Secret-Pass-2",
        },
    )
    secrets = [password, "a-wrong-Secret-1", "Next-Secret-Pass-2", token]
    events = list(AuditEvent.objects.all())
    assert len(events) >= 5
    for event in events:
        stored = " ".join(str(getattr(event, f.name)) for f in event._meta.fields)
        for secret in secrets:
            assert secret not in stored, f"{event.action} holds a secret"
