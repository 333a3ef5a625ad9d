import signal
import threading

from django.core.management.base import BaseCommand

from platforms.simulators import PLATFORMS, get_simulator_class
from platforms.simulators.chatter import Chatter
from platforms.simulators.core import serve


class Command(BaseCommand):
    help = (
        "Run the five platform simulators on 127.0.0.1 (Facebook, X, YouTube, Mastodon, "
        "Bluesky on consecutive ports from --base-port) and print their base URLs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-port", type=int, default=8101)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--chatter",
            type=float,
            default=0,
            help="Every this many seconds a simulated member of the public comments on an "
            "agency post (0: never; the demo uses it).",
        )

    def handle(self, *args, **options):
        servers, simulators = [], []
        for offset, platform in enumerate(PLATFORMS):
            simulator = get_simulator_class(platform)()
            server, url = serve(simulator, options["host"], options["base_port"] + offset)
            servers.append(server)
            simulators.append(simulator)
            self.stdout.write(f"{platform:9} {url}")
        self.stdout.flush()
        if options["chatter"] > 0:
            Chatter(simulators, every_s=options["chatter"]).start()
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *a: stop.set())
        signal.signal(signal.SIGTERM, lambda *a: stop.set())
        stop.wait()
        for server in servers:
            server.shutdown()
        self.stdout.write("Simulators stopped.")
