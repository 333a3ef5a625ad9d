"""The channels page (C1–C3): status, last sync, profile compliance; connect, disconnect."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from platforms import selectors, services
from platforms.forms import ChannelFilterForm

administrator_only = role_required(Role.ADMINISTRATOR)


@login_required
@administrator_only
def channel_list(request):
    form = ChannelFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    found = selectors.channels(viewer=request.membership, **filters)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    template = "platforms/_channel_rows.html" if request.htmx else "platforms/channel_list.html"
    return render(request, template, {"form": form, "page": page})


@login_required
@administrator_only
def channel_detail(request, channel_id):
    channel = selectors.get_channel_for(request.membership, channel_id)
    return render(request, "platforms/channel_detail.html", {"channel": channel})


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
