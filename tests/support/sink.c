/* smtp-sink for HTTP tests, and quoted-printable decoding of what it dumps. */
#include "support/sink.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/tmpdir.h"

static const char *
sink_script(void)
{
    const char *s = getenv("PB_TEST_SMTP_SINK");
    return s != NULL ? s : "tests/support/smtp-sink.sh";
}

int
pb_test_run_for_number(const char *command)
{
    FILE *p = popen(command, "r");
    char line[64] = "";
    char *got = p != NULL ? fgets(line, sizeof(line), p) : NULL;
    int rc = p != NULL ? pclose(p) : -1;
    int n = got != NULL ? atoi(line) : 0;
    if (rc != 0 || n <= 0) {
        fprintf(stderr, "test support: %s failed (%d)\n", command, rc);
        abort();
    }
    return n;
}

int
pb_test_sink_start(char dir[PATH_MAX])
{
    char command[PATH_MAX + 512];
    pb_test_tmpdir(dir);
    snprintf(command, sizeof(command), "%s start %s", sink_script(), dir);
    return pb_test_run_for_number(command);
}

int
pb_test_sink_stop(const char *dir)
{
    char command[PATH_MAX + 512];
    snprintf(command, sizeof(command), "%s stop %s", sink_script(), dir);
    int rc = system(command);
    if (rc != 0)
        fprintf(stderr, "test support: %s failed\n", command);
    pb_test_rmtree(dir);
    return rc == 0 ? 0 : -1;
}

void
pb_test_qp_decode(char *s)
{
    char *out = s;
    for (char *in = s; *in != '\0';) {
        if (in[0] == '=' && in[1] == '\r' && in[2] == '\n') {
            in += 3;
        } else if (in[0] == '=' && in[1] == '\n') {
            in += 2;
        } else if (in[0] == '=' && isxdigit((unsigned char)in[1]) &&
                   isxdigit((unsigned char)in[2])) {
            char hex[3] = {in[1], in[2], '\0'};
            *out++ = (char)strtol(hex, NULL, 16);
            in += 3;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
}

bool
pb_test_find_link(const char *text, char kind, char path[256])
{
    char marker[8];
    snprintf(marker, sizeof(marker), "/%c/", kind);
    for (const char *p = strstr(text, marker); p != NULL; p = strstr(p + 1, marker)) {
        size_t n = 3;
        while (p[n] != '\0' && (strchr("-_", p[n]) != NULL || isalnum((unsigned char)p[n])))
            n++;
        if (n >= 60 && n < 250) { /* a token, not a word that happens to follow "/u/" */
            memcpy(path, p, n);
            path[n] = '\0';
            return true;
        }
    }
    return false;
}
