"""Simulated members of the public, for the demo: from time to time one of them comments
on an agency post (or video) on some platform, so moderation always has work.

The mix is what an agency's accounts really draw: mostly kind or critical, some
profane, a few spammy, now and then a threat. All of it is invented.
"""

from __future__ import annotations

import random
import threading

PEOPLE = [
    {"name": "Pat Quinn", "handle": "patq"},
    {"name": "Lee Rivera", "handle": "leer"},
    {"name": "Sam Tran", "handle": "samt"},
    {"name": "Jo Okafor", "handle": "jokafor"},
    {"name": "Deals4U", "handle": "deals4u"},
]
COMMENTS = {
    "kind": [
        "Thank you for the quick update!",
        "Great work by the officers at the fair today.",
        "Is the detour open to trucks?",
        "When will Main St reopen?",
    ],
    "critical": [
        "This department is incompetent and the chief should resign.",
        "Why did it take forty minutes to answer a call on my street?",
        "You post PR fluff while response times get worse. Do better.",
    ],
    "profane": [
        "What a load of sh1t, fix the damn potholes",
        "F*** this, nobody answers the phone",
        "you people are full of crap",
    ],
    "threatening": [
        "I'm going to burn down the station on Elm St tonight",
        "Someone should shoot the officer who wrote my ticket",
    ],
    "spammy": [
        "Earn $500 a day from home!!! visit cheap-deals.example now",
        "FREE iPhone giveaway click bit.ly/xyz123 !!!",
    ],
}
WEIGHTS = {"kind": 40, "critical": 25, "profane": 15, "threatening": 5, "spammy": 15}


class Chatter(threading.Thread):
    def __init__(self, simulators, *, every_s: float, seed: int | None = None):
        super().__init__(name="sim-chatter", daemon=True)
        self.simulators, self.every_s = simulators, every_s
        self.rng = random.Random(seed)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(self.every_s):
            self.comment_once()

    def comment_once(self) -> dict | None:
        simulator = self.rng.choice(self.simulators)
        with simulator.lock:
            targets = [
                item for item in simulator.items.values()
                if item.account_id and item.kind in ("post", "video") and not item.deleted
            ]  # fmt: skip
            if not targets:
                return None
            kind = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
            payload = {
                "target": self.rng.choice(targets).item_id,
                "author": self.rng.choice(PEOPLE),
                "text": self.rng.choice(COMMENTS[kind]),
            }
            return simulator.inject(payload)
