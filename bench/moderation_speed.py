"""Speed of the comment policy engine alone (M2): comments per second on one core.

    python bench/moderation_speed.py [--data ../shared/data/moderation/dev.jsonl] [--repeat 20]

Runs ``decide`` with the default policy over the development set repeated, in this one
thread, and prints ``engine_rate: N comments/s``. The target is at least 5,000.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.engine import DEFAULT_POLICY, decide  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent / ".." / "shared/data/moderation/dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in args.data.open(encoding="utf-8") if line.strip()]
    for text in texts:  # warm-up: compile-once caches, not part of the steady rate
        decide(text, DEFAULT_POLICY)
    # Each repeat is a fresh copy of the strings so per-text caches cannot flatter the rate.
    batch = [text + " " for text in texts] * args.repeat
    started = time.perf_counter()
    for text in batch:
        decide(text, DEFAULT_POLICY)
    elapsed = time.perf_counter() - started
    print(f"comments: {len(batch)}")
    print(f"seconds: {elapsed:.3f}")
    print(f"engine_rate: {len(batch) / elapsed:.0f} comments/s")


if __name__ == "__main__":
    main()
