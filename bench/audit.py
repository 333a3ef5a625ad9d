"""Speed of the record (R1, R2): appends by concurrent writers, and verification.

    .venv/bin/python bench/audit.py [--events 3000] [--chain 200000]

Uses the embedded database in SMC_DATA_DIR (default .smc/bench, migrated first) and
prints one `name: value unit` line per figure, each beside its physical reference
measured in the same run:

- append_rate: 8 writer processes, one agency each, appending through record_event
  (head lock, hash, insert, head update, commit per event); every chain verified after.
  append_rate_one_chain: the same 8 writers all on one agency's chain (they queue).
  append_insert_rate: the same rows as plain single-row INSERTs (one commit each, by 8
  processes) into a copy of the table without triggers, row security or chain;
  append_ratio_to_insert = append_rate / append_insert_rate.
- verify_rate: verify_chain over one chain of --chain events (a quarter with content),
  read from PostgreSQL; verify_hash_rate: SHA-256 of the same canonical bytes in-process;
  verify_ratio_to_hash = verify_rate / verify_hash_rate.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SMC_DATA_DIR", str(ROOT / ".smc" / "bench"))
os.environ.setdefault("SMC_HTTPS", "false")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smc.settings")
os.environ.setdefault("SMC_LOG_LEVEL", "WARNING")

WRITERS = 8


def _django():
    import django

    django.setup()


def _owner():
    import psycopg

    return psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True)


# --- Append ----------------------------------------------------------------------------------


def _writer(agency_id: int, label: str, count: int, ready, start, out) -> None:
    _django()
    from audit.actions import Action
    from audit.actors import system_actor
    from audit.services import record_event
    from smc.tenancy import agency_scope

    actor = system_actor(agency_id=agency_id, agency_label=label, label=f"writer {os.getpid()}")
    with agency_scope(agency_id):
        record_event(actor=actor, action=Action.CHAIN_VERIFIED, reason="warm-up")
        ready.release()
        start.wait()
        began = time.perf_counter()
        for i in range(count):
            record_event(
                actor=actor,
                action=Action.CHAIN_VERIFIED,
                reason=f"bench entry {i}",
                details={"n": i, "writer": os.getpid()},
            )
        out.put((began, time.perf_counter()))


def _inserter(rows: list[tuple], columns: str, ready, start, out) -> None:
    placeholders = ", ".join(["%s"] * len(rows[0]))
    with _owner() as connection:
        ready.release()
        start.wait()
        began = time.perf_counter()
        for row in rows:
            connection.execute(
                f"INSERT INTO bench_plain_event ({columns}) VALUES ({placeholders})",  # noqa: S608
                row,
            )
        out.put((began, time.perf_counter()))


def _run_parallel(target, argument_sets) -> float:
    """Start one process per argument set, release them together; total seconds."""
    context = multiprocessing.get_context("spawn")
    ready, start, out = context.Semaphore(0), context.Event(), context.Queue()
    processes = [
        context.Process(target=target, args=(*arguments, ready, start, out))
        for arguments in argument_sets
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    start.set()
    spans = [out.get() for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a bench process failed ({process.exitcode})")
    return max(end for _, end in spans) - min(began for began, _ in spans)


def bench_append(events_per_writer: int, run: str) -> None:
    from django.db import connections

    from accounts.models import Agency
    from audit.services import verify_chains

    agencies = [
        Agency.objects.create(name=f"Bench {run} {i}", slug=f"bench-{run}-{i}")
        for i in range(WRITERS + 1)
    ]
    connections.close_all()
    own, shared = agencies[:WRITERS], agencies[WRITERS]

    seconds = _run_parallel(_writer, [(a.pk, a.name, events_per_writer) for a in own])
    append_rate = WRITERS * events_per_writer / seconds
    seconds_one = _run_parallel(
        _writer, [(shared.pk, shared.name, events_per_writer) for _ in range(WRITERS)]
    )
    reports = verify_chains([a.pk for a in agencies])
    intact = sum(r.ok for r in reports)
    if intact != len(reports):
        raise SystemExit("; ".join(r.describe() for r in reports if not r.ok))

    # The reference: the very rows just appended, as plain single-row INSERTs.
    with _owner() as connection:
        connection.execute("DROP TABLE IF EXISTS bench_plain_event")
        connection.execute(
            "CREATE TABLE bench_plain_event (LIKE audit_auditevent INCLUDING DEFAULTS "
            "INCLUDING IDENTITY INCLUDING INDEXES)"
        )
        names = [
            r[0]
            for r in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = "
                "'audit_auditevent' AND column_name <> 'id' ORDER BY ordinal_position"
            )
        ]
        columns = ", ".join(names)
        connection.execute("SELECT set_config('smc.every_agency', 'on', false)")
        shares = []
        for agency in own:
            rows = connection.execute(
                f"SELECT {columns} FROM audit_auditevent WHERE agency_id = %s "  # noqa: S608
                "AND reason LIKE 'bench entry %%' ORDER BY seq",
                [agency.pk],
            ).fetchall()
            # details comes back as a dict; send it as JSON text.
            import json

            position = names.index("details")
            shares.append(
                [
                    tuple(json.dumps(v) if i == position else v for i, v in enumerate(row))
                    for row in rows
                ]
            )
    insert_seconds = _run_parallel(_inserter, [(rows, columns) for rows in shares])
    insert_rate = sum(len(rows) for rows in shares) / insert_seconds
    with _owner() as connection:
        connection.execute("DROP TABLE bench_plain_event")

    print(f"append_rate: {append_rate:,.0f} events/s")
    print(f"append_rate_one_chain: {WRITERS * events_per_writer / seconds_one:,.0f} events/s")
    print(f"append_chains_intact: {intact}/{len(reports)} chains")
    print(f"append_insert_rate: {insert_rate:,.0f} rows/s")
    print(f"append_ratio_to_insert: {append_rate / insert_rate:.2f}")


# --- Verify ----------------------------------------------------------------------------------


def bench_verify(size: int, run: str) -> None:
    import json

    from django.utils import timezone

    from accounts.models import Agency
    from audit.services import GENESIS, canonical_json, chained_bytes, verify_chain
    from smc.tenancy import agency_scope

    agency = Agency.objects.create(name=f"Bench chain {run}", slug=f"bench-chain-{run}")
    base = timezone.now() - timedelta(days=1)
    columns = (
        "agency_id, agency_label, seq, occurred_at, actor_id, actor_label, actor_role, "
        "on_behalf_of_id, on_behalf_of_label, action, object_type, object_id, object_label, "
        "outcome, reason, request_id, ip, user_agent, content, content_sha256, details, "
        "prev_hash, hash"
    )
    blobs = []
    prev = GENESIS
    with _owner() as connection, connection.transaction():
        connection.execute("SELECT set_config('smc.every_agency', 'on', true)")
        # PostgreSQL refuses COPY under row-level security; lifted for this one
        # transaction only (DDL is transactional), as the owner, on the bench database.
        connection.execute("ALTER TABLE audit_auditevent NO FORCE ROW LEVEL SECURITY")
        with connection.cursor().copy(f"COPY audit_auditevent ({columns}) FROM STDIN") as copy:
            for seq in range(1, size + 1):
                content = (
                    canonical_json({"text": f"Road closed at Main and {seq}th", "by": "pio"})
                    if seq % 4 == 0
                    else ""
                )
                fields = {
                    "agency_id": agency.pk,
                    "agency_label": agency.name,
                    "seq": seq,
                    "occurred_at": base + timedelta(microseconds=seq * 137),
                    "actor_id": 1000 + seq % 7,
                    "actor_label": f"officer{seq % 7}",
                    "actor_role": "user",
                    "on_behalf_of_id": 42 if seq % 3 == 0 else None,
                    "on_behalf_of_label": "Metro PD on X" if seq % 3 == 0 else "",
                    "action": "audit.event.viewed",
                    "object_type": "audit.auditevent",
                    "object_id": str(seq),
                    "object_label": f"#{seq} audit.event.viewed",
                    "outcome": "success",
                    "reason": "",
                    "request_id": f"{seq:032x}",
                    "ip": "203.0.113.7",
                    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) bench",
                    "content_sha256": hashlib.sha256(content.encode()).hexdigest()
                    if content
                    else "",
                    "details": {"seq": seq, "hash": "ab" * 32},
                    "prev_hash": prev,
                }
                blob = chained_bytes(fields)
                blobs.append(blob)
                prev = hashlib.sha256(blob).hexdigest()
                copy.write_row(
                    (
                        *(fields[k] for k in list(fields)[:18]),
                        content,
                        fields["content_sha256"],
                        json.dumps(fields["details"]),
                        fields["prev_hash"],
                        prev,
                    )
                )
        connection.execute("ALTER TABLE audit_auditevent FORCE ROW LEVEL SECURITY")
        connection.execute(
            "INSERT INTO audit_chainhead (agency_id, seq, hash) VALUES (%s, %s, %s)",
            [agency.pk, size, prev],
        )

    with agency_scope(agency):
        verify_chain(agency.pk)  # warm the cache: both sides then read from memory
        began = time.perf_counter()
        report = verify_chain(agency.pk)
        verify_seconds = time.perf_counter() - began
    if not report.ok or report.count != size:
        raise SystemExit(report.describe())

    sha256 = hashlib.sha256
    began = time.perf_counter()
    for blob in blobs:
        sha256(blob).hexdigest()
    hash_seconds = time.perf_counter() - began

    verify_rate, hash_rate = size / verify_seconds, size / hash_seconds
    print(f"verify_rate: {verify_rate:,.0f} events/s")
    print(f"verify_hash_rate: {hash_rate:,.0f} events/s")
    print(f"verify_ratio_to_hash: {verify_rate / hash_rate:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000, help="appends per writer")
    parser.add_argument("--chain", type=int, default=200_000, help="events in the verified chain")
    options = parser.parse_args()

    _django()  # starts (or joins) the embedded servers; the children inherit their URLs
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True, env=os.environ
    )
    run = time.strftime("%Y%m%d%H%M%S")
    bench_append(options.events, run)
    bench_verify(options.chain, run)


if __name__ == "__main__":
    main()
