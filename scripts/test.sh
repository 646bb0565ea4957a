#!/usr/bin/env bash
# Set up a virtual environment (first run) and run every quality gate and the test suite.
# This is the README's test command and what .ci/run runs.
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
# coverage from process start (the pytest plugin loads before pytest-cov would start measuring)
echo "== pytest";              .venv/bin/python -m coverage run -m pytest "$@"
echo "== coverage";            .venv/bin/python -m coverage report
