"""The channels page (C1–C3): status, last sync, profile compliance; connect, disconnect."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as members_selectors
from accounts.models import Role
from accounts.permissions import role_required
from platforms import connect, selectors, services
from platforms.forms import BlueskyLoginForm, ChannelFilterForm, MastodonInstanceForm
from platforms.models import Platform

administrator_only = role_required(Role.ADMINISTRATOR)


@login_required
@administrator_only
def channel_list(request):
    form = ChannelFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    found = selectors.channels(viewer=request.membership, **filters)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    people = selectors.people_by_channel(page)
    for channel in page:
        channel.people = people.get(channel.pk, [])
    template = "platforms/_channel_rows.html" if request.htmx else "platforms/channel_list.html"
    return render(request, template, {"form": form, "page": page})


@login_required
@administrator_only
def channel_detail(request, channel_id):
    channel = selectors.get_channel_for(request.membership, channel_id)
    people = selectors.channel_people(channel)
    members = members_selectors.members(viewer=request.membership).filter(is_active=True)
    chosen = {m.pk for m in people}
    from accounts.authority import trained_member_ids

    return render(request, "platforms/channel_detail.html",
                  {"channel": channel, "people": people, "members": members,
                   "chosen": chosen,
                   "publishers": {m.pk for m in selectors.channel_publishers(channel)},
                   "trained": trained_member_ids(channel.agency)})  # fmt: skip


def _posted_members(request, field: str) -> list:
    """The members a channel form names, each one of the viewer's agency (another
    agency's id is a 404, never a silent skip)."""
    return [
        members_selectors.get_membership_for(request.membership, int(pk))
        for pk in request.POST.getlist(field) if pk.isdigit()
    ]  # fmt: skip


@require_POST
@login_required
@administrator_only
def set_people(request, channel_id):
    channel = selectors.get_channel_for(request.membership, channel_id)
    memberships = _posted_members(request, "people")
    try:
        services.set_channel_people(administrator=request.membership, channel=channel,
                                    memberships=memberships)  # fmt: skip
    except services.ChannelError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Who may use %s is saved.") % channel)
    return redirect("platforms:channel_detail", channel_id=channel.pk)


@require_POST
@login_required
@administrator_only
def disconnect(request, channel_id):
    channel = selectors.get_channel_for(request.membership, channel_id)
    try:
        services.disconnect_channel(administrator=request.membership, channel=channel)
    except services.ChannelError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%s is disconnected. Its credentials are deleted.") % channel)
    return redirect("platforms:channel_detail", channel_id=channel.pk)


PENDING_KEY = "smc_channel_connect"


@login_required
@administrator_only
def connect_choose(request):
    return render(
        request,
        "platforms/connect.html",
        {"mastodon_form": MastodonInstanceForm(), "bluesky_form": BlueskyLoginForm()},
    )


@login_required
@administrator_only
def connect_start(request, platform):
    # A link, not a form: the browser then follows our redirect to the platform, which
    # the Content-Security-Policy's form-action 'self' would refuse after a form.
    try:
        authorize_url, pending = connect.start_connect(
            administrator=request.membership, platform=platform
        )
    except services.ChannelError as error:
        messages.error(request, error.message)
        return redirect("platforms:connect")
    request.session[PENDING_KEY] = pending.as_session()
    return redirect(authorize_url)


@require_POST
@login_required
@administrator_only
def connect_mastodon(request):
    form = MastodonInstanceForm(request.POST)
    if form.is_valid():
        try:
            authorize_url, pending = connect.start_connect(
                administrator=request.membership,
                platform=Platform.MASTODON,
                instance_url=form.cleaned_data["instance"],
            )
        except services.ChannelError as error:
            form.add_error("instance", error.message)
        else:
            request.session[PENDING_KEY] = pending.as_session()
            context = {"authorize_url": authorize_url, "instance": pending.instance}
            return render(request, "platforms/connect_continue.html", context)
    context = {"mastodon_form": form, "bluesky_form": BlueskyLoginForm()}
    return render(request, "platforms/connect.html", context, status=400)


@require_POST
@login_required
@administrator_only
def connect_bluesky(request):
    form = BlueskyLoginForm(request.POST)
    if form.is_valid():
        try:
            channel = connect.connect_bluesky(
                administrator=request.membership,
                identifier=form.cleaned_data["identifier"],
                app_password=form.cleaned_data["app_password"],
            )
        except services.ChannelError as error:
            form.add_error("app_password", error.message)
        else:
            messages.success(request, _("%s is connected.") % channel)
            return redirect("platforms:channel_detail", channel_id=channel.pk)
    context = {"mastodon_form": MastodonInstanceForm(), "bluesky_form": form}
    return render(request, "platforms/connect.html", context, status=400)


@login_required
@administrator_only
def connect_callback(request, platform):
    saved = request.session.pop(PENDING_KEY, None)
    pending = connect.Pending(**saved) if saved else None
    try:
        channels = connect.finish_connect(
            administrator=request.membership,
            pending=pending,
            platform=platform,
            callback_url=request.build_absolute_uri(),
        )
    except services.ChannelError as error:
        messages.error(request, error.message)
        return redirect("platforms:connect")
    for channel in channels:
        messages.success(request, _("%s is connected.") % channel)
    return redirect("platforms:channel_list")


@require_POST
@login_required
@administrator_only
def set_publishers(request, channel_id):
    channel = selectors.get_channel_for(request.membership, channel_id)
    memberships = _posted_members(request, "publishers")
    try:
        services.set_channel_publishers(administrator=request.membership, channel=channel,
                                        memberships=memberships)  # fmt: skip
    except services.ChannelError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Who may publish to %s without approval is saved.") % channel)
    return redirect("platforms:channel_detail", channel_id=channel.pk)


@require_POST
@login_required
@administrator_only
def set_channel_approval(request, channel_id):
    channel = selectors.get_channel_for(request.membership, channel_id)
    wanted = request.POST.get("needs_approval") == "on"
    services.set_channel_needs_approval(administrator=request.membership, channel=channel,
                                        needs_approval=wanted)  # fmt: skip
    if wanted:
        messages.success(request, _("Every post to %s now needs approval.") % channel)
    else:
        messages.success(request, _("Posts to %s follow their authors' rights again.") % channel)
    return redirect("platforms:channel_detail", channel_id=channel.pk)
