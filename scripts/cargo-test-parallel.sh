#!/usr/bin/env bash
# `cargo test --workspace` with the test binaries run side by side: most end-to-end tests wait
# on real time (a 60-s DELAY, a kill and restart), so running them one after another left the
# two cores idle for minutes. Builds every test binary, runs them JOBS at a time (default 4),
# the slowest known ones first, each binary's own tests in parallel as usual; then the doc
# tests. On a failure the failing binaries' output is printed and the exit status is 1.
#
#   scripts/cargo-test-parallel.sh [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${1:-${WAIAAS_TEST_JOBS:-4}}"
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/waiaas-tests.XXXXXX")"
trap 'rm -rf "$LOGS"' EXIT

# Every test executable of the workspace (unit tests of each crate, integration tests, benches' tests excluded).
cargo test --workspace --locked --no-run --message-format=json 2>/dev/null \
    | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m.get("profile", {}).get("test") and "bench" not in m["target"]["kind"]:
        print(m["target"]["name"], m["executable"])
'  > "$LOGS/bins"
# The end-to-end suite is one binary (one link); its modules run as separate jobs, so the
# slow ones (real waits) still overlap the rest: "<module> <exe> <module>::".
while read -r name exe; do
    if [ "$name" = e2e ]; then
        "$exe" --list --format terse 2>/dev/null | sed -n 's/^\([a-z_0-9]*\)::.*: test$/\1/p' | sort -u | while read -r m; do echo "$m $exe $m::"; done
    else
        echo "$name $exe"
    fi
done < "$LOGS/bins" > "$LOGS/all"
# The long ones first, so they overlap the many short ones instead of ending the run alone.
SLOW="operator_lockout admin_ui crash_recovery policy_gate waiaas_core mcp openapi small_holes gate_valuation"
{ for s in $SLOW; do grep "^$s " "$LOGS/all" || true; done; grep -v -E "^($(echo $SLOW | tr ' ' '|')) " "$LOGS/all"; } > "$LOGS/order"
echo "running $(wc -l < "$LOGS/order") test binaries, $JOBS at a time"

run_one() {
    local name="$1" exe="$2" filter="$3" logs="$4" start end rc=0
    start=$(date +%s)
    "$exe" $filter >"$logs/$name.log" 2>&1 || rc=$?
    end=$(date +%s)
    local summary
    summary=$(grep -E "^test result:" "$logs/$name.log" | tail -1 | sed 's/; finished.*//')
    printf '%-28s %4ss  %s\n' "$name" "$((end - start))" "${summary:-no test result (exit $rc)}"
    [ $rc -eq 0 ] || { echo "$name" >>"$logs/failed"; }
    return 0
}
export -f run_one
start=$(date +%s)
xargs -P "$JOBS" -L 1 bash -c 'run_one "$0" "$1" "${2:-}" "'"$LOGS"'"' < "$LOGS/order"
echo "test binaries: $(( $(date +%s) - start ))s wall"

if [ -s "$LOGS/failed" ]; then
    while read -r name; do
        echo "=================== FAILED: $name ==================="
        tail -n 200 "$LOGS/$name.log"
    done < "$LOGS/failed"
    exit 1
fi
cargo test --workspace --locked --doc
