from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from audit.actors import system_actor
from audit.retention import purge_records
from smc.errors import SmcError
from smc.tenancy import agency_scope


class Command(BaseCommand):
    help = (
        "Purge named records of one agency now (R5). All or nothing: a record under legal "
        "hold refuses the whole purge (and the refusal is recorded), as does one still "
        "within its retention period. The daily purge needs no command."
    )

    def add_arguments(self, parser):
        parser.add_argument("--agency", required=True, help="The agency's short name.")
        parser.add_argument("--kind", required=True, help="e.g. audit.event")
        parser.add_argument("ids", nargs="+", type=int, help="Record ids.")

    def handle(self, *args, **options):
        # The record keeps agency ids, not keys; the operator names the agency by slug.
        agency = (
            apps.get_model("accounts", "Agency")
            .objects.filter(slug=options["agency"])
            .values_list("pk", "name")
            .first()
        )
        if agency is None:
            raise CommandError(f"No agency with the short name {options['agency']!r}.")
        actor = system_actor(agency_id=agency[0], agency_label=agency[1], label="operator")
        with agency_scope(agency[0]):
            try:
                purged = purge_records(
                    actor=actor, kind_name=options["kind"], record_ids=options["ids"]
                )
            except SmcError as error:
                raise CommandError(error.message) from None
        self.stdout.write(f"Purged {purged} records.")
