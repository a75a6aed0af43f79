/*
 * The SQLite schema: numbered migrations compiled into the binary, applied
 * together in one transaction and recorded in the schema_version table.
 * Migration N is migrations[N - 1]; append only, never edit a published one.
 */
#include "store/sqlite/sqlite_internal.h"

#include <stdio.h>

#include "core/clock.h"

static const char *const migrations[] = {
    /* 1: the control store */
    "CREATE TABLE schema_version ("
    "  version INTEGER PRIMARY KEY,"
    "  applied_at BIGINT NOT NULL);"
    "CREATE TABLE accounts ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  plan TEXT NOT NULL CHECK (plan IN ('standard', 'enterprise')),"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE regions ("
    "  name TEXT PRIMARY KEY,"
    "  url TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE placements ("
    "  account_id TEXT PRIMARY KEY REFERENCES accounts(id),"
    "  region TEXT NOT NULL REFERENCES regions(name),"
    "  updated_at BIGINT NOT NULL);"
    "CREATE INDEX placements_region ON placements(region);",

    /* 2: users and what authenticates them, the audit log, throttling, the outbox */
    "ALTER TABLE accounts ADD COLUMN data_key BLOB;"
    "ALTER TABLE accounts ADD COLUMN require_2fa INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE users ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  email TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'author')),"
    "  password_hash TEXT NOT NULL DEFAULT '',"
    "  totp_secret BLOB,"
    "  totp_enabled INTEGER NOT NULL DEFAULT 0,"
    "  totp_last_step BIGINT NOT NULL DEFAULT -1,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX users_account ON users(account_id, id);"
    "CREATE TABLE sessions ("
    "  token_hash BLOB PRIMARY KEY,"
    "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  mfa_pending INTEGER NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL,"
    "  last_seen_at BIGINT NOT NULL);"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE TABLE recovery_codes ("
    "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  code_hash BLOB NOT NULL,"
    "  used_at BIGINT,"
    "  PRIMARY KEY (user_id, code_hash));"
    "CREATE TABLE password_resets ("
    "  token_hash BLOB PRIMARY KEY,"
    "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  expires_at BIGINT NOT NULL,"
    "  used_at BIGINT);"
    "CREATE INDEX password_resets_user ON password_resets(user_id);"
    "CREATE TABLE api_keys ("
    "  id TEXT PRIMARY KEY,"
    "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  token_hash BLOB NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  last_used_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX api_keys_user ON api_keys(user_id, id);"
    "CREATE TABLE audit_log ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL DEFAULT '',"
    "  actor_user_id TEXT NOT NULL DEFAULT '',"
    "  action TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '{}',"
    "  client_ip TEXT NOT NULL DEFAULT '',"
    "  at BIGINT NOT NULL);"
    "CREATE INDEX audit_log_account ON audit_log(account_id, id);"
    "CREATE TABLE login_throttle ("
    "  key TEXT PRIMARY KEY,"
    "  failures INTEGER NOT NULL,"
    "  last_failure_at BIGINT NOT NULL);"
    "CREATE TABLE mail_outbox ("
    "  id TEXT PRIMARY KEY,"
    "  recipient TEXT NOT NULL,"
    "  sealed BLOB NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at BIGINT NOT NULL);"
    "CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at, id);",

    /*
     * 3: tenant data: fields, lists, contacts with their values and
     * memberships, consent statements, evidence and the consent log. No
     * foreign key to accounts: a tenant store in another region has none.
     */
    "CREATE TABLE fields ("
    "  account_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  label TEXT NOT NULL,"
    "  type TEXT NOT NULL CHECK (type IN ('text', 'number', 'date', 'bool')),"
    "  sensitive INTEGER NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL,"
    "  PRIMARY KEY (account_id, key));"
    "CREATE TABLE lists ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  public INTEGER NOT NULL DEFAULT 0,"
    "  member_count BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX lists_account ON lists(account_id, id);"
    "CREATE TABLE contacts ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL,"
    "  email_sealed BLOB,"
    "  email_bidx BLOB,"
    "  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'erased')),"
    "  pseudonym TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  UNIQUE (account_id, email_bidx));"
    "CREATE INDEX contacts_account ON contacts(account_id, id);"
    "CREATE TABLE contact_values ("
    "  account_id TEXT NOT NULL,"
    "  contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
    "  field_key TEXT NOT NULL,"
    "  value_text TEXT,"
    "  value_sealed BLOB,"
    "  PRIMARY KEY (contact_id, field_key));"
    "CREATE INDEX contact_values_field ON contact_values(account_id, field_key, contact_id);"
    "CREATE TABLE memberships ("
    "  account_id TEXT NOT NULL,"
    "  list_id TEXT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
    "  contact_id TEXT NOT NULL REFERENCES contacts(id),"
    "  status TEXT NOT NULL CHECK (status IN ('subscribed', 'unsubscribed')),"
    "  statement_id TEXT,"
    "  since BIGINT NOT NULL,"
    "  PRIMARY KEY (list_id, contact_id));"
    "CREATE INDEX memberships_contact ON memberships(contact_id);"
    "CREATE TABLE evidence ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL,"
    "  sha256 BLOB NOT NULL,"
    "  type TEXT NOT NULL,"
    "  size BIGINT NOT NULL,"
    "  sealed BLOB NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  UNIQUE (account_id, sha256));"
    "CREATE TABLE consent_statements ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL,"
    "  basis TEXT NOT NULL CHECK (basis IN ('consent', 'contract', 'legal_obligation',"
    "    'vital_interests', 'public_task', 'legitimate_interests')),"
    "  description TEXT NOT NULL,"
    "  created_by TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX consent_statements_account ON consent_statements(account_id, id);"
    "CREATE TABLE statement_evidence ("
    "  statement_id TEXT NOT NULL REFERENCES consent_statements(id) ON DELETE CASCADE,"
    "  evidence_id TEXT NOT NULL REFERENCES evidence(id),"
    "  PRIMARY KEY (statement_id, evidence_id));"
    "CREATE INDEX statement_evidence_evidence ON statement_evidence(evidence_id);"
    "CREATE TABLE consent_events ("
    "  account_id TEXT NOT NULL,"
    "  seq BIGINT NOT NULL,"
    "  id TEXT NOT NULL UNIQUE,"
    "  type TEXT NOT NULL,"
    "  contact_id TEXT NOT NULL,"
    "  list_id TEXT,"
    "  statement_id TEXT,"
    "  channel TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  at BIGINT NOT NULL,"
    "  prev_hash BLOB NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  PRIMARY KEY (account_id, seq));"
    "CREATE INDEX consent_events_contact ON consent_events(account_id, contact_id, seq);"
    "CREATE TABLE consent_event_personal ("
    "  event_id TEXT PRIMARY KEY REFERENCES consent_events(id),"
    "  account_id TEXT NOT NULL,"
    "  client_ip TEXT,"
    "  user_agent TEXT,"
    "  note TEXT);",
    /* 4: jobs, long tasks under a lease (issue 5). */
    "CREATE TABLE jobs ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL,"
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
    "  account_id TEXT PRIMARY KEY,"
    "  seq BIGINT NOT NULL,"
    "  hash BLOB NOT NULL);"
    "INSERT INTO consent_heads (account_id, seq, hash)"
    "  SELECT account_id, seq, hash FROM consent_events e"
    "  WHERE seq = (SELECT max(seq) FROM consent_events WHERE account_id = e.account_id);",
    /*
     * 6: imports (issue 5): what caused an event (the import job), the sealed
     * chunks of an uploaded file while it is imported, and the lines rejected.
     */
    "ALTER TABLE consent_events ADD COLUMN ref TEXT;"
    "CREATE TABLE import_chunks ("
    "  account_id TEXT NOT NULL,"
    "  import_id TEXT NOT NULL,"
    "  n BIGINT NOT NULL,"
    "  sealed BLOB NOT NULL,"
    "  PRIMARY KEY (import_id, n));"
    "CREATE TABLE import_rejects ("
    "  account_id TEXT NOT NULL,"
    "  import_id TEXT NOT NULL,"
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
    "  account_id TEXT PRIMARY KEY,"
    "  host TEXT NOT NULL,"
    "  port INTEGER NOT NULL,"
    "  tls TEXT NOT NULL CHECK (tls IN ('starttls', 'smtps', 'none')),"
    "  username TEXT,"
    "  password_sealed BLOB,"
    "  max_connections INTEGER NOT NULL,"
    "  rate_per_second INTEGER NOT NULL,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE TABLE dkim_keys ("
    "  account_id TEXT NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  selector TEXT NOT NULL,"
    "  algorithm TEXT NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),"
    "  private_sealed BLOB NOT NULL,"
    "  public_key TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  PRIMARY KEY (account_id, domain, selector));"
    "CREATE TABLE campaigns ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  from_addr TEXT NOT NULL,"
    "  reply_to TEXT,"
    "  html TEXT NOT NULL,"
    "  text_body TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('draft', 'scheduled', 'sending', 'paused', 'sent',    "
    "'cancelled', 'failed')),"
    "  scheduled_at BIGINT NOT NULL DEFAULT 0,"
    "  prepared INTEGER NOT NULL DEFAULT 0,"
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
    "  campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
    "  list_id TEXT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
    "  account_id TEXT NOT NULL,"
    "  PRIMARY KEY (campaign_id, list_id));"
    "CREATE INDEX campaign_lists_list ON campaign_lists(list_id);"
    "CREATE TABLE campaign_links ("
    "  account_id TEXT NOT NULL,"
    "  campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
    "  n INTEGER NOT NULL,"
    "  url TEXT NOT NULL,"
    "  clicks_unique BIGINT NOT NULL DEFAULT 0,"
    "  clicks_total BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (campaign_id, n));"
    "CREATE TABLE campaign_recipients ("
    "  account_id TEXT NOT NULL,"
    "  campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
    "  contact_id TEXT NOT NULL REFERENCES contacts(id),"
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
    "  account_id TEXT NOT NULL,"
    "  campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
    "  contact_id TEXT NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  clicks INTEGER NOT NULL DEFAULT 0,"
    "  first_at BIGINT NOT NULL,"
    "  PRIMARY KEY (campaign_id, contact_id, n));"
    "CREATE TABLE suppressions ("
    "  account_id TEXT NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  reason TEXT NOT NULL CHECK (reason IN ('bounce', 'erasure', 'complaint', 'manual')),"
    "  created_at BIGINT NOT NULL,"
    "  PRIMARY KEY (account_id, hash));",
    /*
     * 8: erasure and storage limitation (issue 7): the receipts, the
     * accounts' storage limits, the status "unconfirmed" (a double opt-in
     * pending) and indexes on the statements memberships and events name
     * (an erasure asks which contacts use a statement).
     *
     * SQLite cannot alter a CHECK: memberships is rebuilt, column for column
     * and with its index as before. Nothing references it (no foreign key,
     * trigger or view), so dropping the old table under foreign_keys=ON
     * deletes nothing elsewhere.
     */
    "CREATE TABLE erasures ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL,"
    "  contact_id TEXT NOT NULL REFERENCES contacts(id),"
    "  pseudonym TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  reason TEXT NOT NULL CHECK (reason IN ('request', 'storage_limitation')),"
    "  wiped TEXT NOT NULL DEFAULT '{}',"
    "  erased_at BIGINT NOT NULL);"
    "CREATE INDEX erasures_account ON erasures(account_id, id);"
    "CREATE INDEX erasures_contact ON erasures(account_id, contact_id);"
    "ALTER TABLE accounts ADD COLUMN erase_unlisted_days INTEGER NOT NULL DEFAULT 0"
    "  CHECK (erase_unlisted_days >= 0);"
    "ALTER TABLE accounts ADD COLUMN erase_unconfirmed_days INTEGER NOT NULL DEFAULT 0"
    "  CHECK (erase_unconfirmed_days >= 0);"
    "ALTER TABLE accounts ADD COLUMN storage_checked_at BIGINT NOT NULL DEFAULT 0;"
    "CREATE TABLE memberships_v8 ("
    "  account_id TEXT NOT NULL,"
    "  list_id TEXT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
    "  contact_id TEXT NOT NULL REFERENCES contacts(id),"
    "  status TEXT NOT NULL CHECK (status IN ('subscribed', 'unsubscribed', 'unconfirmed')),"
    "  statement_id TEXT,"
    "  since BIGINT NOT NULL,"
    "  PRIMARY KEY (list_id, contact_id));"
    "INSERT INTO memberships_v8 (account_id, list_id, contact_id, status, statement_id, since)"
    "  SELECT account_id, list_id, contact_id, status, statement_id, since FROM memberships;"
    "DROP TABLE memberships;"
    "ALTER TABLE memberships_v8 RENAME TO memberships;"
    "CREATE INDEX memberships_contact ON memberships(contact_id);"
    "CREATE INDEX memberships_statement ON memberships(statement_id, contact_id)"
    "  WHERE statement_id IS NOT NULL;"
    "CREATE INDEX consent_events_statement ON consent_events(statement_id, contact_id)"
    "  WHERE statement_id IS NOT NULL;",
};

#define LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

enum pb_qs
pb_sqlite_schema_version(struct pb_conn *conn, int *version)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs;

    *version = 0;
    qs = pb_sqlite_prepare(c, PB_SQ_VERSION_TABLE,
                           "SELECT count(*) FROM sqlite_master"
                           " WHERE type = 'table' AND name = 'schema_version'",
                           &st);
    if (qs < 0)
        return qs;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        qs = pb_sqlite_fail(c, rc, "schema_version table");
        pb_sqlite_done(st);
        return qs;
    }
    int exists = sqlite3_column_int(st, 0);
    pb_sqlite_done(st);
    if (!exists)
        return PB_QS_ONE;

    qs = pb_sqlite_prepare(c, PB_SQ_VERSION_MAX,
                           "SELECT COALESCE(MAX(version), 0) FROM schema_version", &st);
    if (qs < 0)
        return qs;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        qs = PB_QS_ONE;
    } else {
        qs = pb_sqlite_fail(c, rc, "schema_version");
    }
    pb_sqlite_done(st);
    return qs;
}

static enum pb_qs
record_version(struct pb_sqlite_conn *c, int version)
{
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_VERSION_INSERT,
                          "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_int(st, 1, version);
    sqlite3_bind_int64(st, 2, pb_clock_now());
    return pb_sqlite_step_change(c, st, "record schema version");
}

enum pb_err
pb_sqlite_migrate(struct pb_conn *conn, int *from, int *to, char why[PB_WHY_MAX])
{
    return pb_sqlite_migrate_to(conn, LATEST, from, to, why);
}

enum pb_err
pb_sqlite_migrate_to(struct pb_conn *conn, int target, int *from, int *to, char why[PB_WHY_MAX])
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    enum pb_err err = PB_ERR_OK;
    int version = 0;
    char *msg = NULL;

    *from = *to = 0;
    int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(why, PB_WHY_MAX, "cannot start migrating %s: %s", c->path, sqlite3_errmsg(c->db));
        return (rc & 0xff) == SQLITE_BUSY ? PB_ERR_STORE_SOFT : PB_ERR_STORE_MIGRATION;
    }
    if (pb_sqlite_schema_version(conn, &version) < 0) {
        snprintf(why, PB_WHY_MAX, "cannot read the schema version of %s: %s", c->path,
                 sqlite3_errmsg(c->db));
        err = PB_ERR_STORE_MIGRATION;
        goto out;
    }
    *from = *to = version;
    if (version > LATEST) {
        snprintf(why, PB_WHY_MAX,
                 "%s is at schema version %d, but this postbode knows only up to %d; "
                 "upgrade postbode",
                 c->path, version, LATEST);
        err = PB_ERR_STORE_TOO_NEW;
        goto out;
    }
    if (target > LATEST)
        target = LATEST;
    for (int v = version + 1; v <= target; v++) {
        rc = sqlite3_exec(c->db, migrations[v - 1], NULL, NULL, &msg);
        if (rc != SQLITE_OK || record_version(c, v) < 0) {
            snprintf(why, PB_WHY_MAX, "migration %d of %s failed: %s", v, c->path,
                     msg ? msg : sqlite3_errmsg(c->db));
            err = PB_ERR_STORE_MIGRATION;
            goto out;
        }
    }
    rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(why, PB_WHY_MAX, "cannot commit the migrations of %s: %s", c->path,
                 sqlite3_errmsg(c->db));
        err = PB_ERR_STORE_MIGRATION;
        goto out;
    }
    *to = version > target ? version : target;
out:
    sqlite3_free(msg);
    if (err != PB_ERR_OK && !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}
