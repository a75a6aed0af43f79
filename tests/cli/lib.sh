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

# start_server LOG ARGS...: starts `postbode serve ARGS` in the background, its
# output appended to LOG, and waits until it says it is serving (a new line,
# so a restart is waited for too). Sets server_pid.
start_server() {
    local log=$1; shift
    local before
    before=$(grep -c "is serving" "$log" 2>/dev/null)
    "$bin" serve "$@" >>"$log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    for _ in $(seq 1 200); do
        [ "$(grep -c "is serving" "$log" 2>/dev/null)" -gt "${before:-0}" ] && return 0
        kill -0 "$server_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
