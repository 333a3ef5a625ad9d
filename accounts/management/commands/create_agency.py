import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from accounts.services import AccountsError, add_member, create_agency


class Command(BaseCommand):
    help = (
        "Create an agency with its first administrator. By default the administrator gets "
        "an invitation link; with --password-stdin they get a password at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The agency's name, as people say it.")
        parser.add_argument("--slug", required=True, help="Short name for commands and URLs.")
        parser.add_argument("--admin-username", required=True)
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the administrator's password from standard input (one line).",
        )

    def handle(self, *args, **options):
        password = sys.stdin.readline().rstrip("\n") if options["password_stdin"] else None
        if password is not None:
            try:
                validate_password(password)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
        try:
            agency, invitation, token = create_agency(
                name=options["name"],
                slug=options["slug"],
                admin_username=options["admin_username"],
                admin_email=options["admin_email"],
                time_zone=options["time_zone"],
            )
        except AccountsError as error:
            raise CommandError(error.message) from error
        if password is not None:
            add_member(
                agency=agency,
                username=options["admin_username"],
                password=password,
                role=Role.ADMINISTRATOR,
                email=options["admin_email"],
            )
            self.stdout.write(
                f"Created agency {agency.slug} ({agency.name}); administrator "
                f"{options['admin_username']} can sign in now."
            )
        else:
            from accounts.services import invitation_url

            self.stdout.write(
                f"Created agency {agency.slug} ({agency.name}). Invitation for "
                f"{invitation.email} (valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n"
                f"{invitation_url(token)}"
            )
