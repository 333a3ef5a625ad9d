"""Test data, built through the services so it is data a person could have made."""

import itertools

from accounts.models import Agency, Role, Unit
from accounts.services import add_member
from smc.tenancy import agency_scope

_numbers = itertools.count(1)


def make_agency(*, name: str | None = None, slug: str | None = None, **fields) -> Agency:
    number = next(_numbers)
    return Agency.objects.create(
        name=name or f"Agency {number}", slug=slug or f"agency-{number}", **fields
    )


def make_unit(agency: Agency, *, name: str | None = None, parent: Unit | None = None) -> Unit:
    with agency_scope(agency):
        return Unit.objects.create(
            agency=agency, name=name or f"Unit {next(_numbers)}", parent=parent
        )


def make_member(
    agency: Agency,
    *,
    role: str = Role.USER,
    username: str | None = None,
    password: str = "Correct-Horse-Battery-9",
    unit: Unit | None = None,
    email: str | None = None,
):
    username = username or f"person{next(_numbers)}"
    return add_member(
        agency=agency,
        username=username,
        password=password,
        role=role,
        email=email or f"{username}@example.org",
        full_name=username.title(),
        unit=unit,
        actor_label="test",
    )


def make_channel(agency: Agency, *, platform: str = "x", name: str | None = None,
                 secrets: dict | None = None, administrator=None, **fields):  # fmt: skip
    """A connected channel, stored through the connect service (secrets encrypted)."""
    from platforms.adapters.base import ConnectedAccount
    from platforms.services import connect_channel

    number = next(_numbers)
    administrator = administrator or make_member(agency, role=Role.ADMINISTRATOR)
    account = ConnectedAccount(
        account_id=fields.pop("account_id", f"acct-{number}"),
        handle=fields.pop("handle", f"handle{number}"),
        display_name=name or f"Channel {number}",
        secrets=secrets if secrets is not None else {"access_token": f"token-{number}"},
        **fields,
    )
    with agency_scope(agency):
        return connect_channel(administrator=administrator, platform=platform, account=account)


def make_post(author, *, channels=(), text: str = "Road closed on Elm St until 5 pm.",
              **fields):  # fmt: skip
    """A draft by `author` for `channels`: one WAITING publication per channel.

    Written with the ORM on purpose: tests of drafting itself go through the services;
    other tests just need a post in a given state."""
    from posting.models import Post, Publication

    with agency_scope(author.agency):
        post = Post.objects.create(agency=author.agency, author=author, text=text, **fields)
        for channel in channels:
            Publication.objects.create(agency=author.agency, post=post, channel=channel)
        return post
