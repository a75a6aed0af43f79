#!/usr/bin/env bash
# postbode forget as an operator meets it: the receipt printed for people
# and as JSON, the contact erased in the database with an audit entry that
# holds no address, the consent log still intact; a second erasure, an
# unknown address, a malformed one and bad options refused with a clear
# one-line message; and `postbode import` refusing the erased address as
# suppressed unless --override-suppression comes with a fresh statement.
# Prints TAP.
source "$(dirname "$0")/lib.sh" forget
# expect_fail DESCRIPTION STATUS PATTERN ARGS...: a clear one-line error naming PATTERN, nothing on stdout.
expect_fail() {
    local d=$1 want=$2 pattern=$3; shift 3
    if run "$want" "$@" && grep -q -- "$pattern" "$work/err" && [ "$(wc -l <"$work/err")" -le 1 ] &&
        [ ! -s "$work/out" ]; then
        ok "$d"
    else
        not_ok "$d" "status $status (wanted $want)" "stderr: $(head -c 400 "$work/err")" \
            "stdout: $(head -c 400 "$work/out")"
    fi
}
# out_has DESCRIPTION TEXT: the last command's stdout holds TEXT.
out_has() {
    if grep -qF -- "$2" "$work/out"; then ok "$1"; else not_ok "$1" "stdout: $(head -c 800 "$work/out")"; fi
}
db() { sqlite3 "$data/postbode.db" "$1"; }

# --- an account with a field, a list and three members, made through the API ---
data="$work/data"
run 0 init --data-dir "$data" || not_ok "init" "$(cat "$work/err")"
acct=$("$bin" account create "Forget NV" --data-dir "$data")
echo 'correct horse battery staple' | "$bin" user create --account "$acct" --role owner \
    owner@forget.example.be --password-stdin --data-dir "$data" >/dev/null
port=$("$freeport")
if start_server "$work/serve.log" --data-dir "$data" --listen "127.0.0.1:$port"; then
    ok "serve starts"
else
    not_ok "serve starts" "$(tail -5 "$work/serve.log")"
fi
jar="$work/jar"
api() { # METHOD PATH [BODY]: one API call with the session of $jar; prints the body
    curl -sS --cacert "$data/tls/cert.pem" -b "$jar" -c "$jar" -X "$1" \
        -H 'Content-Type: application/json' -H "X-CSRF-Token: ${csrf:-}" \
        ${3:+--data "$3"} "https://localhost:$port/api/v1$2"
}
id_of() { sed -n 's/.*"id":"\([0-9A-Z]*\)".*/\1/p'; }
csrf=$(api POST /session '{"email":"owner@forget.example.be","password":"correct horse battery staple"}' |
    sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p')
api POST /fields '{"key":"city","label":"City","type":"text"}' >/dev/null
list=$(api POST /lists '{"name":"Nieuwsbrief","public":false}' | id_of)
c1=$(api POST /contacts "{\"email\":\"an@forget.example.be\",\"lists\":[\"$list\"],\"fields\":{\"city\":\"Brugge-Unique-4471\"}}" | id_of)
c2=$(api POST /contacts "{\"email\":\"bo@forget.example.be\",\"lists\":[\"$list\"]}" | id_of)
c3=$(api POST /contacts "{\"email\":\"cy@forget.example.be\",\"lists\":[\"$list\"]}" | id_of)
check "three members are added" test -n "$c1" -a -n "$c2" -a -n "$c3"
kill -TERM "$server_pid"
wait "$server_pid"

# --- forget ---
check "postbode --help lists forget" run 0 --help
out_has "the usage names forget" "forget"
check "forget erases an address" run 0 forget --account "$acct" an@forget.example.be --data-dir "$data"
out_has "the receipt names the contact" "contact $c1 is now anon-"
out_has "the receipt says what was wiped" "1 field value"
out_has "the receipt says what is kept" "suppression list"
receipt=$(sed -n 's/^erasure \([0-9A-Z]\{26\}\) at .*/\1/p' "$work/out")
check "the receipt has an id" test -n "$receipt"
check "the contact is erased in the database" \
    test "$(db "SELECT status || '|' || coalesce(email_sealed, 'null') || '|' || coalesce(email_bidx, 'null') FROM contacts WHERE id = '$c1'")" = "erased|null|null"
check "its value is gone" test "$(db "SELECT count(*) FROM contact_values WHERE contact_id = '$c1'")" = 0
check "the receipt is stored" test "$(db "SELECT count(*) FROM erasures WHERE id = '$receipt' AND contact_id = '$c1' AND actor = 'cli'")" = 1
audit=$(db "SELECT detail FROM audit_log WHERE action = 'contacts.erased' ORDER BY id DESC LIMIT 1")
if [[ "$audit" == *"\"erasure_id\":\"$receipt\""* && "$audit" == *'"actor":"cli"'* && "$audit" != *"@"* ]]; then
    ok "one audit entry, without the address"
else
    not_ok "one audit entry, without the address" "detail: $audit"
fi
check "the list still counts the erased member" \
    test "$(db "SELECT member_count FROM lists WHERE id = '$list'")" = 3

check "forget --json" run 0 forget --account "$acct" BO@forget.example.be --json --data-dir "$data"
if python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["contact_id"] == sys.argv[2], r
assert r["pseudonym"].startswith("anon-") and len(r["pseudonym"]) == 25, r
assert r["actor"] == "cli" and r["reason"] == "request", r
assert r["wiped"]["address"] is True and r["wiped"]["field_values"] == 0, r
assert len(r["id"]) == 26 and r["erased_at"].endswith("Z"), r
' "$work/out" "$c2"; then
    ok "the JSON receipt parses and says what happened"
else
    not_ok "the JSON receipt parses and says what happened" "stdout: $(head -c 400 "$work/out")"
fi
expect_fail "a second forget is refused" 1 "erased" forget --account "$acct" an@forget.example.be --data-dir "$data"
expect_fail "an unknown address is refused" 1 "no contact" forget --account "$acct" nobody@forget.example.be --data-dir "$data"
expect_fail "a malformed address is refused" 1 "not a valid address" forget --account "$acct" "not an address" --data-dir "$data"
expect_fail "--account is required" 2 "required" forget an@forget.example.be --data-dir "$data"
expect_fail "the address is required" 2 "" forget --account "$acct" --data-dir "$data"
expect_fail "an unknown account" 1 "no account" forget --account 01AAAAAAAAAAAAAAAAAAAAAAAA an@forget.example.be --data-dir "$data"
check "the consent log still verifies" run 0 verify-log --account "$acct" --data-dir "$data"

# --- the erased address comes back in an import ---
printf 'email\nan@forget.example.be\ndi@forget.example.be\n' >"$work/back.csv"
check "an import with the erased address runs" run 0 import --account "$acct" --list "$list" \
    --basis consent --source "Beurs Gent" "$work/back.csv" --data-dir "$data"
out_has "it counts the erased address as suppressed" "added 1, updated 0, skipped 0, invalid 0, duplicates 0, suppressed 1"
out_has "the line says why" "line 2: suppressed: this address was erased or bounced before"
check "the erased address is no contact" test "$(db "SELECT count(*) FROM contacts WHERE status = 'active'")" = 2
expect_fail "the override needs a fresh statement" 1 "consent" import --account "$acct" --list "$list" \
    --override-suppression "$work/back.csv" --data-dir "$data"
check "--override-suppression with a fresh statement" run 0 import --account "$acct" --list "$list" \
    --basis consent --source "Asked to come back, Beurs Gent" --override-suppression "$work/back.csv" --data-dir "$data"
out_has "it adds the address again" "added 1, updated 0, skipped 1, invalid 0, duplicates 0, suppressed 0"
check "the address is a contact again" run 0 consent search --account "$acct" an@forget.example.be --data-dir "$data"
out_has "with its new history" "an@forget.example.be"
check "and can be forgotten again" run 0 forget --account "$acct" an@forget.example.be --data-dir "$data"

echo "1..$n"
