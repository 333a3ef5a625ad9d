"""The post's channel list (P3, P4): status and link for everyone who may see the post;
retry and delete for supervisors and administrators only."""

import pytest
from django.urls import reverse

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from posting.models import Publication
from tests.factories import make_member
from tests.platforms.contract import SimClient
from tests.posting.publishing_world import (
    connect_channels,
    publications,
    released_post,
    remote_copies,
)
from tests.posting.test_publishing import run_tick


@pytest.fixture
def author(agency):
    return make_member(agency, role=Role.USER, username="olive")


@pytest.fixture
def pio(agency):
    return make_member(agency, role=Role.SUPERVISOR, username="pat")


@pytest.fixture
def published_post(agency, author, simulated_platforms):
    channels = connect_channels(agency, simulated_platforms, ["mastodon", "x"])
    SimClient(simulated_platforms["x"]).fault("POST", "/2/tweets", mode="platform_error",
                                              status=403, body={"detail": "Forbidden"})  # fmt: skip
    post = released_post(author, channels)
    run_tick()
    return post


def page(client, member, post, **headers):
    client.force_login(member.user)
    return client.get(reverse("posting:post_publications", args=[post.pk]), follow=True, **headers)


def test_the_author_sees_each_channel_with_its_link_but_no_buttons(client, author, published_post):
    published = next(p for p in publications(published_post) if p.status == "published")
    failed = next(p for p in publications(published_post) if p.status == "failed")

    body = page(client, author, published_post).content.decode()

    assert published.url in body and "Published" in body
    assert "Failed" in body and failed.last_error[:20] in body
    assert reverse("posting:retry_publication", args=[failed.pk]) not in body
    assert reverse("posting:delete_publication", args=[published.pk]) not in body


def test_a_supervisor_retries_a_failed_channel_and_deletes_a_published_one(
    client, pio, published_post, simulated_platforms
):
    published = next(p for p in publications(published_post) if p.status == "published")
    failed = next(p for p in publications(published_post) if p.status == "failed")
    body = page(client, pio, published_post).content.decode()
    retry_url = reverse("posting:retry_publication", args=[failed.pk])
    delete_url = reverse("posting:delete_publication", args=[published.pk])
    assert retry_url in body and delete_url in body

    response = client.post(retry_url, follow=True)
    assert "goes to" in response.content.decode()
    assert run_tick() == ["published"]
    assert remote_copies(simulated_platforms, published_post.text)["x"] == 1

    response = client.post(delete_url, follow=True)
    assert "is deleted from" in response.content.decode()
    assert {p.channel.platform: p.status for p in publications(published_post)} == {
        "mastodon": Publication.Status.DELETED, "x": Publication.Status.PUBLISHED}  # fmt: skip
    assert remote_copies(simulated_platforms, published_post.text)["mastodon"] == 0
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {Action.PUBLICATION_RETRIED, Action.PUBLICATION_DELETED} <= actions


def test_an_author_cannot_delete_or_retry(client, author, published_post, simulated_platforms):
    published = next(p for p in publications(published_post) if p.status == "published")
    failed = next(p for p in publications(published_post) if p.status == "failed")
    client.force_login(author.user)

    delete = client.post(reverse("posting:delete_publication", args=[published.pk]))
    retry = client.post(reverse("posting:retry_publication", args=[failed.pk]))
    assert (delete.status_code, retry.status_code) == (403, 403)
    assert {p.status for p in publications(published_post)} == {"published", "failed"}
    assert remote_copies(simulated_platforms, published_post.text)["mastodon"] == 1


def test_a_retry_of_a_channel_that_is_not_failed_says_why(client, pio, published_post):
    published = next(p for p in publications(published_post) if p.status == "published")
    client.force_login(pio.user)
    response = client.post(reverse("posting:retry_publication", args=[published.pk]),
                           HTTP_HX_REQUEST="true")  # fmt: skip
    body = response.content.decode()
    assert "Only a failed publication can be retried" in body
    assert "<html" not in body  # the partial, for htmx
    assert publications(published_post)[0].attempts == 1


def test_another_officer_does_not_see_someone_elses_post(client, agency, published_post):
    other = make_member(agency, role=Role.USER, username="sam")
    assert page(client, other, published_post).status_code == 404
