#!/usr/bin/env bash
# Mutation testing (mutmut) over chosen core modules, bounded in time. Not part of CI: run it by
# hand or on a schedule; its survivors are listed in docs/testing.md.
#
# Usage: bash bench/mutation.sh [MINUTES]        (default 20; MODULES=... TESTS=... override)
#
# mutmut mutates a copy of the source in ./mutants; to leave the work tree alone this script
# copies the tracked files to a temporary directory, writes mutmut's configuration there
# (setup.cfg) and runs it from there with the project's virtual environment. Results (killed,
# survived, timeout, no tests) are printed, survivors with their diffs, and the mutants
# directory is kept at the printed path for `mutmut show`/`mutmut browse`.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
MINUTES=${1:-20}
PY=${PYTHON:-$REPO/.venv/bin/python}
"$PY" -c "import mutmut" 2>/dev/null || "$PY" -m pip install -q --disable-pip-version-check "mutmut>=3.3"
# The modules under test and the tests that cover them (keep the tests fast: mutmut reruns
# the covering tests once per mutant).
MODULES=${MODULES:-"edgesim/sim/compare.py edgesim/units.py edgesim/cache/lru.py edgesim/services/accelerator/model.py"}
TESTS=${TESTS:-"tests/cli/test_check_tolerance.py tests/core/test_units.py tests/core/test_cache.py tests/core/test_accelerator.py tests/core/test_accelerator_sim.py"}
DESELECT=${DESELECT:-"libcachesim or process_equals_get_put_loop or example_scenario"}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/edgesim-mutation.XXXXXX")
git ls-files -z | xargs -0 cp --parents -t "$WORK"
cp edgesim/cache/_lru*.so "$WORK/edgesim/cache/" 2>/dev/null || true  # the C loop, if built
cd "$WORK"
{
  echo "[mutmut]"
  echo "source_paths = edgesim"
  echo "only_mutate ="
  for m in $MODULES; do echo "    $m"; done
  echo "pytest_add_cli_args_test_selection ="
  for t in $TESTS; do echo "    $t"; done
  echo "pytest_add_cli_args ="
  echo "    -p"
  echo "    no:randomly"
  echo "    -q"
  echo "    -k"
  echo "    not ($DESELECT)"
  echo "also_copy ="
  echo "    topologies"
  echo "    scenarios"
  echo "    data"
} >setup.cfg
echo "== mutmut over: $MODULES"
echo "   tests: $TESTS (not $DESELECT); at most $MINUTES min; in $WORK"
status=0
timeout --signal=INT "$((MINUTES * 60))" "$(dirname "$PY")/mutmut" run --max-children 2 \
  >mutmut-run.log 2>&1 || status=$?
if [ "$status" = 124 ] || [ "$status" = 130 ]; then
  echo "   (stopped at the time limit: mutants not reached are listed as not checked)"
fi
tr '\r' '\n' <mutmut-run.log | grep -E 'mutations/second|^[0-9]+/[0-9]+' | tail -2
echo "== results"
"$(dirname "$PY")/mutmut" results --all true 2>/dev/null | awk -F': ' '{print $2}' | sort | uniq -c || true
echo "== survivors"
"$(dirname "$PY")/mutmut" results 2>/dev/null | grep -E "survived" | while read -r name _; do
  name=${name%:}
  echo "--- $name"
  "$(dirname "$PY")/mutmut" show "$name" 2>/dev/null | grep -E '^[-+][^-+]' || true
done
echo "== kept in $WORK (cd there and run mutmut browse)"
