"""The approval screens (P2): the queue, review, decisions and what changed."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from posting.models import Post
from posting.services.approval import approve_post, edit_as_supervisor, submit_post
from tests.factories import make_agency, make_channel, make_member, make_post


def waiting(desk, text="Road closed on Elm St until 5 pm.", author=None):
    author = author or desk.officer
    return submit_post(author=author, post=make_post(author, channels=[desk.x], text=text))


def test_the_queue_shows_what_a_supervisor_decides_and_they_approve_from_it(client, desk):
    post = waiting(desk, text="Elm St closed <script>alert(1)</script>")
    client.force_login(desk.sergeant.user)
    page = client.get(reverse("posting:approval_queue")).content.decode()
    assert f'id="approval-{post.pk}"' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert '<span class="tag">Metro on X</span>' in page
    assert "0 photos" in page and "by Officer (Patrol)" in page
    assert "moves up in" in page and "js/approval_queue.js" in page
    response = client.post(reverse("posting:approve", args=[post.pk]), {"from": "queue"})
    assert response["Location"] == reverse("posting:approval_queue")
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED


def test_the_queue_is_one_query_whatever_the_number_of_posts(client, desk):
    waiting(desk)
    client.force_login(desk.admin.user)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("posting:approval_queue"))
    for n in range(12):
        waiting(desk, text=f"Notice {n}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("posting:approval_queue"))
    assert response.content.decode().count("data-approval data-open") == 13
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_supervisor_sees_only_their_chain_and_never_their_own_posts(client, desk, agency):
    from accounts.authority import set_unit_supervisors
    from tests.factories import make_unit

    traffic = make_unit(agency, name="Traffic", parent=desk.hq)
    other = make_member(agency, role="supervisor", username="traffic-sergeant", unit=traffic)
    set_unit_supervisors(administrator=desk.admin, unit=traffic, memberships=[other])
    post = waiting(desk)
    client.force_login(other.user)
    assert (
        f"approval-{post.pk}" not in client.get(reverse("posting:approval_queue")).content.decode()
    )
    assert client.get(reverse("posting:review", args=[post.pk])).status_code == 404
    assert client.post(reverse("posting:approve", args=[post.pk])).status_code == 404
    own = waiting(desk, author=desk.admin)
    client.force_login(desk.admin.user)
    page = client.get(reverse("posting:approval_queue")).content.decode()
    assert f"approval-{post.pk}" in page and f"approval-{own.pk}" not in page


def test_reject_from_the_queue_needs_a_reason(client, desk):
    post = waiting(desk)
    client.force_login(desk.sergeant.user)
    response = client.post(reverse("posting:reject", args=[post.pk]),
                           {"reason": " ", "from": "queue"}, follow=True)  # fmt: skip
    assert "Say why the post goes back" in response.content.decode()
    post.refresh_from_db()
    assert post.status == Post.Status.AWAITING_APPROVAL
    client.post(reverse("posting:reject", args=[post.pk]), {"reason": "Too vague."})
    post.refresh_from_db()
    assert (post.status, post.rejection_reason) == (Post.Status.REJECTED, "Too vague.")


def test_auditors_read_the_queue_and_decide_nothing_and_officers_see_no_queue(client, desk):
    post = waiting(desk)
    client.force_login(desk.auditor.user)
    page = client.get(reverse("posting:approval_queue")).content.decode()
    assert f"approval-{post.pk}" in page and "data-approve" not in page
    assert client.get(reverse("posting:review", args=[post.pk])).status_code == 200
    assert client.post(reverse("posting:approve", args=[post.pk])).status_code == 403
    post.refresh_from_db()
    assert post.status == Post.Status.AWAITING_APPROVAL
    client.force_login(desk.officer.user)
    assert client.get(reverse("posting:approval_queue")).status_code == 403


def test_another_agencys_post_is_not_found(client, desk):
    elsewhere = make_agency(name="Riverside Fire", slug="riverside-fire")
    admin = make_member(elsewhere, role="administrator", username="riverside-admin")
    author = make_member(elsewhere, username="riverside-officer")
    channel = make_channel(elsewhere, administrator=admin)
    theirs = make_post(author, channels=[channel], status="awaiting_approval")
    client.force_login(desk.admin.user)
    for name in ("posting:review", "posting:changes"):
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert client.post(reverse("posting:approve", args=[theirs.pk])).status_code == 404


def test_the_author_sees_what_a_supervisor_changed_escaped(client, desk):
    post = waiting(desk, text="Elm St closed until 5 pm.")
    post = approve_post(supervisor=desk.sergeant, post=post)
    client.force_login(desk.chief.user)
    edit = {"text": "Elm St closed until <b>6 pm</b>.", "location": ""}
    response = client.post(reverse("posting:review", args=[post.pk]), edit)
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == Post.Status.AWAITING_APPROVAL and post.revision == 2
    client.force_login(desk.officer.user)
    page = client.get(reverse("posting:changes", args=[post.pk])).content.decode()
    assert "<del>5 pm.</del>" in page or "<del>5</del>" in page
    assert "&lt;b&gt;6" in page and "<b>6" not in page
    assert "Edited after approval" in page
    # The author's own review link takes them to the changes.
    assert client.get(reverse("posting:review", args=[post.pk])).status_code == 403


def test_a_bad_edit_keeps_what_the_supervisor_typed(client, desk):
    post = waiting(desk)
    client.force_login(desk.sergeant.user)
    long_text = "closed " * 60
    response = client.post(reverse("posting:review", args=[post.pk]), {"text": long_text})
    assert response.status_code == 400
    assert "too long for" in response.content.decode()
    assert long_text.strip() in response.content.decode()
    post.refresh_from_db()
    assert post.revision == 1
    edit_as_supervisor(supervisor=desk.sergeant, post=post, text="Elm St closed.")


def test_the_home_page_is_the_desk_for_those_who_approve(client, desk):
    post = waiting(desk)
    client.force_login(desk.sergeant.user)
    page = client.get(reverse("home")).content.decode()
    assert "1 post waits for your approval" in page and f"approval-{post.pk}" in page
    client.force_login(desk.officer.user)
    assert "waits for your approval" not in client.get(reverse("home")).content.decode()
