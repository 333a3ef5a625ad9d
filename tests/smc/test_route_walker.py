"""Tenancy over every route: agency A's people forging agency B's ids get 404 or 403,
B's data is unchanged and never shown. A route the walker does not know fails."""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import (
    Agency,
    Invitation,
    Membership,
    Notification,
    Role,
    Supervision,
    TrainingRecord,
    Unit,
)
from accounts.notifications import notify
from accounts.services import invite_member
from audit.actions import Action
from audit.models import AuditEvent
from moderation.ingest import archive_comments
from moderation.models import Comment, CommentPolicy, Hold
from platforms.adapters.base import CommentBatch, IncomingComment
from platforms.models import Channel, ChannelPermission
from posting.models import Post, PostPhoto, Publication
from smc.tenancy import agency_scope
from tests.factories import make_agency, make_channel, make_member, make_unit

# How to fill each route's arguments from one agency's objects.
OBJECT_ROUTES = {
    "accounts:member_detail": {"membership_id": "membership"},
    "accounts:change_role": {"membership_id": "membership"},
    "accounts:change_unit": {"membership_id": "membership"},
    "accounts:remove_member": {"membership_id": "membership"},
    "accounts:withdraw_invitation": {"invitation_id": "invitation"},
    "audit:event_detail": {"event_id": "event"},
    "audit:release_hold": {"hold_id": "legal_hold"},
    "audit:request_detail": {"request_id": "records_request"},
    "audit:request_package": {"request_id": "records_request"},
    "audit:export_detail": {"export_id": "export"},
    "audit:export_download": {"export_id": "export"},
    # "=text" is the argument itself, not an object's id.
    "audit:record_detail": {"source": "=comments", "record_id": "comment_version"},
    "platforms:channel_detail": {"channel_id": "channel"},
    "platforms:disconnect": {"channel_id": "channel"},
    "platforms:set_people": {"channel_id": "channel"},
    "moderation:comment_detail": {"comment_id": "comment"},
    # Authority and approval (A3–A5, P2)
    "accounts:unit_detail": {"unit_id": "unit"},
    "accounts:set_supervisors": {"unit_id": "unit"},
    "accounts:set_member_approval": {"membership_id": "membership"},
    "accounts:record_training": {"membership_id": "membership"},
    "accounts:open_notification": {"notification_id": "notification"},
    "platforms:set_publishers": {"channel_id": "channel"},
    "platforms:set_channel_approval": {"channel_id": "channel"},
    "posting:review": {"post_id": "post"},
    "posting:approve": {"post_id": "post"},
    "posting:reject": {"post_id": "post"},
    "posting:changes": {"post_id": "post"},
    "posting:post_publications": {"post_id": "post"},
    "posting:retry_publication": {"publication_id": "publication"},
    "posting:delete_publication": {"publication_id": "publication"},
    "moderation:restore": {"comment_id": "comment"},
    "posting:post_detail": {"post_id": "post"},
    "posting:compose_edit": {"post_id": "post"},
    "posting:withdraw": {"post_id": "post"},
    "posting:photo_remove": {"post_id": "post", "photo_id": "photo"},
    "posting:photo": {"photo_id": "photo"},
    "posting:photo_original": {"photo_id": "photo"},
}
# Routes keyed by a secret rather than an id: a forged key must find nothing.
SECRET_ROUTES = {
    "accounts:accept_invitation": {"token": "invitation_id_as_token"},
}
# allauth's own keyed links answer a forged key with an "invalid link" page; they hold
# no agency data, so the walker checks only that nothing of B shows.
ALLAUTH_KEY_ROUTES = {
    "account_confirm_email": {"key": "forged-key"},
    "account_reset_password_from_key": {"uidb36": "user_id_b36", "key": "forged-key"},
}
# Routes whose URL names a platform, not an object: as plain routes below.
PLATFORM_ROUTES = {
    "platforms:connect_start": {"platform": "x"},
    "platforms:connect_callback": {"platform": "x"},
}
# Routes with no object in the URL: they must show nothing of another agency.
PLAIN_ROUTES = {
    "home", "health",
    "account_login", "account_logout", "account_inactive", "account_signup",
    "account_reauthenticate", "account_email", "account_email_verification_sent",
    "account_change_password", "account_set_password", "account_reset_password",
    "account_confirm_login_code", "account_reset_password_from_key_done",
    "account_reset_password_done",
    "mfa_index", "mfa_authenticate", "mfa_reauthenticate", "mfa_activate_totp",
    "mfa_deactivate_totp", "mfa_view_recovery_codes", "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "accounts:switch_agency", "accounts:my_account", "accounts:member_list",
    "accounts:invitation_list", "accounts:unit_list", "accounts:security_settings",
    "audit:event_list", "audit:chain_status", "audit:export_list",
    "audit:retention", "audit:set_retention", "audit:hold_list", "audit:request_list",
    "platforms:channel_list", "platforms:connect", "platforms:connect_mastodon",
    "platforms:connect_bluesky",
    # Keyed by the form's client_key, scoped to the signed-in author's own agency.
    "posting:post_list", "posting:compose", "posting:autosave", "posting:photo_upload",
    # The Facebook webhook: no session, no agency in the URL; it trusts only a signature.
    "moderation:facebook_webhook",
    "moderation:comment_list", "moderation:dry_run",
    # Authority and approval (A3–A5, P2)
    "accounts:set_escalation", "accounts:notification_list",
    "accounts:read_all_notifications", "posting:approval_queue",
    # Comment review (M3–M5): held comments and forged ids arrive in the form.
    "moderation:queue", "moderation:review", "moderation:hold_switch", "moderation:policy",
}  # fmt: skip
# Views that only change the signed-in person's own login or session.
SELF_SERVICE = {"accounts:switch_agency", "accounts:accept_invitation",
                # A member's own notices: anyone may mark theirs read, auditors too.
                "accounts:open_notification", "accounts:read_all_notifications"}  # fmt: skip
# Record keeping an auditor may do (accounts.permissions.record_keeping): a legal hold, a
# records request. They change no record and no agency work; each is itself recorded.
RECORD_KEEPING = {"audit:hold_list", "audit:release_hold", "audit:request_list",
                  # asking for an export (R4), and a records request's package
                  "audit:export_list", "audit:request_package"}  # fmt: skip


def all_routes():
    found = []

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern):
                found.append(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns)
    return found


def test_the_walker_knows_every_route():
    known = (
        set(OBJECT_ROUTES)
        | set(SECRET_ROUTES)
        | set(ALLAUTH_KEY_ROUTES)
        | set(PLATFORM_ROUTES)
        | PLAIN_ROUTES
    )
    unknown = [name for name in all_routes() if name not in known]
    assert unknown == [], f"teach tests/smc/test_route_walker.py these routes: {unknown}"


class World:
    """Agency A with a member of each role; agency B with one of everything."""

    def __init__(self):
        self.a = make_agency(name="Alpha Police", slug="alpha")
        self.b = make_agency(name="Bravo Secret Agency", slug="bravo")
        self.a_members = {
            role: make_member(self.a, role=role, username=f"alpha-{role}") for role in Role.values
        }
        b_unit = make_unit(self.b, name="Bravo Hidden Unit")
        b_admin = make_member(self.b, role=Role.ADMINISTRATOR, username="bravo-admin")
        b_person = make_member(
            self.b, username="bravo_person", unit=b_unit, email="bravo@bravo.example"
        )
        with agency_scope(self.b):
            b_invitation, _ = invite_member(
                administrator=b_admin, email="invitee@bravo.example", role=Role.USER
            )
            b_event = AuditEvent.objects.order_by("seq").first()
        a_admin = self.a_members[Role.ADMINISTRATOR]
        with agency_scope(self.a):
            a_invitation, _ = invite_member(
                administrator=a_admin, email="someone@alpha.example", role=Role.USER
            )
            a_event = AuditEvent.objects.order_by("seq").first()
        b_channel = make_channel(self.b, name="Bravo Hidden Channel", administrator=b_admin)
        a_channel = make_channel(self.a, name="Alpha channel", administrator=a_admin)
        self.objects = {
            "b": {"membership": b_person, "invitation": b_invitation, "event": b_event,
                  "unit": b_unit, "channel": b_channel},
            "a": {"membership": self.a_members[Role.USER], "invitation": a_invitation,
                  "event": a_event, "unit": make_unit(self.a, name="Alpha unit"),
                  "channel": a_channel},
        }  # fmt: skip
        self.markers = ["Bravo Secret Agency", "Bravo Hidden Unit", "bravo_person",
                        "bravo@bravo.example", "invitee@bravo.example",
                        "Bravo Hidden Channel"]  # fmt: skip
        b, a = self.objects["b"], self.objects["a"]
        # Each topic below adds its own objects (one per side) and B's markers.
        # Moderation (M1–M6): a held comment
        b["comment"], b["hold"] = _held_comment(b_channel, "Bravo hidden comment text", b_admin)
        a["comment"], a["hold"] = _held_comment(a_channel, "Alpha comment", a_admin)
        self.markers += ["Bravo hidden comment text"]
        # Posting and approval (P1–P5, A3–A5)
        b["post"], b["photo"] = _post_with_photo(b_person, "Bravo hidden post text", b_channel,
                                                 status="awaiting_approval")  # fmt: skip
        a["post"], a["photo"] = _post_with_photo(self.a_members[Role.USER], "Alpha post", a_channel)
        b["publication"], a["publication"] = _publication_of(b["post"]), _publication_of(a["post"])
        with agency_scope(self.b):
            b["notification"] = notify(member=b_admin, title="Bravo hidden notice", url="/")
        with agency_scope(self.a):
            a["notification"] = notify(member=a_admin, title="Alpha notice", url="/")
        self.markers += ["Bravo hidden post text", "Bravo hidden notice"]
        # Record keeping (R5): a legal hold and a records request
        b["legal_hold"], b["records_request"] = _hold_and_request(self.b, b_admin, "Bravo")
        a["legal_hold"], a["records_request"] = _hold_and_request(self.a, a_admin, "Alpha")
        self.markers += ["Bravo secret matter", "Bravo secret requester"]
        # The record (R3, R4): a comment version opened from search, an auditor's export
        b["comment_version"], a["comment_version"] = (
            _first_version(b["comment"]),
            _first_version(a["comment"]),
        )
        b["export"] = _export_for(b_channel, b_admin)
        a["export"] = _export_for(a_channel, self.a_members[Role.AUDITOR])

    def url(self, name, side):
        objects = self.objects[side]
        if name in OBJECT_ROUTES:
            kwargs = {
                arg: key[1:] if key.startswith("=") else objects[key].pk
                for arg, key in OBJECT_ROUTES[name].items()
            }
        elif name in SECRET_ROUTES or name in ALLAUTH_KEY_ROUTES:
            kwargs = {}
            keys = SECRET_ROUTES.get(name) or ALLAUTH_KEY_ROUTES[name]
            for arg, source in keys.items():
                if source == "invitation_id_as_token":
                    kwargs[arg] = str(objects["invitation"].pk)
                elif source == "user_id_b36":
                    kwargs[arg] = _base36(objects["membership"].user_id)
                else:
                    kwargs[arg] = source
        else:
            kwargs = PLATFORM_ROUTES.get(name, {})
        return reverse(name, kwargs=kwargs)

    def forged_form(self):
        """Form fields filled with agency B's ids, as a forger would."""
        b = self.objects["b"]
        return {"membership": b["membership"].pk, "unit": b["unit"].pk, "parent": b["unit"].pk,
                "people": [b["membership"].pk], "hold": [b["hold"].pk], "decision": "release",
                "single": f"release:{b['hold'].pk}", "notification": [b["notification"].pk],
                "on": "1",
                "role": Role.ADMINISTRATOR, "roles": [Role.USER], "email": "x@alpha.example",
                "name": "Forged unit", "supervisors": [b["membership"].pk],
                "publishers": [b["membership"].pk], "needs_approval": "on",
                "course": "Forged course", "completed_on": "2026-01-01",
                "expires_on": "2027-01-01", "minutes": "5", "reason": "Forged reason",
                "text": "Forged edit", "channels": [b["channel"].pk],
                "client_key": str(b["post"].client_key),
                "upload_key": "forged-upload-key", "alt_text": "forged"}  # fmt: skip

    def snapshot(self, agency):
        with agency_scope(agency):
            return (
                sorted(
                    Membership.objects.values_list(
                        "pk", "role", "is_active", "unit_id", "needs_approval"
                    )
                ),
                sorted(Unit.objects.values_list("pk", "name", "parent_id")),
                sorted(Invitation.objects.values_list("pk", "revoked_at", "accepted_at")),
                sorted(Channel.objects.values_list("pk", "status", "needs_approval")),
                sorted(Post.objects.values_list("pk", "status", "text", "revision", "updated_at")),
                sorted(PostPhoto.objects.values_list("pk", "removed_at", "alt_text")),
                sorted(Supervision.objects.values_list("pk", "unit_id", "membership_id")),
                TrainingRecord.objects.count(),
                sorted(Notification.objects.values_list("pk", "read_at")),
                sorted(
                    Agency.objects.filter(pk=agency.pk).values_list(
                        "approval_escalation_minutes", flat=True
                    )
                ),
                ChannelPermission.objects.count(),
                sorted(Publication.objects.values_list("pk", "status", "attempts")),
                sorted(Hold.objects.values_list("pk", "state")),
                list(CommentPolicy.objects.values_list("hold_switch", "actions")),
                AuditEvent.objects.count(),
            )


def _publication_of(post):
    with agency_scope(post.agency_id):
        return Publication.objects.get(post=post)


def _held_comment(channel, text, _administrator):
    """An archived comment held for review."""
    with agency_scope(channel.agency_id):
        batch = CommentBatch(comments=[IncomingComment(
            platform_comment_id=f"c-{channel.pk}", platform_post_id="p", parent_id=None,
            author_id="a", author_name="Pat", author_handle="pat", text=text,
            created_at=timezone.now())], cursor=None)  # fmt: skip
        archive_comments(channel=channel, batch=batch)
        comment = Comment.objects.get(channel=channel)
        hold = Hold.objects.create(agency_id=channel.agency_id, comment=comment,
                                   reason_code="hold.switch")  # fmt: skip
    return comment, hold


def _post_with_photo(author, text, channel, **fields):
    """A post drafted through the compose service (so it has a real, cleaned photo), for
    one channel, then put in the state the walker needs."""
    from posting.services.drafts import DraftChanges, PhotoUpload, save_draft
    from tests.posting.compose_helpers import jpeg_with_gps, upload

    with agency_scope(author.agency):
        photo = PhotoUpload(upload(jpeg_with_gps()), "walker-photo")
        post = save_draft(author=author, client_key=uuid.uuid4(), changes=DraftChanges(text=text),
                          photos=[photo])  # fmt: skip
        Publication.objects.create(agency=author.agency, post=post, channel=channel)
        if fields:
            Post.objects.filter(pk=post.pk).update(**fields)
            post.refresh_from_db()
        return post, post.photos.get()


def _first_version(comment):
    from moderation.models import CommentVersion

    with agency_scope(comment.agency_id):
        return CommentVersion.objects.filter(comment=comment).order_by("seq").first()


def _export_for(channel, member):
    from audit.models import Export

    with agency_scope(channel.agency_id):
        return Export.objects.create(
            agency_id=channel.agency_id, requested_by_id=member.pk,
            requested_by_label=member.user.username, format="csv",
        )  # fmt: skip


def _hold_and_request(agency, administrator, name):
    import datetime

    from audit.requests import create_records_request
    from audit.retention import place_hold

    with agency_scope(agency):
        hold = place_hold(member=administrator, reason=f"{name} secret matter", person="x")
        made = create_records_request(
            member=administrator, requester=f"{name} secret requester",
            received_on=datetime.date(2026, 1, 5), date_from=datetime.date(2026, 1, 1),
            date_to=datetime.date(2026, 1, 31), kinds=["audit.event"],
        )  # fmt: skip
    return hold, made


def test_record_keeping_routes_are_the_marked_views():
    marked = set()

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif getattr(pattern.callback, "smc_record_keeping", False):
                marked.add(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns)
    assert marked == RECORD_KEEPING


def _base36(number):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
    return out or "0"


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # the posts' photos
    return World()


@pytest.mark.parametrize("role", Role.values)
def test_agency_a_cannot_reach_agency_b(world, client, role):
    member = world.a_members[role]
    before = world.snapshot(world.b)
    for name in all_routes():
        url = world.url(name, "b")
        for method in ("get", "post"):
            client.force_login(member.user)
            data = world.forged_form() if method == "post" else None
            response = getattr(client, method)(url, data=data)
            body = response.content.decode(errors="replace")
            where = f"{role} {method.upper()} {url} ({name}) -> {response.status_code}"
            assert response.status_code != 500, where
            if name in OBJECT_ROUTES or name in SECRET_ROUTES:
                # A POST-only route refuses a GET (405) before looking anything up.
                allowed = (403, 404, 405) if method == "get" else (403, 404)
                assert response.status_code in allowed, where
            for marker in world.markers:
                assert marker not in body, f"{where} shows {marker!r}"
    assert world.snapshot(world.b) == before


def test_a_forged_id_is_recorded_as_a_denied_access(world, client):
    admin = world.a_members[Role.ADMINISTRATOR]
    client.force_login(admin.user)
    response = client.get(world.url("accounts:member_detail", "b"))
    assert response.status_code == 404
    assert "That member does not exist." in response.content.decode()
    with agency_scope(world.a):
        denied = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).get()
    assert denied.actor_label == "alpha-administrator"
    assert denied.details["path"] == world.url("accounts:member_detail", "b")


def test_a_forged_unit_in_a_form_changes_nothing(world, client):
    admin = world.a_members[Role.ADMINISTRATOR]
    client.force_login(admin.user)
    target = world.objects["a"]["membership"]
    before = world.snapshot(world.a)
    response = client.post(
        reverse("accounts:change_unit", args=[target.pk]), {"unit": world.objects["b"]["unit"].pk}
    )
    assert response.status_code == 404
    after = world.snapshot(world.a)
    assert after[:-1] == before[:-1]  # only the denial was recorded


def test_an_auditor_reads_and_never_writes(world, client):
    auditor = world.a_members[Role.AUDITOR]
    before = world.snapshot(world.a)
    for name in all_routes():
        if name in SELF_SERVICE | RECORD_KEEPING or name.startswith(("account_", "mfa_")):
            continue
        client.force_login(auditor.user)
        url = world.url(name, "a")
        form = {"role": Role.ADMINISTRATOR, "email": "x@a.example", "name": "Auditor unit"}
        response = client.post(url, data=form)
        assert response.status_code == 403, f"auditor POST {url} ({name}) -> {response.status_code}"
        assert "Auditors can read the record but not change anything." in response.content.decode()
    after = world.snapshot(world.a)
    assert after[:-1] == before[:-1]  # only the refusals were recorded
