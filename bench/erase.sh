#!/usr/bin/env bash
# The erasure benchmark (bench/erase.c) on SQLite, then on a throwaway
# PostgreSQL server started here (tests/support/pg.sh) and stopped at the end.
#
#   bench/erase.sh [CONTACTS]
#
# Built by `make bench`. PB_BENCH_PG_ONLY=1 skips the SQLite run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/bench/erase
[ -x "$bin" ] || { echo "erase.sh: $bin missing; run make bench" >&2; exit 1; }

if [ "${PB_BENCH_PG_ONLY:-0}" != 1 ]; then
    "$bin" "$@"
fi

pgdir=$(mktemp -d /tmp/pgdev-bench-XXXXXX)
trap '"$root/tests/support/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true' EXIT
url=$("$root/tests/support/pg.sh" start "$pgdir")
"$bin" "${1:-10000}" "$url"
