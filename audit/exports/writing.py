"""Rows to files, in constant memory (R4).

Log entries leave PostgreSQL already written as CSV or JSON lines, through COPY of the
search's own query (row-level security applies to it as to any SELECT), and are passed
on in blocks: no row becomes a Python object, so an export keeps pace with the database
and holds one block at a time. The ZIP is written entry by entry with each file's SHA-256
computed on the way. Other apps' records (comments) are fewer and go through Python.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.db import connection
from django.db.models.expressions import RawSQL

from audit.services import CHAINED_FIELDS

VERIFIER = Path(__file__).with_name("verify.py")
EVENT_COLUMNS = (*CHAINED_FIELDS, "hash", "content")
# Lines are joined and written in blocks: one write per line would cost more than the
# line itself.
BLOCK_ROWS = 2000


# The time exactly as audit.services.canonical_time writes it into the hashed bytes.
_TIME_SQL = "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
_COLUMN_SQL = {"occurred_at": _TIME_SQL, "details": "details::text", "ip": "host(ip)"}
# One entry as a JSON object: the chained fields as hashed, its hash, its content. The
# verifier reads the values, so key order and spacing here do not matter.
_LINE_SQL = (
    "json_build_object("
    + ", ".join(
        f"'{name}', " + ({"occurred_at": _TIME_SQL, "ip": "host(ip)"}.get(name, name))
        for name in EVENT_COLUMNS
    )
    + ")::text"
)
# COPY's CSV format with a delimiter and quote that JSON text never holds raw (it
# escapes every control character): each line goes out exactly as PostgreSQL made it.
_AS_LINES = "FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e'"
BLOCK_BYTES = 1 << 20


class Copied:
    """How many rows a COPY sent, known once it is done."""

    rows = 0


def _copy_out(queryset, options: str, copied: Copied | None = None) -> Iterator[bytes]:
    """COPY the queryset's SQL to us in blocks of about BLOCK_BYTES. Call inside the
    transaction that holds the agency scope."""
    import psycopg

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # Through Django first: the row-scope guard sets the transaction's agency.
        cursor.execute("SELECT 1")
        raw = cursor.cursor
        literal = psycopg.ClientCursor(raw.connection).mogrify(sql, params)
        pending, size = [], 0
        with raw.copy(f"COPY ({literal}) TO STDOUT WITH ({options})") as copy:
            for block in copy:
                pending.append(bytes(block))
                size += len(block)
                if size >= BLOCK_BYTES:
                    yield b"".join(pending)
                    pending, size = [], 0
        if pending:
            yield b"".join(pending)
        if copied is not None:
            copied.rows = raw.rowcount


def event_json_lines(selected, copied: Copied) -> Iterator[bytes]:
    """The entries, oldest first, as JSON Lines."""
    line = RawSQL(_LINE_SQL, ())  # noqa: S611 - our constant SQL, no input
    lines = selected.order_by("seq").annotate(line=line).values_list("line")
    return _copy_out(lines, _AS_LINES, copied)


def event_csv(selected, copied: Copied) -> Iterator[bytes]:
    """The entries, oldest first, as CSV with a header row."""
    columns = {
        # Our constant SQL: column names and the expressions above, no input.
        f"c{i}": RawSQL(_COLUMN_SQL.get(name, name), ())  # noqa: S611
        for i, name in enumerate(EVENT_COLUMNS)
    }
    rows = selected.order_by("seq").annotate(**columns).values_list(*columns)
    header = io.StringIO()
    csv.writer(header).writerow(EVENT_COLUMNS)
    yield header.getvalue().encode()
    yield from _copy_out(rows, "FORMAT csv", copied)


def link_lines(others) -> Iterator[bytes]:
    """seq, prev_hash and hash of entries, as JSON Lines."""
    line = "json_build_object('seq', seq, 'prev_hash', prev_hash, 'hash', hash)::text"
    lines = others.order_by("seq").annotate(line=RawSQL(line, ())).values_list("line")  # noqa: S611
    return _copy_out(lines, _AS_LINES)


class HashingWriter:
    """A binary stream wrapper that counts and hashes what passes through."""

    def __init__(self, stream):
        self.stream, self.digest, self.size = stream, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self.stream.write(data)


def _blocks(lines: Iterable[str]) -> Iterator[bytes]:
    block = []
    for line in lines:
        block.append(line)
        if len(block) >= BLOCK_ROWS:
            yield "".join(block).encode()
            block = []
    if block:
        yield "".join(block).encode()


def jsonl_lines(entries: Iterable[dict]) -> Iterator[str]:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
    for entry in entries:
        yield dumps(entry) + "\n"


def write_blocks(path: Path, blocks: Iterable[bytes]) -> None:
    with open(path, "wb") as out:
        for block in blocks:
            out.write(block)


class PackageWriter:
    """A records-request ZIP written one member at a time, with a manifest of every
    member's SHA-256 written last."""

    def __init__(self, path: Path):
        # Deflate level 1: hashes and JSON keys compress well enough at the fastest level,
        # and packaging must keep pace with reading (≥ 20,000 entries/s).
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self.files: list[dict] = []

    def add_lines(self, name: str, lines: Iterable[str]) -> None:
        with self.zip.open(name, "w", force_zip64=True) as member:
            out = HashingWriter(member)
            for block in _blocks(lines):
                out.write(block)
        self.files.append({"path": name, "sha256": out.digest.hexdigest(), "bytes": out.size})

    def add_bytes(self, name: str, content: bytes) -> None:
        self.add_lines_from(name, [content])

    def add_lines_from(self, name: str, chunks: Iterable[bytes]) -> None:
        with self.zip.open(name, "w", force_zip64=True) as member:
            out = HashingWriter(member)
            for chunk in chunks:
                out.write(chunk)
        self.files.append({"path": name, "sha256": out.digest.hexdigest(), "bytes": out.size})

    def add_file(self, name: str, opener: Callable) -> None:
        """A media file from a source, copied in blocks."""
        with opener() as stream:
            self.add_lines_from(name, iter(lambda: stream.read(1 << 20), b""))

    def close(self, manifest: dict) -> str:
        """Write manifest.json (listing every file so far) and close; its SHA-256."""
        body = json.dumps({**manifest, "files": self.files}, indent=2, ensure_ascii=False)
        self.zip.writestr("manifest.json", body.encode())
        self.zip.close()
        return hashlib.sha256(body.encode()).hexdigest()
