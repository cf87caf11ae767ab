#!/usr/bin/env bash
# Regenerates the regression corpus in sim/tests/corpus/: for every mutant,
# the smallest of the lowest eight failing swarm seeds, shrunk to a small
# reproduction. Run it when a change to the simulator's decisions makes the
# corpus stop reproducing (sim/tests/corpus.rs says which), and review the
# new reports.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p sim
occsim=${CARGO_TARGET_DIR:-target}/release/occsim
work=$(mktemp -d)
for m in $($occsim mutants | awk '{print $1}'); do
  $occsim explore --seeds 0..500 --swarm --mutant "$m" --max-failures 8 --out "$work/$m" >/dev/null || true
  report=$(python3 - "$work/$m" <<'PY'
import json, pathlib, sys
reports = [(json.load(open(p))["stats"]["txns"], str(p)) for p in pathlib.Path(sys.argv[1]).glob("*/report.json")]
print(min(reports)[1])
PY
)
  rm -rf "sim/tests/corpus/$m"
  $occsim shrink "$report" --out "sim/tests/corpus/$m" --budget "${BUDGET:-3000}" || true
done
rm -rf "$work"
