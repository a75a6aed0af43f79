/*
 * The sender: threads of `postbode serve` that send the campaigns in state
 * "sending". Each thread claims a batch of recipients under a lease in the
 * database (so any number of threads and nodes share one campaign without
 * sending a message twice), renders and signs each message itself (so
 * rendering and signing run on as many cores as there are threads), sends
 * it over its own long-lived pipelining SMTP connection to the account's
 * relay, and records the batch's outcomes in one transaction.
 *
 * Limits: a relay gets at most its max_connections connections from a node
 * and at most rate_per_second messages a second from it (a token bucket
 * per relay, per node); a campaign at most rate_per_minute messages in
 * any 60 seconds (counted in the database, so across nodes). One thread
 * also starts scheduled campaigns when they are due.
 */
#ifndef PB_JOBS_SENDER_H
#define PB_JOBS_SENDER_H

#include "model/app.h"

struct pb_sender;

enum pb_err
pb_sender_start(struct pb_app *app, const char *node_id, int threads, struct pb_sender **out);

/*
 * Asks the threads to stop after the message each is sending, hands the
 * rest of their batches back (no lease to wait for), waits for them.
 */
void
pb_sender_stop(struct pb_sender *sender);

#endif
