"""A large record for the search and export benches: N entries in one agency's chain.

Shared by bench/search.py and bench/export.py. Runs on the embedded PostgreSQL in
SMC_DATA_DIR (default .smc/bench, kept between runs: a second bench reuses the entries).
The entries are a correct chain (each hash computed by audit.services.event_hash, each
prev_hash the hash before it), computed in Python in batches and loaded with COPY, not
one record_event at a time, which would take an hour. COPY needs the database superuser
(row-level security refuses COPY FROM otherwise); only the loading uses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SMC_DATA_DIR", str(ROOT / ".smc" / "bench"))
os.environ.setdefault("SMC_HTTPS", "false")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smc.settings")

AGENCY_SLUG = "bench-record"
BATCH = 20_000
# Words people search for, at known rates (per entry), among filler words.
PLANTED = {"flood": 0.02, "bridge": 0.005, "evacuation": 0.001, "closed": 0.05}
PEOPLE = [f"officer{n:02d}" for n in range(40)]
CHANNELS = [f"Metro {p} (X)" for p in ("North", "South", "East", "West", "Central")] * 4


def setup() -> None:
    """Migrate (as the owner), then load Django as the app role, like the web does."""
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], check=True)
    import django

    django.setup()


def superuser_connection():
    import psycopg
    from django.conf import settings

    host = settings.DATABASES["default"]["HOST"]
    name = settings.DATABASES["default"]["NAME"]
    return psycopg.connect(host=host, user="postgres", dbname=name, autocommit=True)


def _vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    consonants, vowels = "bcdfgklmnprstvz", "aeiou"
    words = set()
    while len(words) < size:
        length = rng.randint(2, 4)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(length)))
    return sorted(words)


def _sentence(rng, vocabulary, words: int) -> str:
    chosen = [vocabulary[min(int(rng.paretovariate(1.1)) - 1, len(vocabulary) - 1)]
              if rng.random() < 0.5 else rng.choice(vocabulary) for _ in range(words)]  # fmt: skip
    for word, rate in PLANTED.items():
        if rng.random() < rate:
            chosen.insert(rng.randrange(len(chosen) + 1), word)
    return " ".join(chosen)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest() if text else ""


def bench_agency():
    from accounts.models import Agency, Role
    from accounts.services import add_member

    agency = Agency.objects.filter(slug=AGENCY_SLUG).first()
    if agency is None:
        agency = Agency.objects.create(name="Bench Police", slug=AGENCY_SLUG)
        add_member(agency=agency, username="bench-auditor", password="Bench-Password-123",
                   role=Role.AUDITOR, full_name="Bench Auditor")  # fmt: skip
    return agency


def ensure_entries(count: int) -> tuple[object, int]:
    """The bench agency with at least `count` entries; returns (agency, entries)."""
    from audit.actions import Action, Outcome
    from audit.services import GENESIS, canonical_json, event_hash
    from smc.tenancy import agency_scope

    agency = bench_agency()
    with superuser_connection() as db:
        have = db.execute(
            "SELECT count(*) FROM audit_auditevent WHERE agency_id = %s", [agency.pk]
        ).fetchone()[0]
        if have >= count:
            return agency, have
        seq, prev = db.execute(
            "SELECT seq, hash FROM audit_chainhead WHERE agency_id = %s", [agency.pk]
        ).fetchone() or (0, GENESIS)
        rng = random.Random(7)
        vocabulary = _vocabulary(rng)
        actions = [a.value for a in Action]
        outcomes = [Outcome.SUCCESS] * 18 + [Outcome.DENIED, Outcome.FAILURE]
        start = datetime(2025, 1, 1, tzinfo=UTC)
        step = timedelta(days=700) / count
        to_make = count - have
        print(f"loading {to_make} entries (hashes in Python, COPY in batches)...", flush=True)
        started = time.monotonic()
        # Index upkeep row by row is what makes a bulk load slow; build them once after.
        db.execute("SET maintenance_work_mem = '256MB'")
        dropped = db.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_auditevent' "
            "AND indexname IN ('audit_search', 'audit_agency_time', 'audit_agency_action')"
        ).fetchall()
        for name, _definition in dropped:
            db.execute(f'DROP INDEX "{name}"')
        columns = ("agency_id", "agency_label", "seq", "occurred_at", "actor_id", "actor_label",
                   "actor_role", "on_behalf_of_id", "on_behalf_of_label", "action",
                   "object_type", "object_id", "object_label", "outcome", "reason",
                   "request_id", "ip", "user_agent", "content", "content_sha256", "details",
                   "prev_hash", "hash")  # fmt: skip
        made = 0
        while made < to_make:
            rows = []
            for _ in range(min(BATCH, to_make - made)):
                seq += 1
                person = rng.choice(PEOPLE)
                channel = rng.choice(CHANNELS) if rng.random() < 0.4 else ""
                text = _sentence(rng, vocabulary, rng.randint(8, 30)) if rng.random() < 0.3 else ""
                content = canonical_json({"text": text, "channel": channel}) if text else ""
                fields = {
                    "agency_id": agency.pk, "agency_label": agency.name, "seq": seq,
                    "occurred_at": start + step * seq, "actor_id": 1000 + PEOPLE.index(person),
                    "actor_label": person, "actor_role": "user",
                    "on_behalf_of_id": (100 + CHANNELS.index(channel)) if channel else None,
                    "on_behalf_of_label": channel, "action": rng.choice(actions),
                    "object_type": "posting.post", "object_id": str(seq),
                    "object_label": _sentence(rng, vocabulary, 4),
                    "outcome": rng.choice(outcomes),
                    "reason": _sentence(rng, vocabulary, rng.randint(3, 12)),
                    "request_id": f"{seq:032x}", "ip": "10.0.0.1",
                    "user_agent": "Mozilla/5.0 (bench)",
                    "content_sha256": sha256_text(content),
                    "details": {"n": seq}, "prev_hash": prev,
                }  # fmt: skip
                fields["hash"] = prev = event_hash(fields)
                fields["content"] = content
                fields["details"] = json.dumps(fields["details"])
                rows.append(tuple(fields[c] for c in columns))
            copy = f"COPY audit_auditevent ({', '.join(columns)}) FROM STDIN"
            with db.cursor().copy(copy) as loading:
                for row in rows:
                    loading.write_row(row)
            made += len(rows)
            print(f"  {made}/{to_make} ({time.monotonic() - started:.0f} s)", flush=True)
        for name, definition in dropped:
            print(f"  building {name}...", flush=True)
            db.execute(definition)
        db.execute(
            "INSERT INTO audit_chainhead (agency_id, seq, hash) VALUES (%s, %s, %s) "
            "ON CONFLICT (agency_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash",
            [agency.pk, seq, prev],
        )
        db.execute("VACUUM ANALYZE audit_auditevent")
        print(f"loaded in {time.monotonic() - started:.0f} s", flush=True)
    with agency_scope(agency):
        return agency, count
