#!/usr/bin/env bash
# postbode export as an operator meets it: the exact CSV and JSON on stdout
# (sensitive values in clear, formulas neutralised), one audit entry per
# export with actor "cli", and every kind of bad input (missing options, a
# bad format, an unknown account, an unknown or another account's list, a
# stdout that cannot be written, a reader that went away). Prints TAP.
source "$(dirname "$0")/lib.sh" export
# expect_fail DESCRIPTION STATUS PATTERN ARGS...: a clear one-line error naming PATTERN, nothing on stdout.
expect_fail() {
    local d=$1 want=$2 pattern=$3; shift 3
    if run "$want" "$@" && grep -q -- "$pattern" "$work/err" && [ "$(wc -l <"$work/err")" -le 1 ] &&
        [ ! -s "$work/out" ]; then
        ok "$d"
    else
        not_ok "$d" "status $status (wanted $want)" "stderr: $(head -c 400 "$work/err")"
    fi
}
# same FILE TEXT: the file holds exactly TEXT (printf-style escapes allowed).
same() {
    local want
    want=$(mktemp "$work/want-XXXXXX")
    printf "$2" >"$want"
    if cmp -s "$1" "$want"; then return 0; fi
    echo "# got:" && od -c "$1" | head -20 | sed 's/^/#   /'
    echo "# wanted:" && od -c "$want" | head -20 | sed 's/^/#   /'
    return 1
}
# The detail of the newest audit entry of the export.
last_audit() {
    sqlite3 "$data/postbode.db" "SELECT actor_user_id || '|' || detail FROM audit_log
        WHERE action = 'contacts.exported' ORDER BY id DESC LIMIT 1"
}
audit_has() { [[ "$(last_audit)" == *"$1"* ]]; }
# One more entry than $before, and it says the export did not end.
audited_incomplete() { [ "$(audits)" -eq $((before + 1)) ] && audit_has '"complete":false,"actor":"cli"}'; }
audits() {
    sqlite3 "$data/postbode.db" "SELECT count(*) FROM audit_log WHERE action = 'contacts.exported'"
}


# --- an account with fields, a list and members, made through the API ---
data="$work/data"
run 0 init --data-dir "$data" || not_ok "init" "$(cat "$work/err")"
acct=$("$bin" account create "Export NV" --plan enterprise --data-dir "$data")
other=$("$bin" account create "Other BV" --data-dir "$data")
echo 'correct horse battery staple' | "$bin" user create --account "$acct" --role owner \
    owner@example.be --password-stdin --data-dir "$data" >/dev/null
echo 'correct horse battery staple' | "$bin" user create --account "$other" --role owner \
    owner@other.example.be --password-stdin --data-dir "$data" >/dev/null
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
csrf=$(api POST /session '{"email":"owner@other.example.be","password":"correct horse battery staple"}' |
    sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p')
other_list=$(api POST /lists '{"name":"Elders","public":false}' | id_of)
rm -f "$jar"
csrf=$(api POST /session '{"email":"owner@example.be","password":"correct horse battery staple"}' |
    sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p')
check "the owner logs in" test -n "$csrf"
api POST /fields '{"key":"city","label":"City","type":"text"}' >/dev/null
api POST /fields '{"key":"secret","label":"Secret","type":"text","sensitive":true}' >/dev/null
list=$(api POST /lists '{"name":"Nieuwsbrief","public":false}' | id_of)
check "a list is made" test -n "$list"
c1=$(api POST /contacts "{\"email\":\"an@example.be\",\"lists\":[\"$list\"],\"fields\":{\"city\":\"=1+1\",\"secret\":\"s1\"}}" | id_of)
c2=$(api POST /contacts "{\"email\":\"bo@example.be\",\"lists\":[\"$list\"],\"fields\":{\"city\":\"Gent, Oost-Vlaanderen\"}}" | id_of)
check "two members are added" test -n "$c1" -a -n "$c2"
kill -TERM "$server_pid"
wait "$server_pid"

# --- exports ---
check "export writes CSV by default" run 0 export --account "$acct" --list "$list" --data-dir "$data"
check "the CSV is exact (header, CRLF, quoting, the formula neutralised, the sealed value opened)" \
    same "$work/out" "email,city,secret\r\nan@example.be,'=1+1,s1\r\nbo@example.be,\"Gent, Oost-Vlaanderen\",\r\n"
check "nothing on stderr" test ! -s "$work/err"
check "the export is audited with actor cli" \
    test "$(last_audit)" = "|{\"list_id\":\"$list\",\"format\":\"csv\",\"rows\":2,\"complete\":true,\"actor\":\"cli\"}"

check "export --format json" run 0 export --account "$acct" --list "$list" --format json --data-dir "$data"
sed -E 's/"created_at":"[0-9T:Z-]{20}"/"created_at":"T"/' "$work/out" >"$work/json"
check "the JSON is exact" same "$work/json" \
    "[\n{\"id\":\"$c1\",\"email\":\"an@example.be\",\"fields\":{\"city\":\"=1+1\",\"secret\":\"s1\"},\"created_at\":\"T\"},\n{\"id\":\"$c2\",\"email\":\"bo@example.be\",\"fields\":{\"city\":\"Gent, Oost-Vlaanderen\"},\"created_at\":\"T\"}\n]\n"
check "the JSON export is audited" \
    test "$(last_audit)" = "|{\"list_id\":\"$list\",\"format\":\"json\",\"rows\":2,\"complete\":true,\"actor\":\"cli\"}"
check "--format=csv works too" run 0 export --account "$acct" --list "$list" --format=csv --data-dir "$data"
check "the address is not in the database in clear" bash -c "! cat '$data'/postbode.db* | grep -qa 'an@example.be'"

# --- bad input ---
before=$(audits)
expect_fail "--list is required" 2 "required" export --account "$acct" --data-dir "$data"
expect_fail "--account is required" 2 "required" export --list "$list" --data-dir "$data"
expect_fail "a bad format is named" 2 "--format is csv or json" export --account "$acct" --list "$list" --format xlsx --data-dir "$data"
expect_fail "an unknown option is named" 2 "unknown option --bogus" export --account "$acct" --list "$list" --bogus --data-dir "$data"
expect_fail "an unknown account" 1 "no account" export --account 01AAAAAAAAAAAAAAAAAAAAAAAA --list "$list" --data-dir "$data"
expect_fail "an unknown list" 1 "no list" export --account "$acct" --list 01AAAAAAAAAAAAAAAAAAAAAAAA --data-dir "$data"
expect_fail "a malformed list id" 1 "no list" export --account "$acct" --list nope --data-dir "$data"
expect_fail "another account's list" 1 "no list" export --account "$acct" --list "$other_list" --data-dir "$data"
expect_fail "an uninitialised data dir" 1 "run postbode init" export --account "$acct" --list "$list" --data-dir "$work/empty"
check "refused exports leave no audit entry" test "$(audits)" = "$before"

# --- a stdout that fails ---
before=$(audits)
"$bin" export --account "$acct" --list "$list" --data-dir "$data" >/dev/full 2>"$work/err"
status=$?
if [ "$status" -eq 1 ] && grep -q "cannot write the export" "$work/err"; then
    ok "a full disk: exit 1 with a clear message"
else
    not_ok "a full disk: exit 1 with a clear message" "status $status" "$(cat "$work/err")"
fi
check "and it is audited as incomplete" audited_incomplete
before=$(audits)
# A reader that is gone before the first byte: EPIPE, not a silent death by SIGPIPE.
{ sleep 0.5; "$bin" export --account "$acct" --list "$list" --data-dir "$data" 2>"$work/err"; } | true
status=${PIPESTATUS[0]}
if [ "$status" -eq 1 ] && grep -q "Broken pipe" "$work/err"; then
    ok "a closed pipe: exit 1 with a clear message"
else
    not_ok "a closed pipe: exit 1 with a clear message" "status $status" "$(cat "$work/err")"
fi
check "and it is audited as incomplete too" audited_incomplete

echo "1..$n"
