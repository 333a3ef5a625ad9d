from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import authority
from accounts.models import Agency, Membership, Role, Unit
from accounts.services import add_member
from moderation.policies import PolicyChange, save_policy
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
            with agency_scope(metro):
                self._metro_authority(metro)
                self._metro_comment_policy(metro)
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

    def _metro_authority(self, metro):
        """A3–A5 as an administrator sets them on the Units and People pages: the PIO and
        the sergeant approve Patrol's posts, the officer always needs approval, the PIO
        holds publishing training, and an approval moves up after a working day."""
        people = {m.user.username: m for m in Membership.objects.filter(agency=metro)
                  .select_related("user", "agency")}  # fmt: skip
        units = {u.name: u for u in Unit.objects.filter(agency=metro)}
        admin = people["admin"]
        authority.set_unit_supervisors(
            administrator=admin,
            unit=units["Patrol Division"],
            memberships=[people["pio"], people["sergeant"]],
        )
        authority.set_unit_supervisors(administrator=admin,
                                       unit=units["Public Information Office"],
                                       memberships=[people["pio"]])  # fmt: skip
        authority.set_member_needs_approval(administrator=admin, membership=people["officer"],
                                            needs_approval=True)  # fmt: skip
        today = authority.agency_today(metro)
        authority.record_training(administrator=admin, membership=people["pio"],
                                  course="Social media for public information officers",
                                  completed_on=today - timedelta(days=90),
                                  expires_on=today + timedelta(days=275))  # fmt: skip
        authority.set_escalation_time(administrator=admin, minutes=8 * 60)

    def _metro_comment_policy(self, metro):
        """M2–M4: the desk is staffed on weekdays by day, so at night and at weekends every
        new comment is held for the morning; spam is held for review at any hour, so the
        review queue has work whenever the demo runs."""
        admin = Membership.objects.get(agency=metro, user__username="admin")
        weekdays = {str(day): ["08:00", "18:00"] for day in range(5)}
        save_policy(editor=admin, change=PolicyChange(
            actions={"personal_data": "hide", "profanity": "hide", "spam": "hold",
                     "custom": "hold"},
            reply_templates={}, block_terms=[], allow_terms=[],
            hold_outside_staffed_hours=True, staffed_hours=weekdays,
            surge_per_minute=30, surge_per_channel={},
        ))  # fmt: skip
