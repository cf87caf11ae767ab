#!/usr/bin/env bash
# Renders REPORT_DIR/report.html in headless Chromium to OUT.png, as a person
# would see it, and fails if the page logged a console error or did not
# render. Needs Debian's `chromium` package (apt-get install -y chromium).
# Not part of CI; CI checks the page's structure in sim/tests/html.rs.
#
# Usage: scripts/render-report.sh REPORT_DIR OUT.png [WIDTHxHEIGHT]
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 REPORT_DIR OUT.png [WIDTHxHEIGHT]" >&2
  exit 2
fi
report_dir=$1
out=$2
size=${3:-1400x1000}
html="$report_dir/report.html"
if [ ! -f "$html" ]; then
  echo "$0: $html does not exist (occsim run writes it; for an older report, run" \
    "cargo run -p sim --example render_html -- $report_dir)" >&2
  exit 2
fi
chromium_bin=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium_bin" ]; then
  echo "$0: chromium not found; install it with: apt-get install -y chromium" >&2
  exit 2
fi

url="file://$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
profile=$(mktemp -d)
log=$(mktemp)
dom=$(mktemp)
trap 'rm -rf "$profile" "$log" "$dom"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile" --enable-logging=stderr --v=0
  --window-size="${size/x/,}")

rm -f "$out"
"$chromium_bin" "${flags[@]}" --screenshot="$out" "$url" 2>"$log" >/dev/null || true
"$chromium_bin" "${flags[@]}" --dump-dom "$url" 2>>"$log" >"$dom" || true

status=0
# Chromium logs page console messages as `CONSOLE:line] "message", source: ...`
# (older versions `CONSOLE(line)]`) and uncaught exceptions as `Uncaught ...`;
# any of them is a failure.
if grep -E 'CONSOLE[:(][0-9]+\)?\]|Uncaught ' "$log"; then
  echo "$0: the page logged console messages (above)" >&2
  status=1
fi
if [ ! -s "$out" ]; then
  echo "$0: no screenshot was written; chromium said:" >&2
  tail -n 20 "$log" >&2
  status=1
fi
# The rendered DOM must hold the report's parts.
for part in 'class="timeline"' 'class="lane"' 'id="run"'; do
  if ! grep -q "$part" "$dom"; then
    echo "$0: the rendered page lacks $part" >&2
    status=1
  fi
done
if [ "$status" -eq 0 ]; then
  echo "$out"
fi
exit "$status"
