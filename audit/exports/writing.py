"""Rows to files, in constant memory (R4).

Rows are read through a server-side cursor in batches and written as they come; the
ZIP is written entry by entry with each file's SHA-256 computed on the way, so an
export of millions of entries holds one batch at a time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from audit.services import CHAINED_FIELDS, canonical_json, canonical_time

VERIFIER = Path(__file__).with_name("verify.py")
EVENT_COLUMNS = (*CHAINED_FIELDS, "hash", "content")
# Lines are joined and written in blocks: one write per line would cost more than the
# line itself.
BLOCK_ROWS = 2000


def event_line(row: tuple) -> dict:
    """One entry as exported: the chained fields exactly as hashed, its hash, its content."""
    entry = dict(zip(EVENT_COLUMNS, row, strict=True))
    entry["occurred_at"] = canonical_time(entry["occurred_at"])
    return entry


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


def csv_lines(entries: Iterable[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EVENT_COLUMNS)
    for entry in entries:
        writer.writerow(
            canonical_json(value) if isinstance(value, dict) else value
            for value in (entry[name] for name in EVENT_COLUMNS)
        )
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_lines(path: Path, lines: Iterable[str]) -> tuple[int, str]:
    """Write a text file; returns (bytes, SHA-256)."""
    with open(path, "wb") as raw:
        out = HashingWriter(raw)
        for block in _blocks(lines):
            out.write(block)
    return out.size, out.digest.hexdigest()


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
