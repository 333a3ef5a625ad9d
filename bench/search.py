"""Search speed at scale (R3): p95 of the auditor's search page over 1,000,000 entries.

    python bench/search.py [--entries 1000000] [--queries 200]

Loads the entries once (bench/record_data.py; reused on later runs), then asks the real
search page (the view, its selector, the template, and the "record searched" entry it
writes) a mix of searches: common and rare words, exact phrases, OR, exclusions, and
person, channel, outcome, kind and date filters, alone and with words. Beside it, the
physical reference: the same text condition as one bare SQL statement on the same table
(no Django, no row-level security, no page), and the ratio.

Prints `search_p95: N ms` (target under 300), `search_p50`, `search_reference_p95` and
`search_ratio_to_sql`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import record_data

QUERIES = [
    {"text": "flood"},
    {"text": "bridge"},
    {"text": "evacuation"},
    {"text": "closed"},
    {"text": "flood bridge"},
    {"text": "flood OR evacuation"},
    {"text": "closed -flood"},
    {"text": '"bridge closed"'},
    {"text": "flood", "person": "officer07"},
    {"text": "bridge", "channel": "Metro North (X)"},
    {"text": "closed", "outcome": "denied"},
    {"text": "flood", "since": "2025-06-01", "until": "2025-06-30"},
    {"person": "officer11"},
    {"channel": "Metro East (X)"},
    {"outcome": "failure"},
    {"kind": "posting.post.approved"},
    {"since": "2026-01-01", "until": "2026-01-07"},
    {},
]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def reference_sql(db, agency_id, text):
    started = time.perf_counter()
    db.execute(
        "SELECT id FROM audit_auditevent WHERE agency_id = %s "
        "AND search @@ plainto_tsquery('english', %s) ORDER BY seq DESC LIMIT 51",
        [agency_id, text],
    ).fetchall()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    record_data.setup()
    agency, entries = record_data.ensure_entries(args.entries)

    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(username="bench-auditor"))
    url = reverse("audit:event_list")
    rng = random.Random(11)
    for query in QUERIES:  # warm the caches once, as a running server has them
        client.get(url, query)
    page_ms, sql_ms = [], []
    with record_data.superuser_connection() as db:
        for _ in range(args.queries):
            query = rng.choice(QUERIES)
            started = time.perf_counter()
            response = client.get(url, query)
            page_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            words = query.get("text", "flood").replace('"', "").replace("-", " ")
            sql_ms.append(reference_sql(db, agency.pk, words.replace(" OR ", " ")))
    p95, ref95 = percentile(page_ms, 0.95), percentile(sql_ms, 0.95)
    print(f"entries: {entries}")
    print(f"queries: {len(page_ms)}")
    print(f"search_p50: {statistics.median(page_ms):.0f} ms")
    print(f"search_p95: {p95:.0f} ms")
    print(f"search_reference_p95: {ref95:.1f} ms")
    print(f"search_ratio_to_sql: {p95 / ref95:.1f}")


if __name__ == "__main__":
    main()
