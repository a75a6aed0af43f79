/*
 * Test support: Postfix's smtp-sink as the real SMTP server of HTTP tests
 * (tests/support/smtp-sink.sh starts and stops it by PID), and the small
 * tools around it.
 */
#ifndef PB_TEST_SINK_H
#define PB_TEST_SINK_H

#include <limits.h>
#include <stdbool.h>

/*
 * Starts smtp-sink in a new temporary directory `dir` (each message is
 * dumped to a file in DIR/mail) and returns its port; aborts on failure.
 * The script is PB_TEST_SMTP_SINK, or the one of the source tree.
 */
int
pb_test_sink_start(char dir[PATH_MAX]);

/* Stops the sink of `dir` and removes the directory; -1 when the script failed. */
int
pb_test_sink_stop(const char *dir);

/* Runs a command and returns the first line of its output as a number; aborts on failure. */
int
pb_test_run_for_number(const char *command);

/*
 * Copies into `path` the first "/X/TOKEN" link path of kind `kind` ('u',
 * 'o' or 'c': unsubscribe, open, click) found in a (decoded) message.
 */
bool
pb_test_find_link(const char *text, char kind, char path[256]);

/* Decodes quoted-printable text in place (soft line breaks and =XX). */
void
pb_test_qp_decode(char *s);

#endif
