from django.core.management.base import BaseCommand
from django.db.models import Count, Q

from accounts.models import Agency
from smc.tenancy import every_agency


class Command(BaseCommand):
    help = "List the agencies on this installation, with their active members."

    def handle(self, *args, **options):
        # The operator's view spans every agency by definition.
        with every_agency():
            agencies = list(
                Agency.objects.annotate(
                    members=Count("membership", filter=Q(membership__is_active=True))
                ).order_by("slug")
            )
        if not agencies:
            self.stdout.write("No agencies yet. Create one with: manage.py create_agency --help")
            return
        self.stdout.write(f"{'SLUG':24} {'MEMBERS':>7}  {'CREATED':10}  NAME")
        for agency in agencies:
            self.stdout.write(
                f"{agency.slug:24} {agency.members:>7}  {agency.created_at:%Y-%m-%d}  {agency.name}"
            )
        self.stdout.write(f"{len(agencies)} agencies")
