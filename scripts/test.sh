#!/usr/bin/env bash
# Set up a virtual environment (first run) and run every quality gate and the test suite.
# This is the README's test command and what .ci/run runs. Extra arguments go to pytest
# (e.g. scripts/test.sh -x -k dns); WORKERS=N sets the number of pytest-xdist workers.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
echo "== ruff check";          .venv/bin/ruff check .
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== mypy --strict";       .venv/bin/mypy edgesim
echo "== lint-imports";        .venv/bin/lint-imports --no-logo   # layers: docs/architecture.md
# Coverage from process start: `coverage run` starts before pytest loads the edgesim pytest
# plugin (which pytest-cov would start too late to see), and coverage's subprocess patch
# ([tool.coverage.run] patch) starts it in the xdist workers the same way. Each process writes
# its own data file; they are combined before the report.
echo "== pytest (${WORKERS:-2} workers)"
.venv/bin/python -m coverage erase
.venv/bin/python -m coverage run -m pytest -n "${WORKERS:-2}" "$@"
echo "== coverage"
.venv/bin/python -m coverage combine -q
.venv/bin/python -m coverage report
