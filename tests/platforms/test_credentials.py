"""C1: credentials are encrypted at rest, bound to their row, rotated, and fail closed."""

import base64
import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from audit.actions import Action
from audit.models import AuditEvent
from platforms.credentials import read_secrets
from platforms.crypto import CredentialUnreadable, current_key_id
from platforms.models import Channel, ChannelSecret
from smc.tenancy import agency_scope
from tests.conftest import owner_connection
from tests.factories import make_agency, make_channel

TOKEN = "EAAG-very-secret-page-token-1234567890"


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_a_credential_is_stored_encrypted_and_read_back(agency):
    channel = make_channel(agency, secrets={"access_token": TOKEN})
    secret = ChannelSecret.objects.get(channel=channel)
    assert TOKEN.encode() not in bytes(secret.ciphertext)
    assert secret.key_id == current_key_id()
    assert read_secrets(channel) == {"access_token": TOKEN}
    event = AuditEvent.objects.get(action=Action.CHANNEL_CONNECTED)
    assert TOKEN not in event.content and TOKEN not in str(event.details)


def test_a_ciphertext_moved_to_another_channel_does_not_decrypt(agency):
    first = make_channel(agency, secrets={"access_token": TOKEN})
    second = make_channel(agency, secrets={"access_token": "other-token"})
    stolen = ChannelSecret.objects.get(channel=first)
    ChannelSecret.objects.filter(channel=second).update(
        ciphertext=bytes(stolen.ciphertext), key_id=stolen.key_id
    )
    with pytest.raises(CredentialUnreadable, match="integrity check"):
        read_secrets(second)


def test_a_ciphertext_moved_to_another_agency_does_not_decrypt(transactional_db):
    a, b = make_agency(name="A"), make_agency(name="B")
    mine = make_channel(a, secrets={"access_token": TOKEN}, account_id="same")
    theirs = make_channel(b, secrets={"access_token": "theirs"}, account_id="same")
    with owner_connection() as c:
        c.execute("SELECT set_config('smc.every_agency', 'on', false)")
        c.execute(
            "UPDATE platforms_channelsecret SET ciphertext = "
            "(SELECT ciphertext FROM platforms_channelsecret WHERE channel_id = %s) "
            "WHERE channel_id = %s",
            [mine.pk, theirs.pk],
        )
    with agency_scope(b), pytest.raises(CredentialUnreadable):
        read_secrets(Channel.objects.get(pk=theirs.pk))


def test_keys_rotate_and_reencrypt_moves_everything_to_the_newest(agency, settings):
    channel = make_channel(agency, secrets={"access_token": TOKEN, "refresh_token": "r-1"})
    old_ring = list(settings.SMC_TOKEN_KEYS)
    settings.SMC_TOKEN_KEYS = [new_key(), *old_ring]
    assert read_secrets(channel)["access_token"] == TOKEN  # the old key still decrypts
    from io import StringIO

    out = StringIO()
    call_command("reencrypt_credentials", stdout=out)
    assert "re-encrypted 2 credentials; 0 already under the newest key" in out.getvalue()
    assert set(ChannelSecret.objects.values_list("key_id", flat=True)) == {current_key_id()}
    settings.SMC_TOKEN_KEYS = settings.SMC_TOKEN_KEYS[:1]  # the old key is retired
    assert read_secrets(channel) == {"access_token": TOKEN, "refresh_token": "r-1"}
    out = StringIO()
    call_command("reencrypt_credentials", stdout=out)
    assert "re-encrypted 0 credentials; 2 already under the newest key" in out.getvalue()


def test_a_lost_key_fails_closed_and_the_channel_needs_reconnect(agency, settings):
    channel = make_channel(agency, secrets={"access_token": TOKEN})
    settings.SMC_TOKEN_KEYS = [new_key(), new_key()]  # the key it was sealed with is gone
    with pytest.raises(CredentialUnreadable, match="no longer in SMC_TOKEN_KEYS"):
        read_secrets(channel)
    from io import StringIO

    call_command("reencrypt_credentials", stdout=StringIO())
    channel.refresh_from_db()
    assert channel.status == Channel.Status.NEEDS_RECONNECT
    assert AuditEvent.objects.filter(action=Action.CREDENTIAL_UNREADABLE).count() == 1
    assert AuditEvent.objects.filter(action=Action.CHANNEL_NEEDS_RECONNECT).count() == 1


@pytest.mark.parametrize("bad", ["short", "not base64 at all!!", ""])
def test_a_bad_key_ring_stops_with_a_clear_message(settings, bad):
    settings.SMC_TOKEN_KEYS = [bad] if bad else []
    with pytest.raises(ImproperlyConfigured, match="SMC_TOKEN_KEYS"):
        current_key_id()
