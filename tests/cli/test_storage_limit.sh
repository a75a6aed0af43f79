#!/usr/bin/env bash
# Storage limitation as an operator meets it, and its crash safety: 5,000
# contacts imported with `postbode import` (2 fields, one sensitive), their
# list deleted and their creation back-dated 400 days with the sqlite3 CLI,
# the account's erase_unlisted_after_days turned on with sweeps due every
# second; the server is killed with SIGKILL while the sweep erases them.
# Then every contact must be wholly erased (status, no address, no values,
# one receipt, one "erased" event) or wholly untouched; after a restart the
# sweep finishes: every contact erased, as many receipts and events, and
# `postbode verify-log` passes. Prints TAP.
source "$(dirname "$0")/lib.sh" storage_limit
json_field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" | head -1; }

# Sweeps due every second; a killed server's job taken over after 5 s.
export POSTBODE_PRIVACY_SWEEP_SECONDS=1 POSTBODE_JOBS_LEASE_SECONDS=5
rows=5000
data="$work/data"
db="$data/postbode.db"
sql() { sqlite3 -cmd ".timeout 20000" "$db" "$@"; }

"$bin" init --data-dir "$data" >/dev/null 2>&1
acct=$("$bin" account create "Storage limit" --json --data-dir "$data" | json_field id)
echo 'correct horse battery staple' | "$bin" user create --account "$acct" --role owner \
    owner@limit.example.be --password-stdin --data-dir "$data" >/dev/null 2>&1
check "an account with an owner" test -n "$acct"

port=$("$freeport")
jar="$work/jar"
api() { # METHOD PATH [BODY]
    local csrf
    csrf=$(cat "$jar.csrf" 2>/dev/null || true)
    curl -sS --cacert "$data/tls/cert.pem" -b "$jar" -c "$jar" -X "$1" \
        -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
        ${3:+--data "$3"} "https://localhost:$port/api/v1$2"
}
login() {
    api POST /session '{"email":"owner@limit.example.be","password":"correct horse battery staple"}' |
        json_field csrf_token >"$jar.csrf"
}

check "serve starts" start_server "$work/serve.log" --data-dir "$data" --listen "127.0.0.1:$port"
login
api POST /fields '{"key":"first_name","label":"First name","type":"text"}' >/dev/null
api POST /fields '{"key":"phone","label":"Phone","type":"text","sensitive":true}' >/dev/null
list=$(api POST /lists '{"name":"Beurs 2025","public":true}' | json_field id)
check "a list" test -n "$list"

awk -v rows=$rows 'BEGIN {
    print "email,first_name,phone"
    for (i = 1; i <= rows; i++) print "visitor" i "@limit.example.be,Visitor " i ",+32 470 " (100000 + i)
}' >"$work/visitors.csv"
if run 0 import --account "$acct" --list "$list" --basis consent --source "Signed forms, Beurs 2025" \
    --data-dir "$data" "$work/visitors.csv"; then
    ok "postbode import of $rows rows"
else
    not_ok "postbode import of $rows rows" "$(cat "$work/err")"
fi
check "$rows active contacts with 2 values each" test \
    "$(sql "SELECT count(*) FROM contacts WHERE status = 'active'") $(sql "SELECT count(*) FROM contact_values")" \
    = "$rows $((2 * rows))"

# The fair is long over: the list goes, and the contacts were made 400 days ago.
status=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$data/tls/cert.pem" -b "$jar" \
    -H "X-CSRF-Token: $(cat "$jar.csrf")" -X DELETE "https://localhost:$port/api/v1/lists/$list")
check "the list is deleted ($status)" test "$status" = 204
check "no membership is left" test "$(sql "SELECT count(*) FROM memberships")" = 0
sql "UPDATE contacts SET created_at = created_at - 400 * 86400, updated_at = updated_at - 400 * 86400"
check "the contacts are back-dated" test \
    "$(sql "SELECT count(*) FROM contacts WHERE created_at < strftime('%s','now') - 399 * 86400")" = "$rows"

# Limits on: the runner's periodic task queues the sweep within a second or two.
out=$(api PATCH /account '{"erase_unlisted_after_days":365}')
check "erase_unlisted_after_days is 365" grep -q '"erase_unlisted_after_days":365' <<<"$out"
for _ in $(seq 1 600); do
    [ "$(sql "SELECT count(*) FROM erasures")" -ge 300 ] && break
    sleep 0.05
done
kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null

erased=$(sql "SELECT count(*) FROM contacts WHERE status = 'erased'")
check "killed in the middle of the sweep ($erased of $rows erased)" \
    test "$erased" -gt 0 -a "$erased" -lt "$rows"
# Each contact is in one of two states: nothing in between.
whole="
    (c.status = 'erased' AND c.email_sealed IS NULL AND c.email_bidx IS NULL
     AND c.pseudonym LIKE 'anon-%'
     AND (SELECT count(*) FROM contact_values v WHERE v.contact_id = c.id) = 0
     AND (SELECT count(*) FROM erasures e WHERE e.contact_id = c.id
          AND e.reason = 'storage_limitation') = 1
     AND (SELECT count(*) FROM consent_events ev WHERE ev.account_id = c.account_id
          AND ev.contact_id = c.id AND ev.type = 'erased') = 1)
    OR
    (c.status = 'active' AND c.email_sealed IS NOT NULL AND c.email_bidx IS NOT NULL
     AND (c.pseudonym IS NULL OR c.pseudonym = '')
     AND (SELECT count(*) FROM contact_values v WHERE v.contact_id = c.id) = 2
     AND (SELECT count(*) FROM erasures e WHERE e.contact_id = c.id) = 0
     AND (SELECT count(*) FROM consent_events ev WHERE ev.account_id = c.account_id
          AND ev.contact_id = c.id AND ev.type = 'erased') = 0)"
mixed=$(sql "SELECT count(*) FROM contacts c WHERE NOT ($whole)")
check "after the kill every contact is wholly erased or untouched ($mixed mixed)" test "$mixed" = 0
check "as many receipts as erased contacts" test "$(sql "SELECT count(*) FROM erasures")" = "$erased"
check "as many suppression entries as erased contacts" \
    test "$(sql "SELECT count(*) FROM suppressions WHERE reason = 'erasure'")" = "$erased"
echo "# SIGKILL with $erased of $rows contacts erased"

# Started again, the sweep finishes (its job is taken over when the lease runs out).
check "serve starts again" start_server "$work/serve.log" --data-dir "$data" --listen "127.0.0.1:$port"
for _ in $(seq 1 1800); do
    [ "$(sql "SELECT count(*) FROM contacts WHERE status = 'active'")" = 0 ] && break
    sleep 0.1
done
check "every contact is erased after the restart" \
    test "$(sql "SELECT count(*) FROM contacts WHERE status = 'erased'")" = "$rows"
mixed=$(sql "SELECT count(*) FROM contacts c WHERE NOT ($whole)")
check "every one wholly ($mixed not)" test "$mixed" = 0
receipts=$(sql "SELECT count(*) FROM erasures WHERE reason = 'storage_limitation' AND actor = 'system:storage-limitation'")
events=$(sql "SELECT count(*) FROM consent_events WHERE type = 'erased'")
check "receipts ($receipts) == erased contacts == erased events ($events) == $rows" \
    test "$receipts" = "$rows" -a "$events" = "$rows"
check "no value is left" test "$(sql "SELECT count(*) FROM contact_values")" = 0
# Wait for the job to record its end (the last batch commits its erasures first).
for _ in $(seq 1 100); do
    [ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'privacy.storage_limit' AND state IN ('queued', 'running')")" = 0 ] && break
    sleep 0.1
done
check "every sweep job is done, none failed" test \
    "$(sql "SELECT count(*) FROM jobs WHERE kind = 'privacy.storage_limit' AND state <> 'done'")" = 0
check "the log shows the sweep taken over after the restart" \
    grep -q "took job .* (privacy.storage_limit) at [1-9]" "$work/serve.log"
out=$(api GET "/erasures?limit=1")
check "GET /erasures shows reason storage_limitation" grep -q '"reason":"storage_limitation"' <<<"$out"
if run 0 verify-log --account "$acct" --data-dir "$data"; then
    ok "postbode verify-log passes"
else
    not_ok "postbode verify-log passes" "$(cat "$work/out" "$work/err")"
fi

kill "$server_pid" 2>/dev/null
wait "$server_pid" 2>/dev/null
check "the server reported no failure of the sweep" \
    test "$(grep -c "storage limit: .*cannot\|privacy.storage_limit) failed" "$work/serve.log")" = 0
# After the restart the sweep taken over and the one queued anew run side by side
# (each contact is erased once all the same): their writers keep WAL checkpoints busy.
echo "# sweep jobs: $(sql "SELECT count(*) FROM jobs WHERE kind = 'privacy.storage_limit'");" \
    "checkpoints that stayed busy: $(grep -c "checkpoint after a batch failed" "$work/serve.log")"
grep " error " "$work/serve.log" | sed 's/^/# /' | head -20
echo "1..$n"
