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

import base64
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
# What a checkpoint's Ed25519 signature covers (audit/anchoring.py in SMC).
CHECKPOINT_SIGNED_FIELDS = ("agency_id", "agency_label", "seq", "hash", "checkpointed_at", "key_id")


def canonical_bytes(entry):
    """The bytes SMC hashed: the chained fields as sorted, compact JSON in UTF-8."""
    fields = {name: entry.get(name) for name in CHAINED_FIELDS}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


# --- Ed25519 signature check (RFC 8032, section 5.1.7), for the checkpoint -----------------
# The standard library has no Ed25519, and this file may use nothing else; this is the
# RFC's reference arithmetic. Slow (tens of milliseconds), and it checks one signature.

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _point_add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a, b = (y1 - x1) * (y2 - x2) % _P, (y1 + x1) * (y2 + x2) % _P
    c, d = 2 * t1 * t2 * _D % _P, 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _point_mul(scalar, point):
    result = (0, 1, 1, 0)
    while scalar > 0:
        if scalar & 1:
            result = _point_add(result, point)
        point = _point_add(point, point)
        scalar >>= 1
    return result


def _point_equal(p, q):
    return (p[0] * q[2] - q[0] * p[2]) % _P == 0 and (p[1] * q[2] - q[1] * p[2]) % _P == 0


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 % _P == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    return _P - x if (x & 1) != sign else x


def _decompress(raw):
    if len(raw) != 32:
        return None
    y = int.from_bytes(raw, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_BASE_Y = 4 * pow(5, _P - 2, _P) % _P
_BASE = (_recover_x(_BASE_Y, 0), _BASE_Y, 1, _recover_x(_BASE_Y, 0) * _BASE_Y % _P)


def ed25519_verify(public_key, message, signature):
    """True when `signature` is `public_key`'s Ed25519 signature of `message` (bytes)."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a_point, r_point = _decompress(public_key), _decompress(signature[:32])
    if a_point is None or r_point is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    digest = hashlib.sha512(signature[:32] + public_key + message).digest()
    h = int.from_bytes(digest, "little") % _L
    return _point_equal(_point_mul(s, _BASE), _point_add(r_point, _point_mul(h, a_point)))


def check_checkpoint_signature(checkpoint, report):
    """The checkpoint is signed by the key it names. Compare that key id with the one the
    agency publishes: a forger can sign with a key of their own, not with the agency's."""
    try:
        signed = {name: checkpoint[name] for name in CHECKPOINT_SIGNED_FIELDS}
        public_key = base64.b64decode(checkpoint["public_key"])
        signature = base64.b64decode(checkpoint["signature"])
    except (KeyError, TypeError, ValueError):
        report.altered(f"file {CHECKPOINT} is not a readable signed checkpoint")
        return
    message = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if not ed25519_verify(public_key, message.encode("utf-8"), signature):
        report.altered(f"file {CHECKPOINT}: its signature does not match its contents")
    elif hashlib.sha256(public_key).hexdigest()[:16] != signed["key_id"]:
        report.altered(f"file {CHECKPOINT}: it names key {signed['key_id']} but carries another")
    else:
        print(
            f"checkpoint: seq {signed['seq']} at {signed['checkpointed_at']}, "
            f"signed by key {signed['key_id']}"
        )


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
    if checkpoint is not None:
        check_checkpoint_signature(checkpoint, report)
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
