from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Agency, Role, Unit
from accounts.services import add_member
from smc.tenancy import agency_scope

DEMO_PASSWORD = "demo"  # noqa: S105 - the demo's published password, never used in production

METRO_UNITS = [
    ("Office of the Chief", None),
    ("Public Information Office", "Office of the Chief"),
    ("Patrol Division", "Office of the Chief"),
    ("Traffic Unit", "Patrol Division"),
]
METRO_PEOPLE = [
    ("admin", "Alex Admin", Role.ADMINISTRATOR, "Office of the Chief"),
    ("pio", "Pat Pio", Role.SUPERVISOR, "Public Information Office"),
    ("sergeant", "Sam Sergeant", Role.SUPERVISOR, "Patrol Division"),
    ("officer", "Olive Officer", Role.USER, "Patrol Division"),
    ("traffic", "Toni Traffic", Role.USER, "Traffic Unit"),
    ("auditor", "Aude Auditor", Role.AUDITOR, None),
]
FIRE_UNITS = [("Fire Administration", None), ("Station 1", "Fire Administration")]
FIRE_PEOPLE = [
    ("fire-admin", "Frances Fire", Role.ADMINISTRATOR, "Fire Administration"),
    ("fire-pio", "Fin Pio", Role.SUPERVISOR, "Fire Administration"),
    ("medic", "Mo Medic", Role.USER, "Station 1"),
]


class Command(BaseCommand):
    help = "Load the demo agencies and people (password 'demo'). Safe to rerun: skips if present."

    def handle(self, *args, **options):
        if Agency.objects.filter(slug="metro").exists():
            self.stdout.write("Demo data is present already.")
            return
        with transaction.atomic():
            metro = self._agency("Metro City Police", "metro", "America/New_York", METRO_UNITS,
                                 METRO_PEOPLE)  # fmt: skip
            fire = self._agency("Riverside County Fire", "riverside-fire", "America/Chicago",
                                FIRE_UNITS, FIRE_PEOPLE)  # fmt: skip
            # One person in both agencies, so switching agency can be tried.
            add_member(agency=fire, username="pio", password=DEMO_PASSWORD, role=Role.USER,
                       actor_label="demo")  # fmt: skip
        self.stdout.write(f"Loaded demo agencies {metro.slug} and {fire.slug}.")

    def _agency(self, name, slug, time_zone, units, people):
        website = f"https://{slug}.example"
        agency = Agency.objects.create(name=name, slug=slug, time_zone=time_zone, website=website)
        with agency_scope(agency):
            made = {}
            for unit_name, parent in units:
                made[unit_name] = Unit.objects.create(
                    agency=agency, name=unit_name, parent=made.get(parent)
                )
            for username, full_name, role, unit in people:
                add_member(
                    agency=agency,
                    username=username,
                    password=DEMO_PASSWORD,
                    role=role,
                    email=f"{username}@{slug}.example",
                    full_name=full_name,
                    unit=made.get(unit),
                    actor_label="demo",
                )
        return agency
