#!/bin/sh
# Benchmark: GET /healthz over HTTPS (keep-alive, wrk -t2 -c64 -d10s) against
# the same server over plain HTTP (POSTBODE_SERVER_TLS=off), measured in the
# same run; prints both rates and the HTTPS/HTTP ratio.
#
#   bench/healthz.sh [DURATION]        (default 10s)
set -eu

cd "$(dirname "$0")/.."
DURATION=${1:-10s}
BIN=build/release/postbode
FREEPORT=build/asan/tests/freeport

command -v wrk >/dev/null || { echo "healthz.sh: wrk is not installed" >&2; exit 1; }
make -s "$BIN" "$FREEPORT"

DATA=$(mktemp -d "${TMPDIR:-/tmp}/postbode-bench-XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$DATA"
}
trap cleanup EXIT INT TERM
"$BIN" init --data-dir "$DATA" >/dev/null

# start_server SCHEME: starts `postbode serve` on a free port, sets PID and URL.
start_server() {
    scheme=$1
    port=$($FREEPORT)
    if [ "$scheme" = http ]; then
        POSTBODE_SERVER_TLS=off "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$port" \
            >"$DATA/serve-$scheme.out" 2>"$DATA/serve-$scheme.log" &
    else
        "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$port" \
            >"$DATA/serve-$scheme.out" 2>"$DATA/serve-$scheme.log" &
    fi
    PID=$!
    URL="$scheme://127.0.0.1:$port/healthz"
    i=0
    until curl -ksf -o /dev/null "$URL"; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$PID" 2>/dev/null; then
            echo "healthz.sh: the $scheme server did not come up; its log:" >&2
            cat "$DATA/serve-$scheme.log" >&2
            exit 1
        fi
        sleep 0.1
    done
}

stop_server() {
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
}

# measure SCHEME: prints the requests/second wrk reached.
measure() {
    start_server "$1"
    wrk -t2 -c64 -d"$DURATION" "$URL" >"$DATA/wrk-$1.txt"
    stop_server
    awk '/^Requests\/sec:/ { print $2 }' "$DATA/wrk-$1.txt"
}

HTTPS=$(measure https)
HTTP=$(measure http)
echo "GET /healthz, wrk -t2 -c64 -d$DURATION, keep-alive"
echo "  https: $HTTPS requests/s"
echo "  http:  $HTTP requests/s (baseline: same server, POSTBODE_SERVER_TLS=off)"
awk -v a="$HTTPS" -v b="$HTTP" 'BEGIN { if (b > 0) printf "  ratio https/http: %.2f\n", a / b }'
