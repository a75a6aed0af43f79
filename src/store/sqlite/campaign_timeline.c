/* SQLite: a campaign's sends over time, for the statistics' chart (issue 8). */
#include "store/sqlite/sqlite_internal.h"

enum pb_qs
pb_sqlite_recipient_sent_histogram(struct pb_conn *conn, const char *account_id,
                                   const char *campaign_id, int64_t from, int64_t bucket_seconds,
                                   int n, int64_t *sent)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    for (int i = 0; i < n; i++)
        sent[i] = 0;
    if (n <= 0 || bucket_seconds <= 0)
        return PB_QS_NONE;
    /* campaign_recipients_sent (campaign_id, sent_at) serves the range. */
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_RECIPIENT_SENT_HISTOGRAM,
                          "SELECT (sent_at - ?3) / ?4, count(*) FROM campaign_recipients"
                          " WHERE campaign_id = ?2 AND sent_at >= ?3 AND state = 'sent'"
                          " AND account_id = ?1"
                          " GROUP BY 1",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, campaign_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, bucket_seconds);
    for (int row = 0; pb_sqlite_next(c, st, row, &qs, "recipient sent histogram"); row++) {
        int64_t bucket = sqlite3_column_int64(st, 0);
        sent[bucket < n ? bucket : n - 1] += sqlite3_column_int64(st, 1);
    }
    return qs;
}
