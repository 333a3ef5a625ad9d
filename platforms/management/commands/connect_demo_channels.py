import requests
from django.core.management.base import BaseCommand, CommandError

from platforms.demo import connect_demo_channels
from platforms.simulators import PLATFORMS


class Command(BaseCommand):
    help = (
        "Demo: connect the demo agencies' channels to the running simulators through the "
        "real connect flows, each with a first post. Rerun after every simulator start."
    )

    def add_arguments(self, parser):
        parser.add_argument("--simulator-port", type=int, default=8101)

    def handle(self, *args, **options):
        urls = {platform: f"http://127.0.0.1:{options['simulator_port'] + offset}"
                for offset, platform in enumerate(PLATFORMS)}  # fmt: skip
        for platform, url in urls.items():
            try:
                requests.get(f"{url}/_sim/health", timeout=5).raise_for_status()
            except requests.RequestException as error:
                message = f"The {platform} simulator at {url} does not answer: {error}"
                raise CommandError(message) from None
        channels = connect_demo_channels(urls)
        self.stdout.write(f"Connected {len(channels)} demo channels to the simulators.")
