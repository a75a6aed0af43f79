/* postbode region list | add NAME URL: the operator's regions (mission feature 10). */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/strutil.h"

static void
add_to_array(void *cls, const struct pb_region *region)
{
    json_array_append_new(cls,
                          json_pack("{s:s, s:s, s:I}", "name", region->name, "url", region->url,
                                    "created_at", (json_int_t)region->created_at));
}

static enum pb_qs
list_tx(struct pb_tx *tx, void *cls)
{
    json_array_clear(cls); /* the body may run again after a soft error */
    return tx->ops->region_list(tx->conn, add_to_array, cls);
}

/* Hides the password of a postgres:// URL before printing it. */
static void
print_url(const char *url)
{
    const char *scheme_end = strstr(url, "://");
    const char *at = scheme_end ? strchr(scheme_end + 3, '@') : NULL;
    const char *colon = scheme_end ? strchr(scheme_end + 3, ':') : NULL;
    if (at != NULL && colon != NULL && colon < at)
        printf("%.*s:***%s", (int)(colon - url), url, at);
    else
        printf("%s", url);
}

static int
region_list(struct pb_store *control, bool json)
{
    json_t *regions = json_array();
    enum pb_err err = regions ? pb_store_tx(control, PB_TX_READ, list_tx, regions) : PB_ERR_NOMEM;
    if (err != PB_ERR_OK) {
        json_decref(regions);
        pb_cli_error("region list", "%s", pb_err_hint(err));
        return PB_EXIT_FAIL;
    }
    if (json) {
        char *text = json_dumps(regions, JSON_COMPACT);
        printf("%s\n", text ? text : "[]");
        free(text);
    } else {
        size_t i;
        json_t *r;
        json_array_foreach(regions, i, r)
        {
            printf("%-16s ", json_string_value(json_object_get(r, "name")));
            print_url(json_string_value(json_object_get(r, "url")));
            printf("\n");
        }
    }
    json_decref(regions);
    return PB_EXIT_OK;
}

static bool
valid_region_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > PB_REGION_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

static enum pb_qs
insert_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->region_insert(tx->conn, cls);
}

static int
region_add(struct pb_store *control, const char *name, const char *url, bool json)
{
    char why[PB_WHY_MAX] = "";
    if (!valid_region_name(name)) {
        pb_cli_error("region add", "%s", pb_err_hint(PB_ERR_REGION_NAME));
        return PB_EXIT_FAIL;
    }
    if (pb_store_backend(url) == NULL || strlen(url) > PB_STORE_URL_MAX) {
        pb_cli_error("region add", "%s", pb_err_hint(PB_ERR_STORE_URL));
        return PB_EXIT_FAIL;
    }
    /* Prove the region's store works, and give it the schema, before recording it. */
    struct pb_store *store = NULL;
    int from = 0, to = 0;
    if (pb_store_open(url, 1, &store, why) != PB_ERR_OK ||
        pb_store_migrate(store, &from, &to, why) != PB_ERR_OK) {
        pb_store_close(store);
        pb_cli_error("region add", "%s", why);
        return PB_EXIT_FAIL;
    }
    pb_store_close(store);

    struct pb_region region = {.created_at = pb_clock_now()};
    pb_strlcpy(region.name, name, sizeof(region.name));
    pb_strlcpy(region.url, url, sizeof(region.url));
    enum pb_err err = pb_store_tx(control, PB_TX_WRITE, insert_tx, &region);
    if (err != PB_ERR_OK) {
        pb_cli_error("region add", "%s", pb_err_hint(err));
        return PB_EXIT_FAIL;
    }
    if (json)
        printf("{\"name\":\"%s\"}\n", name);
    else
        printf("region %s added\n", name);
    return PB_EXIT_OK;
}

int
pb_cmd_region(int argc, char **argv)
{
    static const char usage[] = "postbode region list | add NAME URL";
    struct pb_cli_common common;
    struct pb_config config;
    const char *pos[3] = {NULL, NULL, NULL};
    int rc = pb_cli_parse("region", usage, argc, argv, &common, NULL, pos, 1, 3);
    if (rc != PB_EXIT_OK)
        return rc < 0 ? PB_EXIT_OK : rc;
    bool is_list = strcmp(pos[0], "list") == 0 && pos[1] == NULL;
    bool is_add = strcmp(pos[0], "add") == 0 && pos[2] != NULL;
    if (!is_list && !is_add) {
        pb_cli_error("region", "usage: %s", usage);
        return PB_EXIT_USAGE;
    }
    if ((rc = pb_cli_load_config("region", &common, NULL, &config)) != PB_EXIT_OK)
        return rc;
    struct pb_store *control = NULL;
    if ((rc = pb_cli_open_control("region", &config, &control)) != PB_EXIT_OK)
        return rc;
    rc = is_list ? region_list(control, common.json)
                 : region_add(control, pos[1], pos[2], common.json);
    pb_store_close(control);
    return rc;
}
