"""Export speed and memory at scale (R4): 1,000,000 entries to CSV, JSON Lines and the
records-request package.

    python bench/export.py [--entries 1000000] [--formats csv,jsonl,package]

Uses the entries bench/record_data.py loads (shared with bench/search.py). Each format is
made by the real service (audit.exports.services.make_export, as the export worker runs
it) in this process, while a thread samples this process's resident memory every 0.2 s.
Beside it, the physical reference: PostgreSQL's own COPY of the same rows and columns to
the client, read and thrown away, and the ratio.

Prints `export_rate_csv`, `export_rate_jsonl`, `export_rate_package` (rows/s, target
≥ 20,000), `export_peak_rss: N MB` (target under 200, and flat: the RSS after the first
tenth and at the end are printed too), `export_reference_rate` and the ratios.
"""

from __future__ import annotations

import argparse
import threading
import time

import record_data


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.running = True

    def run(self):
        while self.running:
            self.samples.append(rss_mb())
            time.sleep(0.2)

    def stop(self):
        self.running = False
        self.join()


def reference_rate(agency_id: int) -> tuple[int, float]:
    from audit.exports.writing import EVENT_COLUMNS

    columns = ", ".join(EVENT_COLUMNS)
    rows = 0
    started = time.perf_counter()
    with record_data.superuser_connection() as db, db.cursor() as cursor:
        sql = f"COPY (SELECT {columns} FROM audit_auditevent WHERE agency_id = {agency_id} ORDER BY seq) TO STDOUT"  # noqa: E501, S608
        with cursor.copy(sql) as copy:
            for block in copy:
                rows += bytes(block).count(b"\n")
    return rows, rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,jsonl,package")
    args = parser.parse_args()
    record_data.setup()
    agency, entries = record_data.ensure_entries(args.entries)

    from django.conf import settings

    from accounts.models import User
    from accounts.selectors import memberships_of
    from audit.exports import services as exports
    from audit.models import Export
    from smc.tenancy import agency_scope

    settings.SMC_EXPORT_MAX_RECORDS = max(settings.SMC_EXPORT_MAX_RECORDS, entries * 2)
    member = memberships_of(User.objects.get(username="bench-auditor"))[0]
    print(f"entries: {entries}")
    reference_rows, reference = reference_rate(agency.pk)
    print(f"export_reference_rows: {reference_rows}")
    print(f"export_reference_rate: {reference:.0f} rows/s")
    peaks, tenths = [], []
    baseline = rss_mb()
    print(f"export_rss_before: {baseline:.0f} MB")
    for format in args.formats.split(","):
        with agency_scope(agency):
            export = Export.objects.create(
                agency_id=agency.pk, requested_by_id=member.pk,
                requested_by_label="bench-auditor", format=format, total=entries,
            )  # fmt: skip
            sampler = RssSampler()
            sampler.start()
            started = time.perf_counter()
            done = exports.make_export(export_id=export.pk)
            elapsed = time.perf_counter() - started
            sampler.stop()
        assert done.status == Export.Status.READY, done.error
        rate = done.written / elapsed
        samples = sampler.samples or [rss_mb()]
        peaks.append(max(samples))
        tenths.append(samples[max(0, len(samples) // 10)])
        print(f"export_rows_{format}: {done.written}")
        print(f"export_seconds_{format}: {elapsed:.1f} s")
        print(f"export_bytes_{format}: {done.size}")
        print(f"export_rate_{format}: {rate:.0f} rows/s")
        print(f"export_ratio_to_copy_{format}: {rate / reference:.2f}")
        print(f"export_rss_after_first_tenth_{format}: {tenths[-1]:.0f} MB")
        print(f"export_rss_end_{format}: {samples[-1]:.0f} MB")
        exports.export_path(done).unlink()
    print(f"export_peak_rss: {max(peaks):.0f} MB")


if __name__ == "__main__":
    main()
