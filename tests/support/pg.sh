#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL server for the tests: its own data
# directory, a free port on 127.0.0.1, trust authentication, fsync off.
# As root the server runs as the "postgres" user (PostgreSQL refuses root).
#
#   pg.sh start DIR   prints the URL postgres://USER@127.0.0.1:PORT/pbtest
#   pg.sh stop DIR    stops that server (pg_ctl stop -m fast) and removes DIR
#
# Fails loudly (message on stderr, non-zero exit) when anything goes wrong.
set -euo pipefail

die() {
    echo "pg.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start DIR | stop DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2

# The highest installed version's binaries, never whatever PATH holds.
bindir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [ ! -x "$bindir/pg_ctl" ] || [ ! -x "$bindir/initdb" ]; then
    die "no PostgreSQL server under /usr/lib/postgresql/*/bin (Debian package postgresql)"
fi

if [ "$(id -u)" -eq 0 ]; then
    dbuser=postgres
    as_db() { runuser -u postgres -- "$@"; }
else
    dbuser=$(id -un)
    as_db() { "$@"; }
fi

case $cmd in
start)
    root=$(cd "$(dirname "$0")/../.." && pwd)
    mkdir -p "$dir" || die "cannot create $dir"
    dir=$(cd "$dir" && pwd)
    [ ! -e "$dir/data" ] || die "$dir/data already exists; stop that server first"
    freeport=${PB_TEST_FREEPORT:-$root/build/asan/tests/freeport}
    if [ ! -x "$freeport" ]; then
        # Build the little helper privately rather than fail.
        cc -O1 -o "$dir/freeport" "$root/tests/support/freeport.c" ||
            die "$freeport missing and cannot be built"
        freeport=$dir/freeport
    fi
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user"
        chown postgres:postgres "$dir" || die "cannot chown $dir to postgres"
        chmod 0700 "$dir"
    fi

    if ! as_db "$bindir/initdb" -D "$dir/data" -U "$dbuser" -A trust -E UTF8 --no-locale \
        --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed in $dir/data"
    fi

    # A port can be taken between freeport and the server's bind: try a few.
    started=
    for _ in 1 2 3 4 5; do
        port=$("$freeport") || die "freeport failed"
        if as_db "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" \
            start >"$dir/pg_ctl.log" 2>&1; then
            started=1
            break
        fi
        if ! grep -q "could not bind\|already in use" "$dir/postgres.log" 2>/dev/null; then
            break
        fi
    done
    if [ -z "$started" ]; then
        cat "$dir/pg_ctl.log" >&2 || true
        tail -n 20 "$dir/postgres.log" >&2 || true
        die "PostgreSQL did not start in $dir"
    fi
    echo "$port" >"$dir/port"
    # From here on a failure must not leave the server running.
    stop_and_die() {
        as_db "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
        die "$@"
    }

    ready=
    for _ in $(seq 1 60); do
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$dbuser"; then
            ready=1
            break
        fi
        sleep 0.5
    done
    [ -n "$ready" ] || stop_and_die "PostgreSQL in $dir is not ready after 30 s (see $dir/postgres.log)"

    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$dbuser" pbtest ||
        stop_and_die "cannot create the database pbtest on port $port"
    echo "postgres://$dbuser@127.0.0.1:$port/pbtest"
    ;;
stop)
    [ -d "$dir/data" ] || die "$dir/data is not a PostgreSQL data directory"
    as_db "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null ||
        die "pg_ctl stop failed for $dir/data"
    rm -rf "$dir" || die "cannot remove $dir"
    ;;
*)
    usage
    ;;
esac
