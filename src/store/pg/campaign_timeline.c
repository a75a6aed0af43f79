/* PostgreSQL: a campaign's sends over time, for the statistics' chart (issue 8). */
#include "store/pg/pg_internal.h"

enum pb_qs
pb_pg_recipient_sent_histogram(struct pb_conn *conn, const char *account_id,
                               const char *campaign_id, int64_t from, int64_t bucket_seconds, int n,
                               int64_t *sent)
{
    for (int i = 0; i < n; i++)
        sent[i] = 0;
    if (n <= 0 || bucket_seconds <= 0)
        return PB_QS_NONE;
    char from_text[PB_PG_NUM_MAX], bucket_text[PB_PG_NUM_MAX];
    const char *const params[] = {account_id, campaign_id, pb_pg_num(from_text, from),
                                  pb_pg_num(bucket_text, bucket_seconds)};
    PGresult *res;
    /* The account is checked on the campaign; campaign_recipients_sent serves the range. */
    enum pb_qs qs =
        pb_pg_exec(pb_pg_conn(conn), PB_PG_RECIPIENT_SENT_HISTOGRAM, "pb_recipient_sent_histogram",
                   "SELECT (sent_at - $3::bigint) / $4::bigint, count(*)"
                   " FROM campaign_recipients"
                   " WHERE campaign_id = (SELECT id FROM campaigns"
                   "  WHERE account_id = $1 AND id = $2)"
                   " AND sent_at >= $3::bigint AND state = 'sent'"
                   " GROUP BY 1",
                   4, params, &res);
    if (qs < 0)
        return qs;
    int rows = PQntuples(res);
    for (int row = 0; row < rows; row++) {
        int64_t bucket = pb_pg_int64(res, row, 0);
        sent[bucket < n ? bucket : n - 1] += pb_pg_int64(res, row, 1);
    }
    PQclear(res);
    return rows == 0 ? PB_QS_NONE : rows == 1 ? PB_QS_ONE : PB_QS_N;
}
