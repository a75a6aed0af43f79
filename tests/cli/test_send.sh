#!/usr/bin/env bash
# Sending as an operator meets it, into a real Postfix smtp-sink that dumps
# every message: (1) a server killed with SIGKILL in the middle of a send,
# started again: the campaign finishes, every recipient gets the message,
# and the only second copies are of messages in flight at the kill (at most
# the "uncertain" count the statistics report); (2) with PB_TEST_PG_URL, two
# `serve` nodes on one PostgreSQL database send one campaign together:
# both take part, every recipient gets exactly one message. Prints TAP.
source "$(dirname "$0")/lib.sh" send
json_field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" | head -1; }
sink=tests/support/smtp-sink.sh
sinks=()
stop_sinks() { for d in "${sinks[@]}"; do "$sink" stop "$d" >/dev/null 2>&1; done; }
trap 'stop_sinks; cleanup' EXIT

# Short leases, so that a killed node's recipients are taken over soon; small batches.
export POSTBODE_JOBS_LEASE_SECONDS=5 POSTBODE_SEND_BATCH=50 POSTBODE_LOG_LEVEL=debug
rows=3000

api() { # DATA PORT JAR METHOD PATH [BODY]
    local csrf
    csrf=$(cat "$3.csrf" 2>/dev/null || true)
    curl -sS --cacert "$1/tls/cert.pem" -b "$3" -c "$3" -X "$4" \
        -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
        ${6:+--data "$6"} "https://localhost:$2/api/v1$5"
}
# One account with an owner, a list of $rows imported addresses, a relay into a new sink.
# Sets acct, jar, list, sinkdir; $1 data dir, $2 port, $3 relay rate per second.
prepare() {
    local data=$1 port=$2 rate=$3
    acct=$("$bin" account create "Send test" --json --data-dir "$data" | json_field id)
    echo 'correct horse battery staple' | "$bin" user create --account "$acct" --role owner \
        "owner@send.example" --password-stdin --data-dir "$data" >/dev/null 2>&1
    jar="$work/jar-$port"
    api "$data" "$port" "$jar" POST /session \
        '{"email":"owner@send.example","password":"correct horse battery staple"}' |
        json_field csrf_token >"$jar.csrf"
    api "$data" "$port" "$jar" POST /fields '{"key":"first_name","label":"First","type":"text"}' >/dev/null
    list=$(api "$data" "$port" "$jar" POST /lists '{"name":"All","public":true}' | json_field id)
    awk -v rows=$rows 'BEGIN { print "email,first_name"; for (i = 1; i <= rows; i++) print "r" i "@send.example,Reader" i }' >"$work/list.csv"
    local import
    import=$(curl -sS --cacert "$data/tls/cert.pem" -b "$jar" -H "X-CSRF-Token: $(cat "$jar.csrf")" \
        -F "file=@$work/list.csv;type=text/csv" -F "list_ids=$list" -F basis=consent \
        -F "description=Newsletter sign-up form" "https://localhost:$port/api/v1/imports" | json_field id)
    for _ in $(seq 1 600); do
        api "$data" "$port" "$jar" GET "/imports/$import" | grep -q '"state":"done"' && break
        sleep 0.1
    done
    sinkdir="$work/sink-$port"
    mkdir -p "$sinkdir"
    local sinkport
    sinkport=$("$sink" start "$sinkdir")
    sinks+=("$sinkdir")
    api "$data" "$port" "$jar" PUT /settings/smtp \
        "{\"host\":\"127.0.0.1\",\"port\":$sinkport,\"tls\":\"none\",\"max_connections\":4,\"rate_per_second\":$rate}" >/dev/null
}
new_campaign() { # DATA PORT: creates and sends a campaign to $list; prints its id
    local id
    id=$(api "$1" "$2" "$jar" POST /campaigns "{\"name\":\"Crash test\",\"subject\":\"Hello {{ first_name }}\",\"from\":\"News <news@send.example>\",\"html\":\"<p>Dear {{ first_name }}</p>\",\"list_ids\":[\"$list\"]}" | json_field id)
    api "$1" "$2" "$jar" POST "/campaigns/$id/send" '{}' >/dev/null
    echo "$id"
}
mails() { find "$sinkdir/mail" -type f 2>/dev/null | wc -l; }
recipients() { cat "$sinkdir"/mail/* 2>/dev/null | grep -i '^To:' | tr -d '\r' | sort -u | wc -l; }
wait_sent() { # DATA PORT ID
    for _ in $(seq 1 1200); do
        api "$1" "$2" "$jar" GET "/campaigns/$3" | grep -q '"state":"sent"' && return 0
        sleep 0.1
    done
    return 1
}
stat() { api "$1" "$2" "$jar" GET "/campaigns/$3/stats" | sed -n "s/.*\"$4\":\\([0-9]*\\).*/\\1/p"; }

# ---- (1) SIGKILL in the middle of a send, on SQLite ----
data="$work/data"
"$bin" init --data-dir "$data" >/dev/null 2>&1
port=$("$freeport")
check "serve starts" start_server "$work/serve1.log" --data-dir "$data" --listen "127.0.0.1:$port"
prepare "$data" "$port" 600
campaign=$(new_campaign "$data" "$port")
check "the campaign is sending" test -n "$campaign"
for _ in $(seq 1 300); do [ "$(mails)" -ge $((rows / 3)) ] && break; sleep 0.05; done
at_kill=$(mails)
kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null
check "killed in the middle ($at_kill of $rows sent)" test "$at_kill" -gt 0 -a "$at_kill" -lt "$rows"
check "serve starts again" start_server "$work/serve1.log" --data-dir "$data" --listen "127.0.0.1:$port"
if wait_sent "$data" "$port" "$campaign"; then ok "the campaign finishes after the restart"; else not_ok "the campaign finishes after the restart" "$(api "$data" "$port" "$jar" GET "/campaigns/$campaign")"; fi
for _ in $(seq 1 50); do [ "$(recipients)" -ge "$rows" ] && break; sleep 0.1; done
got=$(recipients) total=$(mails)
uncertain=$(stat "$data" "$port" "$campaign" uncertain)
sent=$(stat "$data" "$port" "$campaign" sent)
check "nobody skipped: $got of $rows recipients got the message" test "$got" -eq "$rows"
check "second copies ($((total - got))) only of the $uncertain in flight at the kill" \
    test $((total - got)) -le "${uncertain:-0}"
check "the statistics count $rows sent (counted $sent)" test "${sent:-0}" -eq "$rows"
echo "# SIGKILL: $at_kill sent before the kill, $uncertain uncertain, $((total - got)) second copies"

# ---- (2) two nodes on one PostgreSQL database ----
if [ -z "${PB_TEST_PG_URL:-}" ]; then
    not_ok "two nodes on PostgreSQL" "PB_TEST_PG_URL is not set (scripts/run-tests sets it)"
else
    db="send_$$_$RANDOM"
    psql -q "$PB_TEST_PG_URL" -c "CREATE DATABASE $db" >/dev/null
    export POSTBODE_STORE_URL="${PB_TEST_PG_URL%/*}/$db"
    data2="$work/data2"
    "$bin" init --data-dir "$data2" >/dev/null 2>&1
    port_a=$("$freeport") port_b=$("$freeport")
    check "node A starts" start_server "$work/node-a.log" --data-dir "$data2" --listen "127.0.0.1:$port_a"
    check "node B starts" start_server "$work/node-b.log" --data-dir "$data2" --listen "127.0.0.1:$port_b"
    # Each node may send 500 a second: together they are faster than one.
    prepare "$data2" "$port_a" 500
    campaign=$(new_campaign "$data2" "$port_a")
    if wait_sent "$data2" "$port_b" "$campaign"; then ok "the campaign is sent (seen from node B)"; else not_ok "the campaign is sent (seen from node B)"; fi
    for _ in $(seq 1 50); do [ "$(mails)" -ge "$rows" ] && break; sleep 0.1; done
    got=$(recipients) total=$(mails)
    check "every recipient got it: $got of $rows" test "$got" -eq "$rows"
    check "no second copy: $total messages for $rows recipients" test "$total" -eq "$rows"
    a=$(grep -c "batch of .* for campaign $campaign" "$work/node-a.log")
    b=$(grep -c "batch of .* for campaign $campaign" "$work/node-b.log")
    check "both nodes sent batches (A: $a, B: $b)" test "$a" -gt 0 -a "$b" -gt 0
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    pids=()
    psql -q "$PB_TEST_PG_URL" -c "DROP DATABASE $db" >/dev/null 2>&1
fi
echo "1..$n"
