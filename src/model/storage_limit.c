/* Storage limitation: scheduling the sweeps, and one step of a sweep. */
#include "model/storage_limit.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "model/account.h"
#include "model/erasure.h"
#include "model/job.h"
#include "model/tenant.h"

enum {
    ACCOUNTS_PAGE = 100, /* accounts read at once by the scheduler */
    DAY_SECONDS = 86400,
};

int64_t
pb_storage_limit_sweep_seconds(const struct pb_app *app)
{
    return app->config != NULL && app->config->privacy_sweep_seconds > 0
               ? app->config->privacy_sweep_seconds
               : 3600;
}

/* ---- scheduling ---- */

/* A page of accounts: the ids of those with a limit on, and where the page ended. */
struct page {
    const char *after;
    pb_id_text on[ACCOUNTS_PAGE];
    int on_count;
    int seen;
    char last[PB_ID_LEN + 1];
};

static void
page_cb(void *cls, const struct pb_account *account)
{
    struct page *p = cls;
    p->seen++;
    pb_strlcpy(p->last, account->id, sizeof(p->last));
    if ((account->erase_unlisted_days > 0 || account->erase_unconfirmed_days > 0) &&
        p->on_count < ACCOUNTS_PAGE)
        pb_strlcpy(p->on[p->on_count++], account->id, sizeof(p->on[0]));
}

static enum pb_qs
page_tx(struct pb_tx *tx, void *cls)
{
    struct page *p = cls;
    p->on_count = p->seen = 0;
    p->last[0] = '\0';
    return tx->ops->account_list(tx->conn, p->after, ACCOUNTS_PAGE, page_cb, p);
}

struct claim {
    const char *account_id;
    int64_t now;
    int64_t due_before;
    bool won;
};

static enum pb_qs
claim_tx(struct pb_tx *tx, void *cls)
{
    struct claim *c = cls;
    enum pb_qs qs =
        tx->ops->account_claim_storage_sweep(tx->conn, c->account_id, c->now, c->due_before);
    c->won = qs == PB_QS_ONE;
    return qs;
}

int
pb_storage_limit_schedule(struct pb_app *app, int64_t now)
{
    int64_t interval = pb_storage_limit_sweep_seconds(app);
    int scheduled = 0;
    char after[PB_ID_LEN + 1] = "";
    struct page page;
    for (;;) {
        page.after = after;
        enum pb_err err = pb_store_tx(app->control, PB_TX_READ, page_tx, &page);
        if (err != PB_ERR_OK) {
            pb_warn("storage limit: cannot read the accounts: %s", pb_err_hint(err));
            break;
        }
        for (int i = 0; i < page.on_count; i++) {
            struct claim c = {page.on[i], now, now - interval, false};
            err = pb_store_tx(app->control, PB_TX_WRITE, claim_tx, &c);
            if (err != PB_ERR_OK || !c.won)
                continue; /* another node sweeps it, or it was swept within the interval */
            /*
             * The claim and the job live in two stores (control and tenant):
             * when queueing fails after the claim, this account's sweep waits
             * for the next interval, which storage limitation allows.
             */
            char job_id[PB_ID_LEN + 1];
            err = pb_job_enqueue(app, page.on[i], PB_STORAGE_LIMIT_KIND, "{}", job_id);
            if (err != PB_ERR_OK) {
                pb_warn("storage limit: account %s: cannot queue the sweep: %s", page.on[i],
                        pb_err_hint(err));
                continue;
            }
            pb_info("storage limit: account %s: sweep queued as job %s", page.on[i], job_id);
            scheduled++;
        }
        if (page.seen < ACCOUNTS_PAGE)
            break;
        pb_strlcpy(after, page.last, sizeof(after));
    }
    return scheduled;
}

/* ---- one step of a sweep ---- */

struct expired {
    const char *account_id;
    int64_t unlisted_before;
    int64_t unconfirmed_before;
    const char *after;
    pb_id_text ids[PB_STORAGE_LIMIT_BATCH];
    int n;
};

static void
expired_cb(void *cls, const struct pb_contact *contact)
{
    struct expired *e = cls;
    if (e->n < PB_STORAGE_LIMIT_BATCH)
        pb_strlcpy(e->ids[e->n++], contact->id, sizeof(e->ids[0]));
}

static enum pb_qs
expired_tx(struct pb_tx *tx, void *cls)
{
    struct expired *e = cls;
    e->n = 0;
    return tx->ops->contact_list_expired(tx->conn, e->account_id, e->unlisted_before,
                                         e->unconfirmed_before, e->after, PB_STORAGE_LIMIT_BATCH,
                                         expired_cb, e);
}

/* The cut-off of a limit of `days` at `now`: contacts older than it expired; 0 when off. */
static int64_t
cutoff(int64_t now, int days)
{
    return days > 0 ? now - (int64_t)days * DAY_SECONDS : 0;
}

/* Takes the wiped bytes out of the database files once for the batch (SQLite: the WAL). */
static void
checkpoint(struct pb_app *app, const char *account_id)
{
    enum pb_err err = pb_tenant_checkpoint(app, account_id);
    if (err != PB_ERR_OK) /* the next batch's checkpoint takes them out */
        pb_warn("storage limit: account %s: the checkpoint after a batch failed: %s", account_id,
                pb_err_hint(err));
}

enum pb_err
pb_storage_limit_step(struct pb_app *app, struct pb_job *job, bool *finished, char why[PB_WHY_MAX])
{
    *finished = false;
    struct pb_account account;
    enum pb_err err = pb_account_get(app, job->account_id, &account);
    int unlisted_days = account.erase_unlisted_days;
    int unconfirmed_days = account.erase_unconfirmed_days;
    sodium_memzero(&account, sizeof(account));
    if (err != PB_ERR_OK) {
        snprintf(why, PB_WHY_MAX, "cannot read the account's storage limits: %s", pb_err_hint(err));
        return err;
    }

    struct expired e = {.account_id = job->account_id, .after = job->cursor};
    int64_t now = pb_clock_now();
    e.unlisted_before = cutoff(now, unlisted_days);
    e.unconfirmed_before = cutoff(now, unconfirmed_days);
    /* Both limits turned off since the sweep was queued: nothing is past them. */
    if (e.unlisted_before > 0 || e.unconfirmed_before > 0) {
        err = pb_tenant_tx(app, job->account_id, PB_TX_READ, expired_tx, &e);
        if (err != PB_ERR_OK) {
            snprintf(why, PB_WHY_MAX, "cannot list the contacts past their storage limit: %s",
                     pb_err_hint(err));
            return err;
        }
    }

    struct pb_erasure_by by = {.account_id = job->account_id,
                               .actor = PB_STORAGE_LIMIT_ACTOR,
                               .channel = "system",
                               .reason = PB_ERASURE_REASON_STORAGE,
                               .checkpoint = false,
                               .unlisted_before = e.unlisted_before,
                               .unconfirmed_before = e.unconfirmed_before};
    int erased = 0;
    for (int i = 0; i < e.n; i++) {
        struct pb_erasure receipt;
        const char *field = NULL;
        char erase_why[PB_WHY_MAX] = "";
        err = pb_erasure_erase(app, &by, NULL, e.ids[i], &receipt, &field, erase_why);
        if (err == PB_ERR_OK) {
            erased++;
        } else if (err != PB_ERR_ALREADY_ERASED && err != PB_ERR_NOT_FOUND &&
                   err != PB_ERR_CONFLICT) {
            snprintf(why, PB_WHY_MAX, "cannot erase contact %s: %s", e.ids[i],
                     erase_why[0] ? erase_why : pb_err_hint(err));
            break;
        }
        /* Erased meanwhile (by a request, or this batch before a crash), or subscribed again. */
        err = PB_ERR_OK;
    }
    if (erased > 0)
        checkpoint(app, job->account_id);
    job->progress_done += erased;
    if (err != PB_ERR_OK)
        return err;
    /*
     * A sweep in progress counts as the account's latest: its steps move
     * storage_checked_at on, so that no second sweep is queued while this
     * one runs longer than the interval (a second one would only skip what
     * this one erases, but twice the reading is waste).
     */
    struct claim c = {job->account_id, pb_clock_now(), INT64_MAX, false};
    if (pb_store_tx(app->control, PB_TX_WRITE, claim_tx, &c) != PB_ERR_OK)
        pb_warn("storage limit: account %s: cannot record the sweep's progress", job->account_id);

    if (e.n > 0)
        pb_strlcpy(job->cursor, e.ids[e.n - 1], sizeof(job->cursor));
    if (e.n < PB_STORAGE_LIMIT_BATCH) {
        *finished = true;
        job->progress_total = job->progress_done;
        snprintf(job->result, sizeof(job->result), "{\"erased\":%lld}",
                 (long long)job->progress_done);
    }
    return PB_ERR_OK;
}
