# What the CLI test scripts share (sourced, not run: scripts/run-tests runs
# tests/cli/test_*.sh only). Sets bin, freeport, work (a fresh directory,
# removed at exit with every process listed in pids) and the TAP helpers.
#   source tests/cli/lib.sh NAME
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bin=${PB_TEST_BIN:-build/asan/postbode}
freeport=${PB_TEST_FREEPORT:-build/asan/tests/freeport}
work=$(mktemp -d "/tmp/postbode-$1-XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }

# run EXPECTED_STATUS ARGS...: runs postbode, keeps stdout/stderr in $work/out, $work/err.
run() {
    local want=$1; shift
    "$bin" "$@" >"$work/out" 2>"$work/err"
    status=$?
    [ "$status" -eq "$want" ]
}
