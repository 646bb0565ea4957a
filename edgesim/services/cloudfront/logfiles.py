"""Reading CloudFront log files from disk (plain or gzip), for the replay and the importer.

The format lives in :mod:`edgesim.services.cloudfront.logs` (I/O-free); this shell opens the
files, detects gzip by its magic bytes, and turns a truncated or corrupt gzip stream into a
reported problem at the line where it broke (skipped with a count, or an error with
``strict``).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from edgesim.errors import InputError, Problem
from edgesim.services.cloudfront.logs import LogError, LogRecord, ReadReport, merge, parse_lines


def _lines(path: Path, report: ReadReport, strict: bool) -> Iterator[str]:
    try:
        with path.open("rb") as fh:
            magic = fh.read(2)
    except FileNotFoundError:
        raise InputError.single("log file not found", file=str(path)) from None
    except OSError as exc:
        raise InputError.single(f"cannot read: {exc.strerror}", file=str(path)) from None
    opener = gzip.open if magic == b"\x1f\x8b" else open
    n = 0
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            for line in fh:
                n += 1
                yield line
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        reason = f"truncated or corrupt gzip after line {n} ({exc.__class__.__name__})"
        if strict:
            raise LogError(str(path), n + 1, reason) from None
        report.skip(str(path), n + 1, reason, "gzip")


def read_logs(paths: list[Path], *, strict: bool = False) -> tuple[list[LogRecord], ReadReport]:
    """Every record of the files, merged in time order, and what was skipped."""
    report = ReadReport()
    streams = [parse_lines(_lines(p, report, strict), str(p), report, strict=strict) for p in paths]
    try:
        records = list(merge(streams))
    except LogError as exc:
        raise InputError(
            [
                Problem(
                    exc.reason,
                    line=exc.line,
                    expected="a CloudFront standard log (#Version, #Fields, tab-separated)",
                )
            ],
            file=exc.file,
        ) from None
    return records, report
