"""The comment pages and the dry-run page (M5, M6, untrusted text): comments escaped with
invisible characters shown, each version's decision explained with its span marked,
Mastodon's HTML sanitized for display while the raw copy stays archived, a CSP header on
every page, and a dry run over an uploaded file that explains a bad file."""

import io

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from moderation import ingest
from moderation.models import Comment, CommentVersion
from platforms.adapters.base import CommentBatch, IncomingComment
from smc.tenancy import agency_scope
from tests.factories import make_channel, make_member

MXSS = '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'


def archive(channel, platform_id, text, raw=None):
    incoming = IncomingComment(
        platform_comment_id=platform_id, platform_post_id="post-1", parent_id=None,
        author_id="a1", author_name="<b>Pat</b>", author_handle="@pat", text=text,
        created_at=timezone.now(), raw=raw or {},
    )  # fmt: skip
    with agency_scope(channel.agency):
        ingest.archive_comments(channel=channel, batch=CommentBatch([incoming], cursor=None))
        return Comment.objects.get(channel=channel, platform_comment_id=platform_id)


@pytest.fixture
def supervisor(agency):
    return make_member(agency, role=Role.SUPERVISOR, username="sam")


@pytest.fixture
def channel(agency):
    return make_channel(agency, platform="mastodon", name="Metro on Mastodon")


def page_of(client, person, url, **kwargs):
    client.force_login(person.user)
    response = client.get(url, **kwargs)
    assert response.status_code == 200
    assert "script-src" in response.headers["Content-Security-Policy"]
    return response.content.decode()


def test_a_comment_shows_every_version_escaped_with_its_decision(client, channel, supervisor):
    comment = archive(channel, "c1", "<script>alert(1)</script> you are a f\u200buck\u202eing joke")
    body = page_of(client, supervisor, reverse("moderation:comment_detail", args=[comment.pk]))

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>Pat</b>" not in body and "&lt;b&gt;Pat&lt;/b&gt;" in body
    # The invisible characters are shown by name, inside the highlighted span.
    assert 'title="Zero Width Space (U+200B)"' in body
    assert "⟦U+202E⟧" in body
    mark = body.split('<mark class="decision-span">', 1)[1].split("</mark>", 1)[0]
    assert mark.startswith("f<span") and "uck" in mark
    assert "profanity.word" in body or "profanity." in body


def test_mastodon_html_is_sanitized_for_display_and_kept_raw(client, channel, supervisor):
    html = (
        '<p>Hi <a href="javascript:alert(1)">click</a> <a href="https://example.org/x">ok</a>'
        f"<img src=x onerror=alert(1)>{MXSS}<svg><style><img src=x onerror=alert(2)></style>"
        "</svg></p>"
    )
    comment = archive(channel, "c2", "Hi click ok", raw={"status": {"content": html}})
    body = page_of(client, supervisor, reverse("moderation:comment_detail", args=[comment.pk]))

    shown = body.split('data-testid="platform-html">', 1)[1].split("</div>", 1)[0]
    assert "onerror" not in shown and "javascript:" not in shown and "<img" not in shown
    assert '<a href="https://example.org/x" rel="noopener noreferrer nofollow ugc">ok</a>' in shown
    with agency_scope(channel.agency):
        [version] = CommentVersion.objects.filter(comment=comment)
    assert version.raw["status"]["content"] == html


def test_the_comment_list_filters_by_channel(client, agency, channel, supervisor):
    other = make_channel(agency, platform="x", name="Metro on X")
    archive(channel, "m1", "On Mastodon")
    archive(other, "x1", "On X, you piece of shit")
    url = reverse("moderation:comment_list")
    body = page_of(client, supervisor, url, data={"channel": channel.pk})
    assert "On Mastodon" in body and "On X" not in body
    assert "clean <small><code>none" in body
    body = page_of(client, supervisor, url, data={"channel": other.pk})
    assert "profanity <small><code>profanity." in body
    body = page_of(client, supervisor, url)
    assert "On Mastodon" in body and "On X" in body


def test_a_user_cannot_read_the_comment_archive(client, agency, channel):
    officer = make_member(agency, role=Role.USER)
    client.force_login(officer.user)
    assert client.get(reverse("moderation:comment_list")).status_code == 403


def upload(client, person, content: bytes):
    client.force_login(person.user)
    file = io.BytesIO(content)
    file.name = "comments.jsonl"
    return client.post(reverse("moderation:dry_run"), {"file": file})


def test_the_dry_run_page_decides_every_line_of_a_file(client, supervisor):
    lines = [
        '{"id": "a", "text": "Thanks for clearing the road so fast"}',
        "",
        '{"id": "b", "text": "I will shoot the deputy who towed my car"}',
        '{"id": "c", "text": "this is bullsh1t <script>x</script>"}',
    ]
    response = upload(client, supervisor, "\n".join(lines).encode())
    assert response.status_code == 200
    body = response.content.decode()
    table = body.split('data-testid="dry-run-decisions"', 1)[1]
    rows = table.split("<tr class=")[1:]
    assert [row.split('"')[1] for row in rows] == ["action-allow", "action-escalate", "action-hide"]
    assert "threat.intent" in rows[1] and '<mark class="decision-span">' in rows[1]
    assert "&lt;script&gt;" in rows[2] and "<script>x" not in body


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"id": 1, "text": "fine"}\nnot json\n', "Line 2 is not JSON"),
        (b'{"id": 1, "body": "no text"}\n', 'Line 1 is not a JSON object with a "text" field'),
        (b'{"id": 1, "text": 5}\n', 'Line 1: "text" must be a string'),
        (b'{"id": 1, "text": "caf\xe9"}\n', "Line 1 is not UTF-8 text"),
        (b"\n\n", "The file has no comments in it"),
    ],
)
def test_a_bad_dry_run_file_is_explained(client, supervisor, content, message):
    response = upload(client, supervisor, content)
    assert response.status_code == 400
    error = response.content.decode().split('data-testid="dry-run-error"', 1)[1]
    assert message in error.replace("&quot;", '"')
    assert "dry-run-decisions" not in response.content.decode()
