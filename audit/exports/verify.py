#!/usr/bin/env python3
"""Check an SMC records-request package, offline, with nothing but Python 3.9+.

    python verify.py [package folder or .zip]     (default: the folder this file is in)

It checks that:
  1. every file is the one the package was made with (SHA-256 against manifest.json);
  2. every exported log entry still matches its hash (the hash is recomputed here from
     the entry's fields, exactly as SMC computed it when the entry was recorded), and its
     content still matches the content's SHA-256;
  3. the entries link up, each to the one before it, to the chain head at the time of
     export (chain/head.json), and through it to the latest checkpoint if one is included.

It names each file and each entry (by its sequence number, "seq") that was altered, and
exits 0 when the package is intact, 1 when anything was altered, 2 when it cannot be read.
Compare the SHA-256 of manifest.json it prints with the one in the agency's own record
(the "Export made" entry) to know the manifest itself is the one SMC issued.
"""

import hashlib
import heapq
import io
import json
import sys
import zipfile
from pathlib import Path

# Must equal audit.services.CHAINED_FIELDS in SMC (its tests check they are the same).
CHAINED_FIELDS = (
    "agency_id",
    "agency_label",
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "actor_role",
    "on_behalf_of_id",
    "on_behalf_of_label",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "outcome",
    "reason",
    "request_id",
    "ip",
    "user_agent",
    "content_sha256",
    "details",
    "prev_hash",
)
GENESIS = "0" * 64
MANIFEST = "manifest.json"
EVENTS = "records/events.jsonl"
LINKS = "chain/links.jsonl"
HEAD = "chain/head.json"
CHECKPOINT = "chain/checkpoint.json"
MAX_PROBLEMS_SHOWN = 50


def canonical_bytes(entry):
    """The bytes SMC hashed: the chained fields as sorted, compact JSON in UTF-8."""
    fields = {name: entry.get(name) for name in CHAINED_FIELDS}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


class Package:
    """A package as a folder or as the ZIP itself."""

    def __init__(self, where):
        self.where = Path(where)
        self.zip = zipfile.ZipFile(self.where) if self.where.is_file() else None

    def names(self):
        if self.zip is not None:
            return sorted(n for n in self.zip.namelist() if not n.endswith("/"))
        return sorted(
            p.relative_to(self.where).as_posix() for p in self.where.rglob("*") if p.is_file()
        )

    def exists(self, name):
        return name in set(self.names())

    def open(self, name):
        if self.zip is not None:
            return self.zip.open(name)
        return open(self.where / name, "rb")


class Report:
    def __init__(self):
        self.problems = []

    def altered(self, text):
        self.problems.append(text)
        if len(self.problems) <= MAX_PROBLEMS_SHOWN:
            print("ALTERED: " + text)


def sha256_of(package, name):
    digest = hashlib.sha256()
    with package.open(name) as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_files(package, manifest, report):
    listed = {}
    for item in manifest.get("files", []):
        listed[item["path"]] = item
    present = set(package.names())
    for name in sorted(listed):
        if name not in present:
            report.altered(f"file {name} is missing (the manifest lists it)")
            continue
        actual = sha256_of(package, name)
        if actual != listed[name]["sha256"]:
            report.altered(
                f"file {name} was changed: its SHA-256 is {actual}, "
                f"the manifest says {listed[name]['sha256']}"
            )
    for name in sorted(present - set(listed) - {MANIFEST}):
        report.altered(f"file {name} was added: the manifest does not list it")


def read_lines(package, name, report):
    """(seq, entry) for each JSON line of a file, in file order."""
    if not package.exists(name):
        return
    with package.open(name) as raw:
        for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                seq = int(entry["seq"])
            except (ValueError, KeyError, TypeError):
                report.altered(f"{name} line {number} is not a readable entry")
                continue
            yield seq, entry


def checked_events(package, report):
    """Exported entries, each checked against its own hash; yields (seq, prev, hash)."""
    for seq, entry in read_lines(package, EVENTS, report):
        recomputed = hashlib.sha256(canonical_bytes(entry)).hexdigest()
        if recomputed != entry.get("hash"):
            report.altered(
                f"event seq {seq}: its fields no longer match its hash "
                f"(recomputed {recomputed}, recorded {entry.get('hash')})"
            )
        content = entry.get("content") or ""
        if content and hashlib.sha256(content.encode("utf-8")).hexdigest() != entry.get(
            "content_sha256"
        ):
            report.altered(f"event seq {seq}: its content no longer matches content_sha256")
        yield seq, entry.get("prev_hash"), entry.get("hash"), "event"


def links(package, report):
    for seq, entry in read_lines(package, LINKS, report):
        yield seq, entry.get("prev_hash"), entry.get("hash"), "link"


def check_chain(package, head, checkpoint, report):
    """Walk exported entries and the links between them, in seq order, to the head."""
    merged = heapq.merge(checked_events(package, report), links(package, report))
    previous_seq, previous_hash, first_seq, count, events = None, None, None, 0, 0
    checkpoint_seen = False
    for seq, prev_hash, this_hash, kind in merged:
        count += 1
        events += kind == "event"
        if previous_seq is None:
            first_seq = seq
            if seq == 1 and prev_hash != GENESIS:
                report.altered("event seq 1 does not start the chain (its prev_hash is not zero)")
        elif seq == previous_seq:
            report.altered(f"seq {seq} appears twice")
            continue
        elif seq != previous_seq + 1:
            report.altered(f"seq {previous_seq + 1} to {seq - 1} are missing from the chain")
        elif prev_hash != previous_hash:
            report.altered(
                f"seq {seq} does not link to seq {previous_seq}: seq {previous_seq} was "
                f"altered (its hash is not the one seq {seq} recorded) or seq {seq} was"
            )
        if checkpoint and seq == checkpoint.get("seq"):
            checkpoint_seen = True
            if this_hash != checkpoint.get("hash"):
                report.altered(
                    f"seq {seq} does not match the checkpoint (chain/checkpoint.json): "
                    "the chain was rewritten after the checkpoint was signed"
                )
        previous_seq, previous_hash = seq, this_hash
    if previous_seq is None:
        if head.get("seq"):
            report.altered(f"no entries at all, but the chain head is seq {head['seq']}")
        return 0, 0, None
    if previous_seq != head.get("seq") or previous_hash != head.get("hash"):
        report.altered(
            f"the chain ends at seq {previous_seq} ({previous_hash}), "
            f"but the head at export was seq {head.get('seq')} ({head.get('hash')})"
        )
    if checkpoint and not checkpoint_seen:
        print(
            f"note: the checkpoint (seq {checkpoint.get('seq')}) is outside the exported "
            f"range {first_seq}..{previous_seq}; compare it with the agency's checkpoints."
        )
    return events, count, first_seq


def load_json(package, name, report, required=True):
    if not package.exists(name):
        if required:
            report.altered(f"file {name} is missing")
        return None
    try:
        with package.open(name) as stream:
            return json.load(stream)
    except ValueError:
        report.altered(f"file {name} is not readable JSON")
        return None


def main(argv):
    where = argv[1] if len(argv) > 1 else Path(__file__).resolve().parent
    try:
        package = Package(where)
    except (OSError, zipfile.BadZipFile) as error:
        print(f"cannot read the package at {where}: {error}")
        return 2
    if not package.exists(MANIFEST):
        print(f"cannot read the package at {where}: it has no {MANIFEST}")
        return 2
    report = Report()
    manifest = load_json(package, MANIFEST, report)
    if manifest is None:
        return 2
    print(f"manifest.json SHA-256: {sha256_of(package, MANIFEST)}")
    check_files(package, manifest, report)
    head = load_json(package, HEAD, report) or {}
    checkpoint = load_json(package, CHECKPOINT, report, required=False)
    events, count, first_seq = check_chain(package, head, checkpoint, report)
    if report.problems:
        hidden = len(report.problems) - MAX_PROBLEMS_SHOWN
        if hidden > 0:
            print(f"... and {hidden} more")
        print(f"FAILED: the package was altered ({len(report.problems)} problems above).")
        return 1
    print(
        f"OK: {len(manifest.get('files', []))} files match the manifest; {events} exported "
        f"entries match their hashes; the chain links from seq {first_seq} to the head, "
        f"seq {head.get('seq')} ({head.get('hash')})."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
