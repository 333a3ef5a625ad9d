"""C1–C3: the administrators' channels page at the scale of a large agency."""

from django.urls import reverse

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from platforms.models import Channel, ChannelSecret
from tests.factories import make_channel, make_member


def test_five_hundred_channels_search_filter_and_page(client, agency, admin,
                                                      django_assert_max_num_queries):  # fmt: skip
    platforms = ["facebook", "x", "youtube", "mastodon", "bluesky"]
    for n in range(500):
        make_channel(agency, platform=platforms[n % 5], name=f"Officer {n:03d}",
                     handle=f"officer{n:03d}", administrator=admin)  # fmt: skip
    client.force_login(admin.user)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("platforms:channel_list")).content.decode()
    assert "500 channels" in page and "Page 1 of 10" in page
    assert page.count('<tr class="status-') == 50
    found = client.get(reverse("platforms:channel_list"), {"search": "officer 12"}).content
    assert "10 channels" in found.decode()  # Officer 120–129
    bluesky = client.get(reverse("platforms:channel_list"), {"platform": "bluesky"}).content
    assert "100 channels" in bluesky.decode()
    last = client.get(reverse("platforms:channel_list"), {"page": 10}).content.decode()
    assert "Page 10 of 10" in last


def test_htmx_filtering_returns_only_the_rows(client, agency, admin):
    make_channel(agency, name="Main Page", platform="facebook", administrator=admin)
    client.force_login(admin.user)
    response = client.get(reverse("platforms:channel_list"), {"search": "main"},
                          HTTP_HX_REQUEST="true")  # fmt: skip
    body = response.content.decode()
    assert "Main Page" in body and "<html" not in body


def test_disconnect_forgets_the_credentials_and_is_recorded(client, agency, admin):
    channel = make_channel(agency, name="Old account", administrator=admin)
    client.force_login(admin.user)
    response = client.post(reverse("platforms:disconnect", args=[channel.pk]), follow=True)
    assert (
        "Old account (X) is disconnected. Its credentials are deleted." in response.content.decode()
    )
    channel.refresh_from_db()
    assert channel.status == Channel.Status.DISCONNECTED
    assert not ChannelSecret.objects.filter(channel=channel).exists()
    assert AuditEvent.objects.filter(action=Action.CHANNEL_DISCONNECTED).count() == 1


def test_only_administrators_manage_channels(client, agency, admin):
    channel = make_channel(agency, administrator=admin)
    for role in (Role.USER, Role.SUPERVISOR, Role.AUDITOR):
        member = make_member(agency, role=role)
        client.force_login(member.user)
        assert client.get(reverse("platforms:channel_list")).status_code == 403
        assert client.post(reverse("platforms:disconnect", args=[channel.pk])).status_code == 403
    channel.refresh_from_db()
    assert channel.status == Channel.Status.CONNECTED
