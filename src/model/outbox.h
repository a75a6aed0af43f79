/*
 * System mail (password resets, invitations): queued in the control store,
 * sealed (a reset link is a secret), and delivered by the mailer worker
 * (jobs/mailer.c) through the configured relay, retried with backoff when
 * the relay is down. Queuing never waits for the relay.
 */
#ifndef PB_MODEL_OUTBOX_H
#define PB_MODEL_OUTBOX_H

#include "model/app.h"

/* Builds the message (From: the [mail] from setting) and queues it. */
enum pb_err
pb_outbox_queue(struct pb_app *app, const char *recipient, const char *subject,
                const char *text_body);

/*
 * Tries to deliver the mails that are due, at most `limit`; returns how
 * many were delivered in `*sent` and how many failed in `*failed`.
 */
enum pb_err
pb_outbox_deliver_due(struct pb_app *app, int limit, int *sent, int *failed);

#endif
