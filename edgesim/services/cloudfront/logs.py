"""CloudFront standard access logs: read and write the tab-separated format, I/O-free.

A log file starts with ``#Version: 1.0`` and ``#Fields: date time x-edge-location …`` and has
one request per line, fields separated by tabs, ``-`` for an empty value, URI-encoded strings
(docs/log-replay.md; AWS: "Standard logging reference", log file fields). The field list has
grown over the years (33 fields today): the reader takes the order from each file's
``#Fields`` line, ignores fields it does not know and tolerates missing optional ones, so old
and future files read the same way.

Reading is line by line (the shell opens files and gzip); every bad line is reported with its
file and line and either skipped (counted) or, with ``strict``, raised.
"""

from __future__ import annotations

import calendar
import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

#: The standard log's fields, in the order CloudFront writes them.
FIELDS: tuple[str, ...] = (
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
)

#: Fields a replay cannot do without.
REQUIRED = ("date", "time", "cs-uri-stem")

#: Result types CloudFront logs in ``x-edge-result-type``.
RESULT_TYPES = (
    "Hit",
    "RefreshHit",
    "Miss",
    "LimitExceeded",
    "CapacityExceeded",
    "Error",
    "Redirect",
)


class LogError(Exception):
    """A bad line in strict mode (``file:line: reason``)."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class LogRecord:
    """One request of a log (the fields a replay and a comparison use)."""

    time_s: float
    """Seconds since the Unix epoch (UTC), when the edge finished the response."""
    edge_location: str = ""
    """``NRT57-C1``: the PoP that served the viewer."""
    sc_bytes: int = 0
    c_ip: str = ""
    method: str = "GET"
    host: str = ""
    uri_stem: str = "/"
    status: int = 200
    query: str = ""
    cookie: str = ""
    result_type: str = ""
    request_id: str = ""
    host_header: str = ""
    protocol: str = "https"
    cs_bytes: int = 0
    time_taken_s: float = 0.0
    response_result_type: str = ""
    protocol_version: str = "HTTP/1.1"
    ttfb_s: float | None = None
    detailed_result_type: str = ""
    content_type: str = ""
    content_len: int | None = None
    range_start: int | None = None
    range_end: int | None = None
    user_agent: str = ""
    referer: str = ""
    c_port: int | None = None

    @property
    def pop(self) -> str:
        """The edge location's code without its cluster suffix (``NRT57-C1`` → ``NRT57``)."""
        return self.edge_location.split("-", 1)[0]


@dataclass
class Issue:
    file: str
    line: int
    reason: str


@dataclass
class ReadReport:
    """What reading found besides the records: skipped lines by reason, with examples."""

    lines: int = 0
    records: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    examples: list[Issue] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)

    def skip(self, file: str, line: int, reason: str, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1
        if len(self.examples) < 20:
            self.examples.append(Issue(file, line, reason))

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def _dash(v: str) -> str:
    return "" if v == "-" else v


def _int(v: str) -> int | None:
    v = _dash(v)
    if not v:
        return None
    return int(v)


def _float(v: str) -> float | None:
    v = _dash(v)
    if not v:
        return None
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(v)
    return f


def _epoch(date: str, clock: str) -> float:
    y, mo, d = (int(x) for x in date.split("-"))
    h, mi, s = clock.split(":")
    sec = float(s)
    if not (1 <= mo <= 12 and 1 <= d <= 31 and 0 <= int(h) < 24 and 0 <= int(mi) < 60):
        raise ValueError(f"{date} {clock}")
    if not 0 <= sec < 61:
        raise ValueError(f"{date} {clock}")
    return calendar.timegm((y, mo, d, int(h), int(mi), 0, 0, 0, 0)) + sec


def _record(values: dict[str, str]) -> LogRecord:
    g = values.get

    def text(name: str) -> str:
        return unquote(_dash(g(name, "-")))

    method = _dash(g("cs-method", "GET")) or "GET"
    if not method.isalpha():
        raise ValueError(f"method {method!r}")
    status = _int(g("sc-status", "-"))
    if status is not None and not 0 <= status <= 999:  # 000: the viewer closed early
        raise ValueError(f"status {status}")
    return LogRecord(
        time_s=_epoch(g("date", ""), g("time", "")),
        edge_location=_dash(g("x-edge-location", "-")),
        sc_bytes=_int(g("sc-bytes", "-")) or 0,
        c_ip=_dash(g("c-ip", "-")),
        method=method.upper(),
        host=_dash(g("cs(Host)", "-")),
        uri_stem=text("cs-uri-stem") or "/",
        status=status if status is not None else 0,
        query=_dash(g("cs-uri-query", "-")),
        cookie=text("cs(Cookie)"),
        result_type=_dash(g("x-edge-result-type", "-")),
        request_id=_dash(g("x-edge-request-id", "-")),
        host_header=_dash(g("x-host-header", "-")),
        protocol=_dash(g("cs-protocol", "-")) or "https",
        cs_bytes=_int(g("cs-bytes", "-")) or 0,
        time_taken_s=_float(g("time-taken", "-")) or 0.0,
        response_result_type=_dash(g("x-edge-response-result-type", "-")),
        protocol_version=_dash(g("cs-protocol-version", "-")) or "HTTP/1.1",
        ttfb_s=_float(g("time-to-first-byte", "-")),
        detailed_result_type=_dash(g("x-edge-detailed-result-type", "-")),
        content_type=text("sc-content-type"),
        content_len=_int(g("sc-content-len", "-")),
        range_start=_int(g("sc-range-start", "-")),
        range_end=_int(g("sc-range-end", "-")),
        user_agent=text("cs(User-Agent)"),
        referer=text("cs(Referer)"),
        c_port=_int(g("c-port", "-")),
    )


def parse_lines(
    lines: Iterable[str], file: str, report: ReadReport, *, strict: bool = False
) -> Iterator[LogRecord]:
    """The records of one log file, in its order; bad lines skipped (or raised if strict).

    A record earlier than the one before it in the same file is out of order: CloudFront
    writes a file's lines in time order, so it is reported and skipped (a replay needs time
    order; several files are merged by :func:`merge`).
    """
    fields: list[str] | None = None
    last = -math.inf

    def bad(n: int, reason: str, kind: str) -> None:
        if strict:
            raise LogError(file, n, reason)
        report.skip(file, n, reason, kind)

    for n, raw in enumerate(lines, 1):
        report.lines += 1
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if line.startswith("#"):
            key, _, rest = line[1:].partition(":")
            if key.strip() == "Version":
                if rest.strip().split(".")[0] != "1":
                    bad(n, f"unsupported log version {rest.strip()!r} (expected 1.0)", "header")
            elif key.strip() == "Fields":
                names = rest.split()
                missing = [f for f in REQUIRED if f not in names]
                if missing:
                    bad(n, f"#Fields lacks {', '.join(missing)}", "header")
                    fields = None
                    continue
                fields = names
                for name in names:
                    if name not in FIELDS and name not in report.unknown_fields:
                        report.unknown_fields.append(name)
            continue
        if fields is None:
            bad(n, "a request line before the #Fields header (not a CloudFront log?)", "header")
            continue
        parts = line.split("\t")
        if len(parts) < len(fields):
            # a line may lack optional trailing fields; the required ones must be there
            need = max(fields.index(f) for f in REQUIRED) + 1
            if len(parts) < need:
                bad(n, f"{len(parts)} fields, the header names {len(fields)}", "fields")
                continue
        values = dict(zip(fields, parts, strict=False))
        try:
            rec = _record(values)
        except (ValueError, TypeError) as exc:
            bad(n, f"unreadable value: {exc}", "value")
            continue
        if rec.time_s < last:
            bad(n, "time goes backwards (lines must be in time order)", "order")
            continue
        last = rec.time_s
        report.records += 1
        yield rec


def merge(streams: Iterable[Iterator[LogRecord]]) -> Iterator[LogRecord]:
    """Several files' records in one time order (stable for equal times: file order)."""
    return heapq.merge(*streams, key=lambda r: r.time_s)


# ---- writing ---------------------------------------------------------------------------------
def _enc(v: str) -> str:
    """URI-encode a string field as CloudFront does; empty is ``-``."""
    if not v:
        return "-"
    return quote(v, safe="/:;,=@&+$!~*'()?.-_%")


def _num(v: float | int | None, nd: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    return f"{v:.{nd}f}"


def header(version: str = "1.0") -> str:
    return f"#Version: {version}\n#Fields: {' '.join(FIELDS)}\n"


def format_record(r: LogRecord) -> str:
    """One log line (with its newline) in the standard field order."""
    whole = math.floor(r.time_s)
    t = _epoch_parts(whole)
    cols = [
        t[0],
        t[1],
        r.edge_location or "-",
        str(r.sc_bytes),
        r.c_ip or "-",
        r.method,
        r.host or "-",
        _enc(r.uri_stem),
        f"{r.status:03d}",
        _enc(r.referer),
        _enc(r.user_agent),
        r.query or "-",
        _enc(r.cookie),
        r.result_type or "-",
        r.request_id or "-",
        r.host_header or "-",
        r.protocol,
        str(r.cs_bytes),
        _num(r.time_taken_s),
        "-",
        "TLSv1.3" if r.protocol == "https" else "-",
        "TLS_AES_128_GCM_SHA256" if r.protocol == "https" else "-",
        r.response_result_type or r.result_type or "-",
        r.protocol_version,
        "-",
        "-",
        _num(r.c_port),
        _num(r.ttfb_s),
        r.detailed_result_type or r.result_type or "-",
        _enc(r.content_type),
        _num(r.content_len),
        _num(r.range_start),
        _num(r.range_end),
    ]
    return "\t".join(cols) + "\n"


def _epoch_parts(sec: int) -> tuple[str, str]:
    import time

    tm = time.gmtime(sec)
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}",
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}",
    )


def result_counts(records: Iterable[LogRecord]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        key = r.result_type or "-"
        out[key] = out.get(key, 0) + 1
    return out
