"""More bad ``ssm:`` input: every problem is refused at load with its field and a reason."""

from __future__ import annotations

import pytest

from edgesim.errors import InputError
from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.services.ssm import documents, schedule
from edgesim.services.ssm.documents import DocumentContent

BASE = """\
edgesim: 1
name: errors
world: tiny
duration: 2h
clients:
  - metros: [new-york]
    requests_per_second: 1
workloads:
  - {name: api, host: api.example.com, target: endpoint:api, size: 2KB}
endpoints:
  - {name: api, site: region:us-east-1, servers: 8}
  - name: fn
    site: region:us-east-1
    compute: {type: lambda}
  - name: web
    site: region:eu-west-2
    compute: {type: ec2, min: 2, max: 4}
ssm:
SSM
timeline:
TIMELINE
"""

WINDOW = """\
  fleets:
    - {endpoint: api, instances: 4, tags: {Role: web}}
  documents:
    - name: restart
      content:
        parameters:
          warmup: {type: String, default: 60s, allowedValues: [60s, 90s]}
          must: {type: String}
        mainSteps:
          - {action: "edgesim:restart", name: r, inputs: {warmup: "{{ warmup }}"}}
          - action: "edgesim:setWeight"
            name: w
            inputs: {record: x, set: a, weight: "{{ must }}"}
  parameter_store:
    parameters: [{name: /p, regions: [eu-west-2]}]
    reads: READS
  appconfig:
    applications:
      - {name: shop, environments: [prod], profiles: [flags], endpoints: [APPEP]}
    strategies:
      - {name: Slow, growth_factor: 10, deployment_duration: DUR}
  maintenance_windows:
    - name: w
      duration: WDUR
      cutoff: CUT
      schedule: SCHED
      timezone: TZ
      tasks:
        - {name: t, targets: TARGETS, max_concurrency: 1}
"""


def scenario(
    *,
    targets: str = "[endpoint:api]",
    wdur: str = "1h",
    cut: str = "0s",
    sched: str = "rate(1 day)",
    tz: str = "UTC",
    reads: str = "[]",
    appep: str = "api",
    dur: str = "10m",
    timeline: str = "  []",
    fleets: str | None = None,
) -> str:
    ssm = (
        WINDOW.replace("TARGETS", targets)
        .replace("WDUR", wdur)
        .replace("CUT", cut)
        .replace("SCHED", sched)
        .replace("TZ", tz)
        .replace("READS", reads)
        .replace("APPEP", appep)
        .replace("DUR", dur)
    )
    if fleets is not None:
        ssm = ssm.replace("    - {endpoint: api, instances: 4, tags: {Role: web}}", fleets)
    return BASE.replace("SSM", ssm.rstrip("\n")).replace("TIMELINE", timeline)


def problems(text: str) -> str:
    scn, index, file = load_scenario_text(text)
    with pytest.raises(InputError) as exc:
        prepare(scn, index, file)
    return " ".join(str(exc.value).split())


def test_a_valid_scenario_loads() -> None:
    scn, index, file = load_scenario_text(scenario())
    prepare(scn, index, file)


@pytest.mark.parametrize(
    ("kw", "expect"),
    [
        ({"targets": "[endpoint:fn]"}, "runs on lambda: AWS manages its hosts"),
        ({"targets": "[region:mars-1]"}, "no region 'mars-1'"),
        ({"targets": "['tag:Role']"}, "expected: tag:Key=Value"),
        ({"targets": "['tag:Role=db']"}, "selects no fleet"),
        ({"targets": "['s3:bucket']"}, "cannot read target 's3:bucket'"),
        ({"wdur": "30m"}, "duration 30m is outside Systems Manager's range"),
        ({"wdur": "24h", "cut": "23h30m"}, "above Systems Manager's 23h"),
        ({"sched": "cron(0 2 ? * MON *)", "tz": "Mars/Olympus"}, "unknown time zone"),
        ({"reads": "[{endpoint: nope, parameters: [/p]}]"}, "no endpoint named 'nope'"),
        ({"reads": "[{endpoint: api, parameters: [/p]}]"}, "parameter '/p' is not in us-east-1"),
        ({"reads": "[{endpoint: api, parameters: [/p], region: mars-1}]"}, "no region 'mars-1'"),
        ({"appep": "nope"}, "applications[0].endpoints[0]: no endpoint named 'nope'"),
        ({"dur": "25h"}, "above AppConfig's 24h"),
        (
            {"fleets": "    - {endpoint: web, instances: 2}"},
            "has a compute model: its instances are its units",
        ),
        (
            {"fleets": "    - {endpoint: api, instances: 4}\n    - {endpoint: api, instances: 2}"},
            "has two fleets entries",
        ),
    ],
)
def test_refused(kw: dict[str, str], expect: str) -> None:
    assert expect in problems(scenario(**kw))


@pytest.mark.parametrize(
    ("event", "expect"),
    [
        ("{run_maintenance_window: {window: w, now: true}}", "takes a window name"),
        ("{send_command: {document: restart}}", "send_command takes"),
        ("{send_command: {document: restart, targets: [endpoint:api]}}", "'must' has no default"),
        (
            "{send_command: {document: restart, targets: [endpoint:api],"
            " parameters: {must: 1, warmup: 5s}}}",
            "is not one of",
        ),
        (
            "{send_command: {document: restart, targets: [endpoint:nope], parameters: {must: 1}}}",
            "no endpoint named 'nope'",
        ),
        (
            "{send_command: {document: restart, targets: [endpoint:api], parameters: {must: 1}}}",
            "needs the service that handles set_weight",
        ),
        ("{appconfig_deploy: [shop]}", "appconfig_deploy takes"),
        ("{appconfig_deploy: {application: shop, when: now}}", "takes no 'when'"),
        ("{appconfig_deploy: {application: nope}}", "no AppConfig application 'nope'"),
        (
            "{appconfig_deploy: {application: shop, environment: dev}}",
            "has no environment 'dev'",
        ),
        (
            "{appconfig_deploy: {application: shop, environment: prod, profile: flags,"
            " strategy: Slow, effect: {latency: 1s}}}",
            "effect takes",
        ),
        (
            "{appconfig_deploy: {application: shop, environment: prod, profile: flags,"
            " strategy: Slow, alarm: {metric: p50}}}",
            "alarm takes",
        ),
    ],
)
def test_refused_events(event: str, expect: str) -> None:
    assert expect in problems(scenario(timeline=f"  - {{at: 1m, {event[1:-1]}}}"))


# ---- documents and schedules, directly ----------------------------------------------------------
def test_document_checks() -> None:
    doc = DocumentContent.model_validate(
        {
            "mainSteps": [
                {"action": "aws:sleep", "name": "a"},
                {"action": "aws:sleep", "name": "a", "inputs": {"duration": "1s", "x": 1}},
                {"action": "edgesim:restrat", "name": "b"},
            ]
        }
    )
    found = dict(documents.check_document(doc))
    assert "needs the input 'duration'" in found["mainSteps[0].inputs"]
    assert "two steps are named 'a'" in found["mainSteps[1].name"]
    assert "takes no input 'x'" in found["mainSteps[1].inputs.x"]
    assert "did you mean 'edgesim:restart'" in found["mainSteps[2].action"]


def test_resolving_bad_durations() -> None:
    doc = DocumentContent.model_validate(
        {
            "parameters": {"d": {"default": "soon"}},
            "mainSteps": [{"action": "aws:sleep", "name": "a", "inputs": {"duration": "{{ d }}"}}],
        }
    )
    with pytest.raises(ValueError, match="step 'a'"):
        documents.resolve(doc, {})
    steps = documents.resolve(doc, {"d": "2m"})
    assert steps[0].duration_ns == 120 * 1_000_000_000


@pytest.mark.parametrize(
    ("expr", "msg"),
    [
        ("cron(0/x 1 ? * MON *)", "bad step"),
        ("cron(a-b 1 ? * MON *)", "bad range"),
        ("cron(5-1 1 ? * MON *)", "outside"),
        ("cron(0 1 ? * 9L *)", "bad '9L'"),
        ("cron(0 1 ? * MON-FRI/2 2027)", ""),
    ],
)
def test_more_cron_fields(expr: str, msg: str) -> None:
    if msg:
        with pytest.raises(schedule.ScheduleError, match=msg):
            schedule.check(expr)
    else:
        schedule.check(expr)
