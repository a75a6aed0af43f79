/*
 * The PostgreSQL schema: numbered migrations compiled into the binary,
 * applied together in one transaction under an advisory lock (so that two
 * nodes migrating at once take turns) and recorded in schema_version.
 * Migration N is migrations[N - 1]; append only, never edit a published one.
 */
#include "store/pg/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

/* The advisory lock key: "postbode" read as a big-endian 64-bit integer. */
#define MIGRATION_LOCK "8101821198367679589"

static const char *const migrations[] = {
    /* 1: the control store (keys collate as bytes, like SQLite, for keyset paging) */
    "CREATE TABLE schema_version ("
    "  version INTEGER PRIMARY KEY,"
    "  applied_at BIGINT NOT NULL);"
    "CREATE TABLE accounts ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  plan TEXT NOT NULL CHECK (plan IN ('standard', 'enterprise')),"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE regions ("
    "  name TEXT COLLATE \"C\" PRIMARY KEY,"
    "  url TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE placements ("
    "  account_id TEXT COLLATE \"C\" PRIMARY KEY REFERENCES accounts(id),"
    "  region TEXT COLLATE \"C\" NOT NULL REFERENCES regions(name),"
    "  updated_at BIGINT NOT NULL);"
    "CREATE INDEX placements_region ON placements(region);",

    /* 2: users and what authenticates them, the audit log, throttling, the outbox */
    "ALTER TABLE accounts ADD COLUMN data_key BYTEA,"
    "  ADD COLUMN require_2fa BOOLEAN NOT NULL DEFAULT false;"
    "CREATE TABLE users ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  account_id TEXT COLLATE \"C\" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  email TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'author')),"
    "  password_hash TEXT NOT NULL DEFAULT '',"
    "  totp_secret BYTEA,"
    "  totp_enabled BOOLEAN NOT NULL DEFAULT false,"
    "  totp_last_step BIGINT NOT NULL DEFAULT -1,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX users_account ON users(account_id, id);"
    "CREATE TABLE sessions ("
    "  token_hash BYTEA PRIMARY KEY,"
    "  user_id TEXT COLLATE \"C\" NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  mfa_pending BOOLEAN NOT NULL DEFAULT false,"
    "  created_at BIGINT NOT NULL,"
    "  last_seen_at BIGINT NOT NULL);"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE TABLE recovery_codes ("
    "  user_id TEXT COLLATE \"C\" NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  code_hash BYTEA NOT NULL,"
    "  used_at BIGINT,"
    "  PRIMARY KEY (user_id, code_hash));"
    "CREATE TABLE password_resets ("
    "  token_hash BYTEA PRIMARY KEY,"
    "  user_id TEXT COLLATE \"C\" NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  expires_at BIGINT NOT NULL,"
    "  used_at BIGINT);"
    "CREATE INDEX password_resets_user ON password_resets(user_id);"
    "CREATE TABLE api_keys ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  user_id TEXT COLLATE \"C\" NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  token_hash BYTEA NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  last_used_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX api_keys_user ON api_keys(user_id, id);"
    "CREATE TABLE audit_log ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  account_id TEXT COLLATE \"C\" NOT NULL DEFAULT '',"
    "  actor_user_id TEXT COLLATE \"C\" NOT NULL DEFAULT '',"
    "  action TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '{}',"
    "  client_ip TEXT NOT NULL DEFAULT '',"
    "  at BIGINT NOT NULL);"
    "CREATE INDEX audit_log_account ON audit_log(account_id, id);"
    "CREATE TABLE login_throttle ("
    "  key TEXT COLLATE \"C\" PRIMARY KEY,"
    "  failures INTEGER NOT NULL,"
    "  last_failure_at BIGINT NOT NULL);"
    "CREATE TABLE mail_outbox ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  recipient TEXT NOT NULL,"
    "  sealed BYTEA NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at BIGINT NOT NULL);"
    "CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at, id);",

    /*
     * 3: tenant data (keys collate as bytes): fields, lists, contacts with
     * their values and memberships, consent statements, evidence and the consent log. No
     * foreign key to accounts: a tenant store in another region has none.
     */
    "CREATE TABLE fields ("
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  key TEXT COLLATE \"C\" NOT NULL,"
    "  label TEXT NOT NULL,"
    "  type TEXT NOT NULL CHECK (type IN ('text', 'number', 'date', 'bool')),"
    "  sensitive BOOLEAN NOT NULL DEFAULT false,"
    "  created_at BIGINT NOT NULL,"
    "  PRIMARY KEY (account_id, key));"
    "CREATE TABLE lists ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  name TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  public BOOLEAN NOT NULL DEFAULT false,"
    "  member_count BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX lists_account ON lists(account_id, id);"
    "CREATE TABLE contacts ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  email_sealed BYTEA,"
    "  email_bidx BYTEA,"
    "  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'erased')),"
    "  pseudonym TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  UNIQUE (account_id, email_bidx));"
    "CREATE INDEX contacts_account ON contacts(account_id, id);"
    "CREATE TABLE contact_values ("
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  contact_id TEXT COLLATE \"C\" NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
    "  field_key TEXT COLLATE \"C\" NOT NULL,"
    "  value_text TEXT,"
    "  value_sealed BYTEA,"
    "  PRIMARY KEY (contact_id, field_key));"
    "CREATE INDEX contact_values_field ON contact_values(account_id, field_key, contact_id);"
    "CREATE TABLE memberships ("
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  list_id TEXT COLLATE \"C\" NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
    "  contact_id TEXT COLLATE \"C\" NOT NULL REFERENCES contacts(id),"
    "  status TEXT NOT NULL CHECK (status IN ('subscribed', 'unsubscribed')),"
    "  statement_id TEXT,"
    "  since BIGINT NOT NULL,"
    "  PRIMARY KEY (list_id, contact_id));"
    "CREATE INDEX memberships_contact ON memberships(contact_id);"
    "CREATE TABLE evidence ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  sha256 BYTEA NOT NULL,"
    "  type TEXT NOT NULL,"
    "  size BIGINT NOT NULL,"
    "  sealed BYTEA NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  UNIQUE (account_id, sha256));"
    "CREATE TABLE consent_statements ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  basis TEXT NOT NULL CHECK (basis IN ('consent', 'contract', 'legal_obligation',"
    "    'vital_interests', 'public_task', 'legitimate_interests')),"
    "  description TEXT NOT NULL,"
    "  created_by TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX consent_statements_account ON consent_statements(account_id, id);"
    "CREATE TABLE statement_evidence ("
    "  statement_id TEXT COLLATE \"C\" NOT NULL"
    "    REFERENCES consent_statements(id) ON DELETE CASCADE,"
    "  evidence_id TEXT COLLATE \"C\" NOT NULL REFERENCES evidence(id),"
    "  PRIMARY KEY (statement_id, evidence_id));"
    "CREATE INDEX statement_evidence_evidence ON statement_evidence(evidence_id);"
    "CREATE TABLE consent_events ("
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  seq BIGINT NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  type TEXT NOT NULL,"
    "  contact_id TEXT COLLATE \"C\" NOT NULL,"
    "  list_id TEXT,"
    "  statement_id TEXT,"
    "  channel TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  at BIGINT NOT NULL,"
    "  prev_hash BYTEA NOT NULL,"
    "  hash BYTEA NOT NULL,"
    "  PRIMARY KEY (account_id, seq));"
    "CREATE INDEX consent_events_contact ON consent_events(account_id, contact_id, seq);"
    "CREATE TABLE consent_event_personal ("
    "  event_id TEXT COLLATE \"C\" PRIMARY KEY REFERENCES consent_events(id),"
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  client_ip TEXT,"
    "  user_agent TEXT,"
    "  note TEXT);",
    /* 4: jobs, long tasks under a lease (issue 5). */
    "CREATE TABLE jobs ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  params TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),"
    "  progress_done BIGINT NOT NULL DEFAULT 0,"
    "  progress_total BIGINT NOT NULL DEFAULT 0,"
    "  cursor TEXT,"
    "  result TEXT,"
    "  error TEXT,"
    "  lease_owner TEXT,"
    "  lease_until BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE INDEX jobs_claim ON jobs(state, lease_until);"
    "CREATE INDEX jobs_account ON jobs(account_id, id);",
    /* 5: the head of each account's consent chain, so removing the newest events shows. */
    "CREATE TABLE consent_heads ("
    "  account_id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  seq BIGINT NOT NULL,"
    "  hash BYTEA NOT NULL);"
    "INSERT INTO consent_heads (account_id, seq, hash)"
    "  SELECT DISTINCT ON (account_id) account_id, seq, hash FROM consent_events"
    "  ORDER BY account_id, seq DESC;",
    /*
     * 6: imports (issue 5): what caused an event (the import job), the sealed
     * chunks of an uploaded file while it is imported, and the lines rejected.
     */
    "ALTER TABLE consent_events ADD COLUMN ref TEXT;"
    "CREATE TABLE import_chunks ("
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  import_id TEXT COLLATE \"C\" NOT NULL,"
    "  n BIGINT NOT NULL,"
    "  sealed BYTEA NOT NULL,"
    "  PRIMARY KEY (import_id, n));"
    "CREATE TABLE import_rejects ("
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  import_id TEXT COLLATE \"C\" NOT NULL,"
    "  line BIGINT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  PRIMARY KEY (import_id, line));",
    /*
     * 7: campaigns and sending (issue 6): relays, DKIM keys, campaigns with
     * their lists, links, recipients and clicks; suppression; tracking mode.
     */
    "ALTER TABLE accounts ADD COLUMN tracking TEXT NOT NULL DEFAULT 'aggregate'  CHECK (tracking "
    "IN ('off', 'aggregate', 'individual'));"
    "ALTER TABLE contacts ADD COLUMN suppressed_at BIGINT NOT NULL DEFAULT 0;"
    "CREATE TABLE smtp_relays ("
    "  account_id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  host TEXT NOT NULL,"
    "  port INTEGER NOT NULL,"
    "  tls TEXT NOT NULL CHECK (tls IN ('starttls', 'smtps', 'none')),"
    "  username TEXT,"
    "  password_sealed BYTEA,"
    "  max_connections INTEGER NOT NULL,"
    "  rate_per_second INTEGER NOT NULL,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE TABLE dkim_keys ("
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  domain TEXT COLLATE \"C\" NOT NULL,"
    "  selector TEXT COLLATE \"C\" NOT NULL,"
    "  algorithm TEXT NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),"
    "  private_sealed BYTEA NOT NULL,"
    "  public_key TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  PRIMARY KEY (account_id, domain, selector));"
    "CREATE TABLE campaigns ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  name TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  from_addr TEXT NOT NULL,"
    "  reply_to TEXT,"
    "  html TEXT NOT NULL,"
    "  text_body TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('draft', 'scheduled', 'sending', 'paused', 'sent',    "
    "'cancelled', 'failed')),"
    "  scheduled_at BIGINT NOT NULL DEFAULT 0,"
    "  prepared BOOLEAN NOT NULL DEFAULT false,"
    "  rate_per_minute INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT,"
    "  created_by TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  started_at BIGINT NOT NULL DEFAULT 0,"
    "  finished_at BIGINT NOT NULL DEFAULT 0,"
    "  recipients BIGINT NOT NULL DEFAULT 0,"
    "  sent BIGINT NOT NULL DEFAULT 0,"
    "  deferred BIGINT NOT NULL DEFAULT 0,"
    "  failed BIGINT NOT NULL DEFAULT 0,"
    "  bounced BIGINT NOT NULL DEFAULT 0,"
    "  opens_unique BIGINT NOT NULL DEFAULT 0,"
    "  opens_total BIGINT NOT NULL DEFAULT 0,"
    "  clicks_unique BIGINT NOT NULL DEFAULT 0,"
    "  clicks_total BIGINT NOT NULL DEFAULT 0,"
    "  unsubscribes BIGINT NOT NULL DEFAULT 0,"
    "  reclaimed BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX campaigns_account ON campaigns(account_id, id);"
    "CREATE INDEX campaigns_state ON campaigns(state, scheduled_at);"
    "CREATE TABLE campaign_lists ("
    "  campaign_id TEXT COLLATE \"C\" NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
    "  list_id TEXT COLLATE \"C\" NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  PRIMARY KEY (campaign_id, list_id));"
    "CREATE INDEX campaign_lists_list ON campaign_lists(list_id);"
    "CREATE TABLE campaign_links ("
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  campaign_id TEXT COLLATE \"C\" NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
    "  n INTEGER NOT NULL,"
    "  url TEXT NOT NULL,"
    "  clicks_unique BIGINT NOT NULL DEFAULT 0,"
    "  clicks_total BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (campaign_id, n));"
    "CREATE TABLE campaign_recipients ("
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  campaign_id TEXT COLLATE \"C\" NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
    "  contact_id TEXT COLLATE \"C\" NOT NULL REFERENCES contacts(id),"
    "  state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'deferred', 'failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at BIGINT NOT NULL DEFAULT 0,"
    "  lease_owner TEXT,"
    "  lease_until BIGINT NOT NULL DEFAULT 0,"
    "  error TEXT,"
    "  sent_at BIGINT NOT NULL DEFAULT 0,"
    "  opens INTEGER NOT NULL DEFAULT 0,"
    "  first_open_at BIGINT NOT NULL DEFAULT 0,"
    "  clicks INTEGER NOT NULL DEFAULT 0,"
    "  unsubscribed_at BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (campaign_id, contact_id));"
    "CREATE INDEX campaign_recipients_state ON campaign_recipients(campaign_id, state, contact_id);"
    "CREATE INDEX campaign_recipients_contact ON campaign_recipients(contact_id);"
    "CREATE INDEX campaign_recipients_sent ON campaign_recipients(campaign_id, sent_at);"
    "CREATE TABLE campaign_clicks ("
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  campaign_id TEXT COLLATE \"C\" NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
    "  contact_id TEXT COLLATE \"C\" NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  clicks INTEGER NOT NULL DEFAULT 0,"
    "  first_at BIGINT NOT NULL,"
    "  PRIMARY KEY (campaign_id, contact_id, n));"
    "CREATE TABLE suppressions ("
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  hash BYTEA NOT NULL,"
    "  reason TEXT NOT NULL CHECK (reason IN ('bounce', 'erasure', 'complaint', 'manual')),"
    "  created_at BIGINT NOT NULL,"
    "  PRIMARY KEY (account_id, hash));",
    /*
     * 8: erasure and storage limitation (issue 7): the receipts, the
     * accounts' storage limits, the status "unconfirmed" (a double opt-in
     * pending) and indexes on the statements memberships and events name
     * (an erasure asks which contacts use a statement). Those two columns
     * have the database's default collation: the queries probing them say
     * COLLATE "default" where the other side is "C", or the index is unusable.
     */
    "CREATE TABLE erasures ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  account_id TEXT COLLATE \"C\" NOT NULL,"
    "  contact_id TEXT COLLATE \"C\" NOT NULL REFERENCES contacts(id),"
    "  pseudonym TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  reason TEXT NOT NULL CHECK (reason IN ('request', 'storage_limitation')),"
    "  wiped TEXT NOT NULL DEFAULT '{}',"
    "  erased_at BIGINT NOT NULL);"
    "CREATE INDEX erasures_account ON erasures(account_id, id);"
    "CREATE INDEX erasures_contact ON erasures(account_id, contact_id);"
    "ALTER TABLE accounts"
    "  ADD COLUMN erase_unlisted_days INTEGER NOT NULL DEFAULT 0"
    "    CHECK (erase_unlisted_days >= 0),"
    "  ADD COLUMN erase_unconfirmed_days INTEGER NOT NULL DEFAULT 0"
    "    CHECK (erase_unconfirmed_days >= 0),"
    "  ADD COLUMN storage_checked_at BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE memberships DROP CONSTRAINT memberships_status_check,"
    "  ADD CONSTRAINT memberships_status_check"
    "    CHECK (status IN ('subscribed', 'unsubscribed', 'unconfirmed'));"
    "CREATE INDEX memberships_statement ON memberships(statement_id, contact_id)"
    "  WHERE statement_id IS NOT NULL;"
    "CREATE INDEX consent_events_statement ON consent_events(statement_id, contact_id)"
    "  WHERE statement_id IS NOT NULL;",
};

#define LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

enum pb_qs
pb_pg_schema_version(struct pb_conn *conn, int *version)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    PGresult *res;
    enum pb_qs qs;

    *version = 0;
    qs = pb_pg_exec(c, PB_PG_VERSION_TABLE, "pb_version_table",
                    "SELECT to_regclass('schema_version') IS NOT NULL", 0, NULL, &res);
    if (qs < 0)
        return qs;
    bool exists = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!exists)
        return PB_QS_ONE;

    qs = pb_pg_exec(c, PB_PG_VERSION_MAX, "pb_version_max",
                    "SELECT COALESCE(MAX(version), 0) FROM schema_version", 0, NULL, &res);
    if (qs < 0)
        return qs;
    *version = (int)pb_pg_int64(res, 0, 0);
    PQclear(res);
    return PB_QS_ONE;
}

/* Runs one statement of the migration; false (with `why` filled) on failure. */
static bool
run(struct pb_pg_conn *c, PGresult *res, const char *what, char why[PB_WHY_MAX])
{
    ExecStatusType status = PQresultStatus(res);
    bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (!ok) {
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        snprintf(why, PB_WHY_MAX, "%s on PostgreSQL %s failed: %.*s", what, c->where,
                 msg ? (int)strlen(msg) : (int)strcspn(PQerrorMessage(c->pg), "\n"),
                 msg ? msg : PQerrorMessage(c->pg));
    }
    PQclear(res);
    return ok;
}

enum pb_err
pb_pg_migrate(struct pb_conn *conn, int *from, int *to, char why[PB_WHY_MAX])
{
    return pb_pg_migrate_to(conn, LATEST, from, to, why);
}

enum pb_err
pb_pg_migrate_to(struct pb_conn *conn, int target, int *from, int *to, char why[PB_WHY_MAX])
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    enum pb_err err = PB_ERR_STORE_MIGRATION;
    int version = 0;
    char what[64];

    *from = *to = 0;
    if (!pb_pg_ensure_alive(c)) {
        snprintf(why, PB_WHY_MAX, "lost the connection to PostgreSQL %s", c->where);
        return PB_ERR_STORE_OPEN;
    }
    if (!run(c, PQexec(c->pg, "BEGIN"), "starting the migration", why))
        goto out;
    if (!run(c, PQexec(c->pg, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")"),
             "taking the migration lock", why))
        goto out;
    if (pb_pg_schema_version(conn, &version) < 0) {
        snprintf(why, PB_WHY_MAX, "cannot read the schema version of PostgreSQL %s", c->where);
        goto out;
    }
    *from = *to = version;
    if (version > LATEST) {
        snprintf(why, PB_WHY_MAX,
                 "PostgreSQL %s is at schema version %d, but this postbode knows only up to "
                 "%d; upgrade postbode",
                 c->where, version, LATEST);
        err = PB_ERR_STORE_TOO_NEW;
        goto out;
    }
    if (target > LATEST)
        target = LATEST;
    for (int v = version + 1; v <= target; v++) {
        snprintf(what, sizeof(what), "migration %d", v);
        if (!run(c, PQexec(c->pg, migrations[v - 1]), what, why))
            goto out;
        char vtext[16], now[24];
        snprintf(vtext, sizeof(vtext), "%d", v);
        snprintf(now, sizeof(now), "%lld", (long long)pb_clock_now());
        const char *const params[] = {vtext, now};
        if (!run(c,
                 PQexecParams(c->pg,
                              "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)", 2,
                              NULL, params, NULL, NULL, 0),
                 what, why))
            goto out;
    }
    if (!run(c, PQexec(c->pg, "COMMIT"), "committing the migrations", why))
        goto out;
    *to = version > target ? version : target;
    err = PB_ERR_OK;
out:
    if (err != PB_ERR_OK && PQstatus(c->pg) == CONNECTION_OK &&
        PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        PQclear(PQexec(c->pg, "ROLLBACK"));
    return err;
}
