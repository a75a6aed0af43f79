#!/usr/bin/env bash
# Imports as an operator meets them: `postbode import` with its outcome and
# bad input, and a server killed with SIGKILL in the middle of an import,
# started again: the import finishes with exactly the same contacts,
# memberships, events and counts as an import that was never interrupted.
# Prints TAP.
source "$(dirname "$0")/lib.sh" import
json_field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" | head -1; }

data="$work/data"
# The jobs' leases last 5 s here, so that a killed server's import is taken over soon.
export POSTBODE_JOBS_LEASE_SECONDS=5
"$bin" init --data-dir "$data" >/dev/null 2>&1
acct1=$("$bin" account create Interrupted --json --data-dir "$data" | json_field id)
acct2=$("$bin" account create Uninterrupted --json --data-dir "$data" | json_field id)
for a in "$acct1" "$acct2"; do
    echo 'correct horse battery staple' | "$bin" user create --account "$a" --role owner \
        "owner-$a@example.be" --password-stdin --data-dir "$data" >/dev/null 2>&1
done
check "two accounts with an owner each" test -n "$acct1" -a -n "$acct2"

port=$("$freeport")
api() { # JAR METHOD PATH [BODY]
    local jar=$1 csrf
    csrf=$(cat "$jar.csrf" 2>/dev/null || true)
    curl -sS --cacert "$data/tls/cert.pem" -b "$jar" -c "$jar" -X "$2" \
        -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
        ${4:+--data "$4"} "https://localhost:$port/api/v1$3"
}
login() { # JAR EMAIL
    api "$1" POST /session "{\"email\":\"$2\",\"password\":\"correct horse battery staple\"}" |
        json_field csrf_token >"$1.csrf"
}
upload() { # JAR LIST FILE: starts an import, prints its id
    curl -sS --cacert "$data/tls/cert.pem" -b "$1" -H "X-CSRF-Token: $(cat "$1.csrf")" \
        -F "file=@$3;type=text/csv" -F "list_ids=$2" -F basis=consent \
        -F "description=Signed forms, Beurs Gent 2026" \
        "https://localhost:$port/api/v1/imports" | json_field id
}
import_state() { api "$1" GET "/imports/$2?limit=1000"; }
wait_done() { # JAR ID: waits until the import is over; prints its final JSON
    local out
    for _ in $(seq 1 1200); do
        out=$(import_state "$1" "$2")
        case "$out" in *'"state":"done"'* | *'"state":"failed"'*) echo "$out"; return 0 ;; esac
        sleep 0.1
    done
    echo "$out"
    return 1
}

check "serve starts" start_server "$work/serve.log" --data-dir "$data" --listen "127.0.0.1:$port"
jar1="$work/jar1" jar2="$work/jar2"
login "$jar1" "owner-$acct1@example.be"
login "$jar2" "owner-$acct2@example.be"
for jar in "$jar1" "$jar2"; do
    api "$jar" POST /fields '{"key":"first_name","label":"First name","type":"text"}' >/dev/null
    api "$jar" POST /fields '{"key":"phone","label":"Phone","type":"text","sensitive":true}' >/dev/null
done
list1=$(api "$jar1" POST /lists '{"name":"Nieuwsbrief","public":true}' | json_field id)
list2=$(api "$jar2" POST /lists '{"name":"Nieuwsbrief","public":true}' | json_field id)
check "a public list in each account" test -n "$list1" -a -n "$list2"

# 40,000 rows with some invalid lines and repeated addresses spread through the file.
rows=40000
awk -v rows=$rows 'BEGIN {
    print "email,first_name,phone"
    for (i = 1; i <= rows; i++) {
        if (i % 997 == 0) print "broken-address-" i ",Nobody,"
        else if (i % 1009 == 0) print "person" (i - 500) "@resume.example.be,Again,"
        else print "person" i "@resume.example.be,Person " i ",+32 470 " (100000 + i)
    }
}' >"$work/people.csv"

# Account 2: uninterrupted.
id2=$(upload "$jar2" "$list2" "$work/people.csv")
check "the uninterrupted import is accepted" test -n "$id2"
final2=$(wait_done "$jar2" "$id2")
check "the uninterrupted import is done" grep -q '"state":"done"' <<<"$final2"

# Account 1: SIGKILL while it runs.
id1=$(upload "$jar1" "$list1" "$work/people.csv")
check "the import to interrupt is accepted" test -n "$id1"
killed=no
for _ in $(seq 1 600); do
    st=$(import_state "$jar1" "$id1")
    done_rows=$(json_field rows_done <<<"$st")
    if [ "${done_rows:-0}" -gt 0 ] && grep -q '"state":"running"' <<<"$st"; then
        kill -9 "$server_pid"
        wait "$server_pid" 2>/dev/null
        killed=yes
        break
    fi
    sleep 0.05
done
check "the server was killed in the middle of the import ($done_rows of $rows rows)" test "$killed" = yes
check "the server starts again" start_server "$work/serve.log" --data-dir "$data" --listen "127.0.0.1:$port"
final1=$(wait_done "$jar1" "$id1")
check "the interrupted import finishes" grep -q '"state":"done"' <<<"$final1"

counts() { sed -n 's/.*"counts":\({[^}]*}\).*/\1/p'; }
check "the same counts as the uninterrupted import" test "$(counts <<<"$final1")" = "$(counts <<<"$final2")"
check "the counts are what the file holds" bash -c "grep -q '\"added\":$((rows - rows / 997 - rows / 1009))' <<<'$final1'"
members() { api "$1" GET "/lists/$2" | json_field member_count; }
check "the same number of members" test "$(members "$jar1" "$list1")" = "$(members "$jar2" "$list2")"
events() { api "$1" GET /consent/verify; }
check "the chain verifies, with the same number of events" \
    test "$(events "$jar1")" = "$(events "$jar2")"
check "one event per imported address" \
    bash -c "grep -q '\"events\":$((rows - rows / 997 - rows / 1009))' <<<'$(events "$jar1")'"
# The same contacts with the same values, read back through the export.
api "$jar1" GET "/lists/$list1/export?format=csv" | tail -n +2 | sort >"$work/export1"
api "$jar2" GET "/lists/$list2/export?format=csv" | tail -n +2 | sort >"$work/export2"
check "the same contacts and values" cmp -s "$work/export1" "$work/export2"
check "every contact is there" test "$(wc -l <"$work/export1")" -eq $((rows - rows / 997 - rows / 1009))
check "the same rejected lines" test "$(sed -n 's/.*"rejects":\(\[[^]]*\]\).*/\1/p' <<<"$final1")" = \
    "$(sed -n 's/.*"rejects":\(\[[^]]*\]\).*/\1/p' <<<"$final2")"
check "the upload is gone once the import is done" \
    test "$(sqlite3 "$data/postbode.db" 'SELECT count(*) FROM import_chunks')" = 0
kill -TERM "$server_pid"
wait "$server_pid" 2>/dev/null

# --- postbode import ---
printf 'email,first_name\ncli1@example.be,Ann\nnot-an-address,Bob\ncli2@example.be,Cy\n' >"$work/cli.csv"
check "postbode import imports into a list" run 0 import --account "$acct1" --list "$list1" \
    --basis consent --source "Beurs Gent 2026" "$work/cli.csv" --data-dir "$data"
check "and says what it did" grep -q "added 2, updated 0, skipped 0, invalid 1" "$work/out"
check "and which line it rejected" grep -q "line 3: not a valid address" "$work/out"
check "--json prints the import" run 0 import --account "$acct1" --list "$list1" --basis consent \
    --source "Beurs Gent 2026" "$work/cli.csv" --data-dir "$data" --json
check "a re-import skips what is there" grep -q '"skipped":2' "$work/out"
check "the imported address has its history" run 0 consent search --account "$acct1" \
    cli1@example.be --data-dir "$data"
check "with an imported event and the statement" bash -c \
    "grep -q ' imported ' '$work/out' && grep -q 'consent: Beurs Gent 2026' '$work/out'"
# A screenshot of the sign-up form as evidence, on the statement every imported address refers to.
echo 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==' |
    base64 -d >"$work/form.png"
printf 'email\nshot@example.be\n' >"$work/shot.csv"
check "postbode import --evidence stores the screenshot" run 0 import --account "$acct1" \
    --list "$list1" --basis consent --source "Form with screenshot" --evidence "$work/form.png" \
    "$work/shot.csv" --data-dir "$data"
check "the history shows the statement with its evidence" bash -c "'$bin' consent search \
    --account '$acct1' shot@example.be --data-dir '$data' | grep -q 'Form with screenshot (1 evidence image)'"
printf 'not an image' >"$work/fake.png"
run 1 import --account "$acct1" --list "$list1" --basis consent --source x --evidence "$work/fake.png" \
    "$work/shot.csv" --data-dir "$data"
check "evidence that is not an image is refused, naming the file" grep -q "fake.png" "$work/err"
run 1 import --account "$acct1" --list "$list1" "$work/cli.csv" --data-dir "$data"
check "a public list without a statement is refused" grep -q "consent" "$work/err"
run 1 import --account "$acct1" --list "$list1" --basis whim --source x "$work/cli.csv" --data-dir "$data"
check "a bad basis is refused" grep -q "basis" "$work/err"
run 1 import --account "$acct1" --list "$list1" --basis consent --source x "$work/missing.csv" --data-dir "$data"
check "a missing file is named" grep -q "missing.csv" "$work/err"
printf 'email,first_name\nlat@example.be,Ren\xe9\n' >"$work/latin1.csv"
run 1 import --account "$acct1" --list "$list1" --basis consent --source x "$work/latin1.csv" --data-dir "$data"
check "a Latin-1 file fails and says why" grep -q "not UTF-8" "$work/err"
check "usage errors exit 2" run 2 import --list "$list1" "$work/cli.csv" --data-dir "$data"

echo "1..$n"
