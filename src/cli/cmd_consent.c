/*
 * postbode consent search --account ID EMAIL: the full history of one
 * address (mission feature 5); postbode verify-log --account ID: checks the
 * consent log's hash chain.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/account.h"
#include "model/consent.h"

/* Prints a history for people: the contact, then one line per event. */
static void
print_history(json_t *h)
{
    json_t *c = json_object_get(h, "contact");
    printf("contact %s  %s  (%s, since %s)\n", json_string_value(json_object_get(c, "id")),
           json_string_value(json_object_get(c, "email")),
           json_string_value(json_object_get(c, "status")),
           json_string_value(json_object_get(c, "created_at")));
    const char *key;
    json_t *value;
    json_object_foreach(json_object_get(c, "fields"), key, value)
        printf("  %s: %s\n", key, json_string_value(value));
    json_t *statements = json_object_get(h, "statements");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(h, "events"), i, e)
    {
        const char *sid = json_string_value(json_object_get(e, "statement_id"));
        printf("%s  #%-6lld %-14s", json_string_value(json_object_get(e, "at")),
               (long long)json_integer_value(json_object_get(e, "seq")),
               json_string_value(json_object_get(e, "type")));
        const char *list = json_string_value(json_object_get(e, "list_id"));
        if (list != NULL)
            printf(" list %s", list);
        const char *channel = json_string_value(json_object_get(e, "channel"));
        printf(" via %s", channel != NULL ? channel : "-");
        if (sid != NULL) {
            json_t *st = json_object_get(statements, sid);
            printf("\n    %s: %s", json_string_value(json_object_get(st, "basis")),
                   json_string_value(json_object_get(st, "description")));
            size_t n = json_array_size(json_object_get(st, "evidence"));
            if (n > 0)
                printf(" (%zu evidence image%s)", n, n == 1 ? "" : "s");
        }
        printf("\n");
    }
}

static int
consent_search(int argc, char **argv)
{
    static const char usage[] = "postbode consent search --account ID EMAIL";
    struct pb_cli_common common;
    struct pb_config config;
    const char *account = NULL, *email = NULL;
    const struct pb_cli_opt opts[] = {{"--account", "ID", &account, NULL}, {0}};
    int rc = pb_cli_parse("consent search", usage, argc, argv, &common, opts, &email, 1, 1);
    if (rc != PB_EXIT_OK)
        return rc < 0 ? PB_EXIT_OK : rc;
    if (account == NULL) {
        pb_cli_error("consent search", "--account is required (usage: %s)", usage);
        return PB_EXIT_USAGE;
    }
    if ((rc = pb_cli_load_config("consent search", &common, NULL, &config)) != PB_EXIT_OK)
        return rc;
    struct pb_cli_app cli;
    if ((rc = pb_cli_open_app("consent search", &config, &cli)) != PB_EXIT_OK)
        return rc;
    char why[PB_WHY_MAX] = "";
    bool found = false;
    json_t *history = NULL;
    struct pb_account acc;
    enum pb_err err = pb_account_get(&cli.app, account, &acc);
    if (err == PB_ERR_OK)
        err = pb_consent_history(&cli.app, account, email, &found, &history, why);
    pb_cli_close_app(&cli);
    if (err != PB_ERR_OK) {
        pb_cli_error("consent search", "%s",
                     err == PB_ERR_NOT_FOUND       ? "no account with that id"
                     : err == PB_ERR_EMAIL_INVALID ? why
                                                   : pb_err_hint(err));
        json_decref(history);
        return PB_EXIT_FAIL;
    }
    if (common.json) {
        char *text = json_dumps(history, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
    } else if (!found) {
        printf("no contact with this address in the account\n");
    } else {
        print_history(history);
    }
    json_decref(history);
    return PB_EXIT_OK;
}

int
pb_cmd_consent(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "search") == 0)
        return consent_search(argc - 1, argv + 1);
    pb_cli_error("consent", "unknown or missing subcommand%s%s (try: postbode consent search)",
                 argc >= 2 ? " " : "", argc >= 2 ? argv[1] : "");
    return PB_EXIT_USAGE;
}

int
pb_cmd_verify_log(int argc, char **argv)
{
    static const char usage[] = "postbode verify-log --account ID";
    struct pb_cli_common common;
    struct pb_config config;
    const char *account = NULL;
    const struct pb_cli_opt opts[] = {{"--account", "ID", &account, NULL}, {0}};
    int rc = pb_cli_parse("verify-log", usage, argc, argv, &common, opts, NULL, 0, 0);
    if (rc != PB_EXIT_OK)
        return rc < 0 ? PB_EXIT_OK : rc;
    if (account == NULL) {
        pb_cli_error("verify-log", "--account is required (usage: %s)", usage);
        return PB_EXIT_USAGE;
    }
    if ((rc = pb_cli_load_config("verify-log", &common, NULL, &config)) != PB_EXIT_OK)
        return rc;
    struct pb_cli_app cli;
    if ((rc = pb_cli_open_app("verify-log", &config, &cli)) != PB_EXIT_OK)
        return rc;
    char why[PB_WHY_MAX] = "";
    bool ok = false;
    long events = 0;
    struct pb_account acc;
    enum pb_err err = pb_account_get(&cli.app, account, &acc);
    if (err == PB_ERR_OK)
        err = pb_consent_verify(&cli.app, account, &ok, &events, why);
    pb_cli_close_app(&cli);
    if (err != PB_ERR_OK) {
        pb_cli_error("verify-log", "%s",
                     err == PB_ERR_NOT_FOUND ? "no account with that id" : pb_err_hint(err));
        return PB_EXIT_FAIL;
    }
    if (common.json) {
        json_t *out = json_pack("{s:b, s:I}", "ok", ok, "events", (json_int_t)events);
        if (!ok)
            json_object_set_new(out, "problem", json_string(why));
        char *text = json_dumps(out, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(out);
    } else if (ok) {
        printf("the consent log is intact: %ld events verified\n", events);
    } else {
        printf("the consent log has been tampered with: %s\n", why);
    }
    /* A broken chain is a failure for scripts too. */
    return ok ? PB_EXIT_OK : PB_EXIT_FAIL;
}
