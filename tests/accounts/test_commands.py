"""Operator commands: create an agency with its first administrator, list agencies."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Agency, Membership
from smc.tenancy import agency_scope


def run(*args, stdin=""):
    import sys

    out, old = io.StringIO(), sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command(*args, stdout=out)
    finally:
        sys.stdin = old
    return out.getvalue()


def test_create_agency_with_an_invitation(db):
    out = run("create_agency", "--name", "Lakeside PD", "--slug", "lakeside",
              "--admin-username", "chief", "--admin-email", "chief@lakeside.example")  # fmt: skip
    assert "Created agency lakeside (Lakeside PD). Invitation for chief@lakeside.example" in out
    assert "/accounts/join/" in out
    assert Agency.objects.get(slug="lakeside").name == "Lakeside PD"


def test_create_agency_with_a_password(db, client):
    out = run("create_agency", "--name", "Hill FD", "--slug", "hill", "--admin-username",
              "boss", "--admin-email", "boss@hill.example", "--password-stdin",
              stdin="A-Strong-Pass-1234\n")  # fmt: skip
    assert "administrator boss can sign in now" in out
    agency = Agency.objects.get(slug="hill")
    with agency_scope(agency):
        assert Membership.objects.get().role == "administrator"
    assert (
        client.post("/login/", {"login": "boss", "password": "A-Strong-Pass-1234"})["Location"]
        == "/"
    )


def test_create_agency_refuses_a_taken_slug_and_a_weak_password(db):
    run("create_agency", "--name", "A", "--slug", "dup", "--admin-username", "a",
        "--admin-email", "a@a.example")  # fmt: skip
    with pytest.raises(CommandError, match="An agency with the short name “dup” exists already."):
        run("create_agency", "--name", "B", "--slug", "dup", "--admin-username", "b",
            "--admin-email", "b@b.example")  # fmt: skip
    with pytest.raises(CommandError, match="too short"):
        run("create_agency", "--name", "C", "--slug", "c", "--admin-username", "c",
            "--admin-email", "c@c.example", "--password-stdin", stdin="abc\n")  # fmt: skip
    assert not Agency.objects.filter(slug="c").exists()


def test_list_agencies(db):
    from tests.factories import make_agency, make_member

    a = make_agency(name="Zeta PD", slug="zeta")
    make_member(a)
    make_member(a)
    out = run("list_agencies")
    assert "zeta" in out and "Zeta PD" in out
    line = next(row for row in out.splitlines() if row.startswith("zeta"))
    assert line.split()[1] == "2"
