from django.core.management.base import BaseCommand

from platforms.services import reencrypt_credentials


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored platform credential under the newest key in SMC_TOKEN_KEYS "
        "(the first). Run after putting a new key first; then the old key can be dropped. "
        "Safe to rerun."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args, **options):
        outcome = reencrypt_credentials(dry_run=options["dry_run"])
        verb = "would re-encrypt" if options["dry_run"] else "re-encrypted"
        self.stdout.write(
            f"{verb} {outcome.reencrypted} credentials; {outcome.current} already under the "
            f"newest key; {outcome.unreadable} unreadable (their channels need reconnect)."
        )
