#!/usr/bin/env bash
# Starts and stops Postfix's smtp-sink as a test SMTP server (never the
# postfix daemon). Each message is dumped to a file of its own under
# DIR/mail/; the server's PID is kept in DIR/pid and it is stopped by that
# PID only (smtp-sink binds with SO_REUSEPORT, so each test takes a free
# port of its own).
#
#   smtp-sink.sh start DIR [--tls] [-- smtp-sink options...]   prints PORT
#   smtp-sink.sh stop DIR
#
# Options after "--" go to smtp-sink as they are, e.g. "-- -f RCPT" (reject
# every RCPT with 5xx), "-- -r DATA -b '451 4.3.0 try later'" (DATA 4xx),
# "-- -p" (no PIPELINING). smtp-sink has no TLS: --tls is refused; TLS
# tests use a server of their own.
set -euo pipefail

usage() {
    echo "usage: $0 start DIR [--tls] [-- smtp-sink options] | stop DIR" >&2
    exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2

case $cmd in
start)
    if [ "${1:-}" = "--tls" ]; then
        echo "smtp-sink.sh: smtp-sink does not speak TLS; use an in-test TLS server" >&2
        exit 2
    fi
    if [ "${1:-}" = "--" ]; then
        shift
    fi
    root=$(cd "$(dirname "$0")/../.." && pwd)
    freeport=${PB_TEST_FREEPORT:-$root/build/asan/tests/freeport}
    if [ ! -x "$freeport" ]; then
        echo "smtp-sink.sh: $freeport missing; run make build/asan/tests/freeport" >&2
        exit 1
    fi
    sink=/usr/sbin/smtp-sink
    [ -x "$sink" ] || { echo "smtp-sink.sh: $sink missing (Debian package postfix)" >&2; exit 1; }
    dir=$(cd "$dir" && pwd)
    mkdir -p "$dir/mail"
    user=()
    if [ "$(id -u)" -eq 0 ]; then
        # smtp-sink drops root privileges: let "nobody" reach and write the dump directory.
        user=(-u nobody)
        chmod 0711 "$dir"
        chmod 0777 "$dir/mail"
    fi
    port=$("$freeport")
    "$sink" "${user[@]}" -c -d "$dir/mail/%M%d%H%M%S." "$@" "127.0.0.1:$port" 64 \
        >"$dir/smtp-sink.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/pid"
    # Ready when it listens (checked without connecting, so no session is counted).
    for _ in $(seq 1 100); do
        if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
            echo "$port"
            exit 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "smtp-sink.sh: smtp-sink exited:" >&2
            cat "$dir/smtp-sink.log" >&2
            rm -f "$dir/pid"
            exit 1
        fi
        sleep 0.05
    done
    echo "smtp-sink.sh: smtp-sink did not listen on port $port" >&2
    kill "$pid" 2>/dev/null || true
    rm -f "$dir/pid"
    exit 1
    ;;
stop)
    [ -f "$dir/pid" ] || exit 0
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/pid"
    ;;
*)
    usage
    ;;
esac
