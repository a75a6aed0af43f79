#!/usr/bin/env bash
# The command line as an operator meets it: init, serve, migrate, account
# create, region, and every kind of bad input (unknown flags, bad or missing
# config, unwritable data dir, port in use, corrupt database). Prints TAP.
source "$(dirname "$0")/lib.sh" cli
# expect_fail DESCRIPTION STATUS PATTERN ARGS...: a clear one-line error naming PATTERN.
expect_fail() {
    local d=$1 want=$2 pattern=$3; shift 3
    if run "$want" "$@" && grep -q -- "$pattern" "$work/err" && [ "$(wc -l <"$work/err")" -le 2 ]; then
        ok "$d"
    else
        not_ok "$d" "status $status (wanted $want)" "stderr: $(head -c 400 "$work/err")"
    fi
}


# --- usage errors ---
expect_fail "unknown command is refused" 2 "unknown command" frobnicate
expect_fail "unknown flag is named" 2 "unknown option --bogus" init --bogus
expect_fail "flag without its value" 2 "needs a value" serve --listen
expect_fail "account without subcommand" 2 "subcommand" account
expect_fail "account create without a name" 2 "missing argument" account create --data-dir "$work/d0"
check "--help prints usage and succeeds" run 0 --help
check "command --help succeeds" run 0 serve --help

# --- configuration errors ---
expect_fail "missing config file is named" 1 "/nonexistent/postbode.conf" init --config /nonexistent/postbode.conf
printf '[server]\nlisten = 127.0.0.1:1\nfrobs = 3\n' >"$work/bad.conf"
expect_fail "unknown config key is named with its line" 1 "bad.conf:3: unknown configuration key \[server\] frobs" init --config "$work/bad.conf" --data-dir "$work/d1"
check "nothing was created after a config error" test ! -e "$work/d1"
printf '[server\n' >"$work/syntax.conf"
expect_fail "config syntax error names the line" 1 "syntax.conf:1: syntax error" init --config "$work/syntax.conf"
POSTBODE_SERVER_THREADS=zero expect_fail "bad environment override is named" 1 "POSTBODE_SERVER_THREADS" init --data-dir "$work/d1"

# --- init ---
data="$work/data"
check "init creates a data dir" run 0 init --data-dir "$data"
check "master key is mode 0600" test "$(stat -c %a "$data/master.key")" = 600
check "data dir is mode 0700" test "$(stat -c %a "$data")" = 700
check "TLS key is mode 0600" test "$(stat -c %a "$data/tls/key.pem")" = 600
check "certificate exists" test -s "$data/tls/cert.pem"
check "database exists" test -s "$data/postbode.db"
key_before=$(sha256sum "$data/master.key" "$data/tls/cert.pem")
check "init again succeeds" run 0 init --data-dir "$data"
check "init again keeps key and certificate" test "$key_before" = "$(sha256sum "$data/master.key" "$data/tls/cert.pem")"
check "init again says it kept them" grep -q "kept" "$work/out"

# --- migrate ---
check "migrate on an up-to-date store" run 0 migrate --data-dir "$data" --json
check "migrate --json reports versions" grep -qE '^\{"from":[0-9]+,"to":[0-9]+\}$' "$work/out"

# --- accounts and regions ---
check "account create --json prints an id" run 0 account create "Brasserie Ça Va" --plan enterprise --data-dir "$data" --json
check "account id is a 26-character id" grep -qE '^\{"id":"[0-9A-Z]{26}"' "$work/out"
check "account create prints the bare id" run 0 account create "Second" --data-dir "$data"
check "bare id output" grep -qE '^[0-9A-Z]{26}$' "$work/out"
acct=$(head -1 "$work/out")
expect_fail "unknown plan is refused" 1 "plan must be standard or enterprise" account create X --plan gold --data-dir "$data"
expect_fail "unknown region is refused" 1 "no region named" account create X --region mars --data-dir "$data"
expect_fail "empty account name is refused" 1 "account name" account create "" --data-dir "$data"
long_name=$(printf 'a%.0s' $(seq 1 101))
expect_fail "101-character account name is refused" 1 "account name" account create "$long_name" --data-dir "$data"
"$bin" account create "Enterprise NV" --plan enterprise --data-dir "$data" >"$work/ent" 2>&1
ent=$(head -1 "$work/ent")
check "user create with --password-stdin" bash -c "echo 'correct horse battery staple' | '$bin' user create --account '$ent' --role owner owner@example.be --password-stdin --data-dir '$data' --json >'$work/out' 2>'$work/err'"
check "user create --json prints the user" grep -qE '^\{"id":"[0-9A-Z]{26}","email":"owner@example.be","role":"owner"\}$' "$work/out"
check "user create without a password prints a set-password link" run 0 user create --account "$ent" --role author Author@Example.BE --data-dir "$data"
check "the link carries the token in the fragment" grep -qE '^https://localhost:8443/reset-password#token=[A-Za-z0-9_-]{43}$' "$work/out"
expect_fail "a duplicate email is refused" 1 "exists already" user create --account "$ent" --role admin author@example.be --data-dir "$data"
expect_fail "an unknown role is refused" 1 "owner, admin or author" user create --account "$ent" --role boss x@example.be --data-dir "$data"
expect_fail "author needs an enterprise account" 1 "enterprise" user create --account "$acct" --role author y@example.be --data-dir "$data"
echo "passwordpassword" | "$bin" user create --account "$ent" --role admin z@example.be --password-stdin --data-dir "$data" >"$work/out" 2>"$work/err"
if [ $? -eq 1 ] && grep -q "commonly used" "$work/err"; then ok "a common password is refused"; else not_ok "a common password is refused" "$(cat "$work/err")"; fi
echo "short" | "$bin" user create --account "$ent" --role admin z@example.be --password-stdin --data-dir "$data" >"$work/out" 2>"$work/err"
if [ $? -eq 1 ] && grep -q "at least 12" "$work/err"; then ok "a short password is refused"; else not_ok "a short password is refused" "$(cat "$work/err")"; fi
expect_fail "an invalid email is refused" 1 "name@example.org" user create --account "$ent" --role admin not-an-email --data-dir "$data"
expect_fail "an unknown account is refused" 1 "no account" user create --account 01AAAAAAAAAAAAAAAAAAAAAAAA --role admin q@example.be --data-dir "$data"
expect_fail "user create needs --account and --role" 2 "required" user create q@example.be --data-dir "$data"
check "the password is not stored in clear (database and WAL)" bash -c "! cat '$data'/postbode.db* | grep -qa 'correct horse battery staple'"
check "region list shows local" run 0 region list --data-dir "$data"
check "local region listed" grep -q "^local" "$work/out"
check "region add with a SQLite store" run 0 region add eu-west "sqlite:$work/eu-west.db" --data-dir "$data"
check "account placed in the new region" run 0 account create "Regional" --region eu-west --data-dir "$data"
expect_fail "region add with a bad URL" 1 "store URL" region add bad "mysql://x" --data-dir "$data"
expect_fail "region add with a bad name" 1 "region name" region add "Bad Name" "sqlite:$work/x.db" --data-dir "$data"
expect_fail "account create on an uninitialised dir" 1 "run postbode init" account create X --data-dir "$work/empty"
check "and it created no database there" test ! -e "$work/empty/postbode.db"

# --- data dir without write permission ---
ro="$work/readonly"
mkdir -p "$ro" && chmod 555 "$ro"
as_other=()
if [ "$(id -u)" -eq 0 ]; then
    as_other=(runuser -u nobody --)
fi
"${as_other[@]}" "$bin" init --data-dir "$ro/data" >"$work/out" 2>"$work/err"
status=$?
if [ "$status" -eq 1 ] && grep -q "$ro/data" "$work/err" && [ ! -e "$ro/data" ]; then
    ok "unwritable parent: clear error, nothing created"
else
    not_ok "unwritable parent: clear error, nothing created" "status $status" "$(cat "$work/err")"
fi
touch "$work/plainfile"
expect_fail "data dir below a file" 1 "plainfile" init --data-dir "$work/plainfile/data"

# --- corrupt database ---
bad="$work/corrupt"
run 0 init --data-dir "$bad"
head -c 8192 /dev/urandom >"$bad/postbode.db"
rm -f "$bad/postbode.db-wal" "$bad/postbode.db-shm"
expect_fail "corrupt database is named" 1 "postbode.db" account create X --data-dir "$bad"
expect_fail "serve refuses a corrupt database" 1 "postbode.db" serve --data-dir "$bad" --listen 127.0.0.1:0

# --- serve ---
port=$("$freeport")
if start_server "$work/serve.log" --data-dir "$data" --listen "127.0.0.1:$port"; then
    ok "serve starts and says so"
else
    not_ok "serve starts and says so" "$(tail -5 "$work/serve.log")"
fi
body=$(curl -sS --cacert "$data/tls/cert.pem" "https://localhost:$port/healthz" 2>&1)
check "healthz over verified HTTPS" test "$body" = '{"status":"ok"}'
check "the access log names the route, not a query" bash -c "curl -sS --cacert '$data/tls/cert.pem' 'https://localhost:$port/healthz?email=someone@example.org' >/dev/null; sleep 0.3; grep -q 'GET /healthz 200' '$work/serve.log' && ! grep -q 'someone@example.org' '$work/serve.log'"
expect_fail "a port in use is named" 1 "in use" serve --data-dir "$data" --listen "127.0.0.1:$port"

# A contact added through the API, then its history and the log from the CLI.
api() { # METHOD PATH [BODY]: one API call with the session of $work/jar; prints the body
    curl -sS --cacert "$data/tls/cert.pem" -b "$work/jar" -c "$work/jar" -X "$1" \
        -H 'Content-Type: application/json' -H "X-CSRF-Token: ${csrf:-}" \
        ${3:+--data "$3"} "https://localhost:$port/api/v1$2"
}
csrf=$(api POST /session '{"email":"owner@example.be","password":"correct horse battery staple"}' |
    sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p')
check "the owner logs in through the API" test -n "$csrf"
list=$(api POST /lists '{"name":"Nieuwsbrief","public":true}' | sed -n 's/.*"id":"\([0-9A-Z]*\)".*/\1/p')
check "a public list is created" test -n "$list"
api POST /contacts "{\"email\":\"Jan.Peeters@Example.be\",\"lists\":[\"$list\"],\"consent\":{\"basis\":\"consent\",\"description\":\"Beurs Gent 2026, signed form\"}}" >"$work/contact"
check "a contact is added with its consent statement" grep -q '"id"' "$work/contact"
check "consent search shows the history" run 0 consent search --account "$ent" jan.peeters@example.BE --data-dir "$data"
check "the history names the statement" grep -q "consent: Beurs Gent 2026, signed form" "$work/out"
check "the history has the added and subscribed events" bash -c "grep -q ' added ' '$work/out' && grep -q ' subscribed ' '$work/out'"
check "consent search --json" run 0 consent search --account "$ent" jan.peeters@example.be --json --data-dir "$data"
check "the JSON history is found" grep -q '"found":true' "$work/out"
check "an unknown address has no history" run 0 consent search --account "$ent" nobody@example.be --data-dir "$data"
check "and says so" grep -q "no contact" "$work/out"
expect_fail "consent search needs --account" 2 "required" consent search x@example.be --data-dir "$data"
check "verify-log finds the chain intact" run 0 verify-log --account "$ent" --data-dir "$data"
check "verify-log counts the events" grep -q "intact: 2 events" "$work/out"
check "the address is not in the database in clear" bash -c "! cat '$data'/postbode.db* | grep -qai 'jan.peeters@example.be'"
kill -TERM "$server_pid"
wait "$server_pid"
check "SIGTERM stops serve cleanly (exit 0)" test $? -eq 0
check "serve logged its stop" grep -q "stopped" "$work/serve.log"
sqlite3 "$data/postbode.db" "UPDATE consent_events SET type = 'unsubscribed' WHERE seq = 2" 2>>"$work/err"
check "verify-log detects an edited event (exit 1)" run 1 verify-log --account "$ent" --data-dir "$data"
check "and names it" grep -q "event 2" "$work/out"
sqlite3 "$data/postbode.db" "UPDATE consent_events SET type = 'subscribed' WHERE seq = 2" 2>>"$work/err"
check "put back, the chain verifies again" run 0 verify-log --account "$ent" --data-dir "$data"
sqlite3 "$data/postbode.db" "DELETE FROM consent_events WHERE seq = 2" 2>>"$work/err"
check "verify-log detects a removed newest event (exit 1)" run 1 verify-log --account "$ent" --data-dir "$data"
check "and says the newest events are missing" grep -q "newest events are missing" "$work/out"

fresh="$work/fresh"
port=$("$freeport")
if start_server "$work/fresh.log" --data-dir "$fresh" --listen "127.0.0.1:$port"; then
    ok "serve initialises an empty data dir on first start"
else
    not_ok "serve initialises an empty data dir on first start" "$(tail -5 "$work/fresh.log")"
fi
check "first start created the master key with mode 0600" test "$(stat -c %a "$fresh/master.key" 2>/dev/null)" = 600
kill -INT "$server_pid"
wait "$server_pid"
check "SIGINT stops serve cleanly (exit 0)" test $? -eq 0

echo "1..$n"
