"""``edgesim calibrate`` and ``edgesim topo compare`` (docs/latency-model.md, "Your own
measurements")."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from edgesim.cli import main
from edgesim.topology import load_world

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
MATRIX = ROOT / "data" / "calibration" / "inter-region-rtt-calibration.csv"

TINY_CSV = """\
src,dst,rtt_ms
us-east-1,eu-west-2,80
eu-west-2,ap-northeast-1,215
us-east-1,ap-northeast-1,150
LHR,us-east-1,78
NRT57,eu-west-2,212
tokyo,us-east-1,165
london,"40.71,-74.01",79
new-york,eu-west-2,85
"""


def _invoke(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.output


def test_calibrate_writes_a_world_every_command_accepts(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    data.write_text(TINY_CSV)
    out = tmp_path / "cal.yaml"
    code, text = _invoke("calibrate", str(data), "-o", str(out), "--world", "tiny", "--folds", "3")
    assert code == 0, text
    assert "fit (on all the data)" in text
    assert "3-fold cross-validated" in text
    assert "pairs that disagree most" in text
    world = load_world(str(out))
    assert "region:eu-west-2" in world.nodes
    assert not any(k.startswith("client:pt-") for k in world.nodes)  # points are not kept
    # `edgesim run` takes it
    scn = (ROOT / "scenarios" / "smoke.yaml").read_text().replace("world: tiny", f"world: {out}")
    sp = tmp_path / "s.yaml"
    sp.write_text(scn)
    code, text = _invoke("run", str(sp), "-q", "--json", str(tmp_path / "r.json"))
    assert code == 0, text
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["requests"] > 0
    code, text = _invoke("topo", "path", str(out), "us-east-1", "eu-west-2")
    assert code == 0, text


def test_calibration_moves_the_world_towards_the_data(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    # everything 30 % slower than tiny says: the fitted world must be slower too
    from edgesim.latency.query import route

    tiny = load_world("tiny")
    keys = ["region:us-east-1", "region:eu-west-2", "region:ap-northeast-1", "pop:LHR50"]
    rows = ["src,dst,rtt_ms"]
    for a in keys:
        for b in keys:
            if a != b:
                rows.append(f"{a},{b},{route(tiny, a, b).rtt_ms * 1.3:.3f}")
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "cal.yaml"
    code, text = _invoke("calibrate", str(data), "-o", str(out), "--world", "tiny")
    assert code == 0, text
    before = route(tiny, "region:us-east-1", "region:ap-northeast-1").rtt_ms
    after = route(load_world(str(out)), "region:us-east-1", "region:ap-northeast-1").rtt_ms
    assert after > before * 1.15
    code, text = _invoke("topo", "compare", str(out), str(data))
    assert code == 0, text
    med = float(text.split("median ")[1].split(" %")[0])
    assert med < 8.0


def test_refuses_unknown_names_with_the_line(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    data.write_text("src,dst,rtt_ms\nus-east-1,eu-west-2,80\nus-east-1,atlantis,90\n")
    code, text = _invoke("calibrate", str(data), "-o", str(tmp_path / "o.yaml"), "--world", "tiny")
    assert code == 2
    assert "atlantis" in text
    assert f"{data}:3" in text
    assert "Traceback" not in text
    assert not (tmp_path / "o.yaml").exists()


def test_refuses_negative_and_faster_than_light_rtts(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    # London - Tokyo is ~9,560 km: at least ~93.6 ms there and back in fibre
    data.write_text("src,dst,rtt_ms\nus-east-1,eu-west-2,-3\neu-west-2,ap-northeast-1,60\n")
    code, text = _invoke("topo", "compare", "tiny", str(data))
    assert code == 2
    assert f"{data}:2" in text
    assert "negative" in text
    assert f"{data}:3" in text
    assert "below light in fibre" in text


def test_refuses_bad_numbers_and_headers(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    data.write_text("src,dst,rtt_ms\nus-east-1,eu-west-2,fast\n")
    code, text = _invoke("topo", "compare", "tiny", str(data))
    assert code == 2
    assert "not a number" in text
    data.write_text("from,to,ms\na,b,1\n")
    code, text = _invoke("topo", "compare", "tiny", str(data))
    assert code == 2
    assert "src,dst,rtt_ms" in text


ATLAS = [
    {
        "prb_id": 6001,
        "dst_addr": "192.0.2.10",
        "result": [{"rtt": 79.1}, {"rtt": 80.3}, {"x": "*"}],
    },
    {"prb_id": 6001, "dst_addr": "192.0.2.20", "result": [{"rtt": 212.0}]},
    {"prb_id": 6002, "dst_addr": "192.0.2.10", "result": [{"x": "*"}]},  # all lost: skipped
]


def test_ripe_atlas_results_with_a_location_map(tmp_path: Path) -> None:
    res = tmp_path / "pings.json"
    res.write_text(json.dumps(ATLAS))
    locs = tmp_path / "where.csv"
    locs.write_text("id,location\n6001,london\n6002,tokyo\n192.0.2.10,us-east-1\n192.0.2.20,NRT\n")
    code, text = _invoke("topo", "compare", "tiny", str(res), "--locations", str(locs))
    assert code == 0, text
    assert "2 measurements" in text  # the lost one is skipped
    assert "client:london" in text
    # a probe the map does not place is refused, naming the result
    locs.write_text("id,location\n192.0.2.10,us-east-1\n192.0.2.20,NRT\n")
    code, text = _invoke("topo", "compare", "tiny", str(res), "--locations", str(locs))
    assert code == 2
    assert "6001" in text
    assert "[0]" in text
    code, text = _invoke("topo", "compare", "tiny", str(res))
    assert code == 2
    assert "--locations" in text


def test_calibrate_on_the_calibration_matrix_cross_validates(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    data.write_text(MATRIX.read_text().replace("rtt_p50_ms", "rtt_ms"))
    code, text = _invoke(
        "calibrate", str(data), "-o", str(tmp_path / "o.yaml"), "--folds", "4", "--worst", "3"
    )
    assert code == 0, text
    cv = next(line for line in text.splitlines() if line.startswith("4-fold"))
    assert float(cv.split("median ")[1].split(" %")[0]) <= 6.0
    assert float(cv.split("p90 ")[1].split(" %")[0]) <= 15.0
