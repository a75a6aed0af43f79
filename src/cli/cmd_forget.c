/*
 * postbode forget --account ID EMAIL: the right to be forgotten from the
 * command line (actor "cli"), like POST /erasures: prints the receipt, or
 * with --json the receipt as the API gives it. An unknown address, an
 * address erased before and a malformed one are errors (exit 1).
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/account.h"
#include "model/consent.h"
#include "model/erasure.h"

static const char usage[] = "postbode forget --account ID EMAIL";

/* "3 field values", "1 field value". */
static void
count_of(json_t *wiped, const char *key, const char *one, const char *many, char *out, size_t size)
{
    long long n = (long long)json_integer_value(json_object_get(wiped, key));
    snprintf(out, size, "%lld %s", n, n == 1 ? one : many);
}

static void
print_receipt(json_t *r)
{
    json_t *wiped = json_object_get(r, "wiped");
    char values[64], evidence[64], events[64], replies[64];
    count_of(wiped, "field_values", "field value", "field values", values, sizeof(values));
    count_of(wiped, "evidence", "evidence image", "evidence images", evidence, sizeof(evidence));
    count_of(wiped, "event_personal_data", "consent event", "consent events", events,
             sizeof(events));
    count_of(wiped, "delivery_replies", "delivery reply", "delivery replies", replies,
             sizeof(replies));
    printf("erasure %s at %s\n", json_string_value(json_object_get(r, "id")),
           json_string_value(json_object_get(r, "erased_at")));
    printf("  contact %s is now %s (status erased)\n",
           json_string_value(json_object_get(r, "contact_id")),
           json_string_value(json_object_get(r, "pseudonym")));
    printf("  wiped: the address and its blind index, %s, %s no other contact uses,\n"
           "         the personal data (address, user agent, notes) of %s, %s\n",
           values, evidence, events, replies);
    printf("  kept: a keyed hash of the address on the account's suppression list, so that a\n"
           "        later import or addition of it is refused (an owner may override it with a\n"
           "        fresh consent statement); list counts and campaign statistics\n");
}

int
pb_cmd_forget(int argc, char **argv)
{
    struct pb_cli_common common;
    struct pb_config config;
    const char *account = NULL, *email = NULL;
    const struct pb_cli_opt opts[] = {{"--account", "ID", &account, NULL}, {0}};
    int rc = pb_cli_parse("forget", usage, argc, argv, &common, opts, &email, 1, 1);
    if (rc != PB_EXIT_OK)
        return rc < 0 ? PB_EXIT_OK : rc;
    if (account == NULL) {
        pb_cli_error("forget", "--account is required (usage: %s)", usage);
        return PB_EXIT_USAGE;
    }
    if ((rc = pb_cli_load_config("forget", &common, NULL, &config)) != PB_EXIT_OK)
        return rc;
    struct pb_cli_app cli;
    if ((rc = pb_cli_open_app("forget", &config, &cli)) != PB_EXIT_OK)
        return rc;
    struct pb_account acc;
    struct pb_erasure receipt;
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_account_get(&cli.app, account, &acc);
    if (err == PB_ERR_NOT_FOUND) {
        pb_cli_close_app(&cli);
        pb_cli_error("forget", "no account with that id");
        return PB_EXIT_FAIL;
    }
    struct pb_erasure_by by = {.account_id = account,
                               .actor = "cli",
                               .channel = PB_CHANNEL_CLI,
                               .reason = PB_ERASURE_REASON_REQUEST,
                               .checkpoint = true};
    if (err == PB_ERR_OK)
        err = pb_erasure_erase(&cli.app, &by, email, NULL, &receipt, &field, why);
    pb_cli_close_app(&cli);
    if (err != PB_ERR_OK) {
        pb_cli_error("forget", "%s%s", err == PB_ERR_EMAIL_INVALID ? "not a valid address: " : "",
                     why[0] != '\0' ? why : pb_err_hint(err));
        return PB_EXIT_FAIL;
    }
    json_t *out = pb_erasure_to_json(&receipt);
    if (out == NULL) {
        pb_cli_error("forget",
                     "the contact is erased (receipt %s), but the receipt cannot be "
                     "printed: out of memory",
                     receipt.id);
        return PB_EXIT_FAIL;
    }
    if (common.json) {
        char *text = json_dumps(out, JSON_COMPACT);
        printf("%s\n", text != NULL ? text : "{}");
        free(text);
    } else {
        print_receipt(out);
    }
    json_decref(out);
    return PB_EXIT_OK;
}
