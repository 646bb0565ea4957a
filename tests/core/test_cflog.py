"""CloudFront standard logs: the format both ways, tolerant and strict reading of bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgesim.errors import InputError
from edgesim.services.cloudfront.logfiles import read_logs
from edgesim.services.cloudfront.logs import (
    FIELDS,
    LogRecord,
    ReadReport,
    format_record,
    header,
    parse_lines,
)

# A line as CloudFront documents it (AWS "Standard logging reference" example, 33 fields).
SAMPLE = (
    "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html"
    "\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)\t-\t-\tHit"
    "\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\td111111abcdef8.cloudfront.net"
    "\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040"
    "\t0.001\tHit\ttext/html\t78\t-\t-\n"
)


def _lines(*body: str, fields: tuple[str, ...] = FIELDS) -> list[str]:
    return ["#Version: 1.0\n", f"#Fields: {' '.join(fields)}\n", *body]


def test_reads_the_documented_example() -> None:
    report = ReadReport()
    (rec,) = list(parse_lines(_lines(SAMPLE), "x.log", report, strict=True))
    assert rec.edge_location == "LAX1"
    assert rec.status == 200
    assert rec.result_type == "Hit"
    assert rec.uri_stem == "/index.html"
    assert rec.user_agent.startswith("Mozilla/5.0 (Windows NT 10.0;")  # URI-decoded
    assert rec.time_s == 1575493351.0  # 2019-12-04T21:02:31Z
    assert rec.protocol_version == "HTTP/2.0"
    assert rec.ttfb_s == 0.001
    assert report.skipped_total == 0


def test_unknown_and_missing_optional_fields_are_tolerated() -> None:
    """The field list evolves: extra fields are ignored, older files with fewer fields read."""
    old = FIELDS[:18]  # the 2013 format had fewer fields
    cols = SAMPLE.rstrip("\n").split("\t")[:18]
    report = ReadReport()
    recs = list(parse_lines(_lines("\t".join(cols) + "\n", fields=old), "old.log", report))
    assert len(recs) == 1
    assert recs[0].ttfb_s is None
    new = (*FIELDS, "x-future-field")
    report = ReadReport()
    recs = list(parse_lines(_lines(SAMPLE.rstrip("\n") + "\tzzz\n", fields=new), "f", report))
    assert len(recs) == 1
    assert report.unknown_fields == ["x-future-field"]


def _line(t: str, uri: str = "/a") -> str:
    cols = SAMPLE.rstrip("\n").split("\t")
    cols[1] = t
    cols[7] = uri
    return "\t".join(cols) + "\n"


def test_bad_lines_are_skipped_and_counted_by_default() -> None:
    body = [
        _line("21:00:00"),
        "2019-12-04\t21:00:01\tLAX1\n",  # fewer fields than the header
        _line("20:59:00"),  # time goes backwards
        _line("25:00:00"),  # not a time
        _line("21:00:02"),
    ]
    report = ReadReport()
    recs = list(parse_lines(_lines(*body), "bad.log", report))
    assert [r.time_s % 86400 for r in recs] == [21 * 3600, 21 * 3600 + 2]
    assert report.skipped == {"fields": 1, "order": 1, "value": 1}
    assert [(i.file, i.line) for i in report.examples] == [
        ("bad.log", 4),
        ("bad.log", 5),
        ("bad.log", 6),
    ]


def test_wrong_header() -> None:
    report = ReadReport()
    recs = list(parse_lines(["#Version: 2.0\n", "hello\tworld\n"], "w.log", report))
    assert recs == []
    assert report.skipped == {"header": 2}
    with pytest.raises(Exception, match=r"w.log:1: unsupported log version"):
        list(parse_lines(["#Version: 2.0\n"], "w.log", ReadReport(), strict=True))
    with pytest.raises(Exception, match=r"#Fields lacks cs-uri-stem"):
        list(parse_lines(["#Fields: date time\n"], "w.log", ReadReport(), strict=True))


def test_files_merge_in_time_order_plain_and_gzip(tmp_path: Path) -> None:
    a = tmp_path / "E1.2019-12-04-21.a.gz"
    with gzip.open(a, "wt") as fh:
        fh.writelines(_lines(_line("21:00:00", "/a1"), _line("21:00:05", "/a2")))
    b = tmp_path / "E1.2019-12-04-21.b"
    b.write_text("".join(_lines(_line("21:00:03", "/b1"))))
    recs, report = read_logs([a, b])
    assert [r.uri_stem for r in recs] == ["/a1", "/b1", "/a2"]
    assert report.records == 3


def test_truncated_gzip_is_reported_at_its_line(tmp_path: Path) -> None:
    whole = gzip.compress("".join(_lines(*(_line(f"21:00:{s:02d}") for s in range(50)))).encode())
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    _, report = read_logs([cut])
    assert report.skipped.get("gzip") == 1
    assert report.examples[-1].file == str(cut)
    assert "truncated or corrupt gzip" in report.examples[-1].reason
    with pytest.raises(InputError) as exc:
        read_logs([cut], strict=True)
    assert "truncated or corrupt gzip" in exc.value.render()
    with pytest.raises(InputError, match="not found"):
        read_logs([tmp_path / "nope.log"])


def test_strict_stops_at_the_first_bad_line(tmp_path: Path) -> None:
    p = tmp_path / "s.log"
    p.write_text("".join(_lines(_line("21:00:00"), _line("20:00:00"))))
    with pytest.raises(InputError) as exc:
        read_logs([p], strict=True)
    text = exc.value.render()
    assert "s.log:4" in text
    assert "time goes backwards" in text


_text = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_characters="\t\n\r"),
    max_size=12,
)


@given(
    t=st.integers(0, 2**31),
    uri=_text.map(lambda s: "/" + s),
    status=st.sampled_from([200, 206, 304, 403, 404, 500, 502, 503]),
    result=st.sampled_from(["Hit", "Miss", "RefreshHit", "Error"]),
    size=st.integers(0, 10**10),
    ua=_text,
    query=st.from_regex(r"[a-z]{1,5}=[a-z0-9]{0,5}", fullmatch=True) | st.just(""),
)
def test_round_trip(
    t: int, uri: str, status: int, result: str, size: int, ua: str, query: str
) -> None:
    rec = LogRecord(
        time_s=float(t),
        edge_location="NRT57-C1",
        sc_bytes=size,
        c_ip="203.0.113.7",
        method="GET",
        host="d1.cloudfront.net",
        uri_stem=uri,
        status=status,
        query=query,
        result_type=result,
        request_id="abc",
        user_agent=ua,
        ttfb_s=0.012,
        time_taken_s=0.034,
        content_len=size,
    )
    (back,) = list(
        parse_lines(
            [*header().splitlines(True), format_record(rec)], "rt", ReadReport(), strict=True
        )
    )
    assert back.time_s == rec.time_s
    assert (back.uri_stem, back.user_agent, back.query) == (rec.uri_stem, rec.user_agent, query)
    assert (back.status, back.result_type, back.sc_bytes) == (status, result, size)
    assert back.edge_location == "NRT57-C1"
    assert back.pop == "NRT57"
