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


def test_a_channel_is_assigned_to_the_people_who_may_use_it(client, agency, admin):
    from platforms.models import ChannelPermission

    olive = make_member(agency, username="olive")
    sam = make_member(agency, username="sam")
    channel = make_channel(agency, name="Officer Olive", administrator=admin)
    client.force_login(admin.user)
    response = client.post(reverse("platforms:set_people", args=[channel.pk]),
                           {"people": [olive.pk]}, follow=True)  # fmt: skip
    assert "Who may use Officer Olive (X) is saved." in response.content.decode()
    assert olive.user.has_perm("platforms.draft_for_channel", channel)
    assert not sam.user.has_perm("platforms.draft_for_channel", channel)
    listing = client.get(reverse("platforms:channel_list")).content.decode()
    assert "Olive" in listing
    event = AuditEvent.objects.get(action=Action.CHANNEL_PEOPLE_CHANGED)
    assert event.details == {"before": [], "after": ["olive"]}
    client.post(reverse("platforms:set_people", args=[channel.pk]), {"people": [sam.pk]})
    assert not olive.user.has_perm("platforms.draft_for_channel", channel)
    assert sam.user.has_perm("platforms.draft_for_channel", channel)
    assert ChannelPermission.objects.count() == 1


def test_a_member_of_another_agency_cannot_be_assigned(client, agency, admin, other_agency):
    stranger = make_member(other_agency, username="stranger")
    channel = make_channel(agency, administrator=admin)
    client.force_login(admin.user)
    response = client.post(reverse("platforms:set_people", args=[channel.pk]),
                           {"people": [stranger.pk]})  # fmt: skip
    assert response.status_code == 404
    assert not stranger.user.has_perm("platforms.draft_for_channel", channel)
