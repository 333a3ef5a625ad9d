from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from audit.services import chain_agency_ids, verify_chains


class Command(BaseCommand):
    help = (
        "Walk the record's hash chains. Prints OK with the count, or names the first broken "
        "link (agency, seq, what is wrong) and exits non-zero."
    )

    def add_arguments(self, parser):
        parser.add_argument("--agency", help="Only this agency (its short name).")

    def handle(self, *args, **options):
        if options["agency"]:
            # The record keeps agency ids, not keys; the operator names the agency by slug.
            agency = apps.get_model("accounts", "Agency").objects.filter(slug=options["agency"])
            agency_id = agency.values_list("pk", flat=True).first()
            if agency_id is None:
                raise CommandError(f"No agency with the short name {options['agency']!r}.")
            ids = [agency_id]
        else:
            ids = chain_agency_ids()
        reports = verify_chains(ids)
        for report in reports:
            self.stdout.write(report.describe())
        broken = [r for r in reports if not r.ok]
        total = sum(r.count for r in reports)
        if broken:
            raise CommandError(f"{len(broken)} of {len(reports)} chains are broken.")
        self.stdout.write(f"OK: {total} events in {len(reports)} chains verified")
