/* GET /v2/match: reads and checks the listing query the way Nakama's ListMatches does, then
 * lists authoritative matches (through the hook) and relayed ones. */
#include "match.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#define LIST_DEFAULT 10
#define LIST_MAX 100

/* An Int32Value query parameter: TV_OK with *out (left alone when absent), TV_EINVAL when it
 * is not a decimal int32. */
static int query_int(tv_http_req_t *req, const char *name, const char *alt, int *out)
{
    const char *v = tv_http_query(req, name, alt);
    char *end;
    if (!v)
        return TV_OK;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < INT_MIN || n > INT_MAX || *v == ' ')
        return TV_EINVAL;
    *out = (int)n;
    return TV_OK;
}

/* Fills f from the query. On a bad one answers 400 itself and returns TV_EINVAL. */
static int read_filter(tv_http_req_t *req, tv_match_filter_t *f)
{
    const char *auth = tv_http_query(req, "authoritative", NULL);
    int limit = -1;

    f->limit = LIST_DEFAULT;
    f->authoritative = f->min_size = f->max_size = -1;
    f->label = tv_http_query(req, "label", NULL);
    f->query = tv_http_query(req, "query", NULL);
    if (query_int(req, "limit", NULL, &limit) != TV_OK ||
        query_int(req, "min_size", "minSize", &f->min_size) != TV_OK ||
        query_int(req, "max_size", "maxSize", &f->max_size) != TV_OK ||
        (auth && tv_parse_bool(auth, &f->authoritative) != TV_OK)) {
        tv_http_error(req, TV_EINVAL, "Invalid request: bad query parameter.");
        return TV_EINVAL;
    }
    const char *bad = NULL;
    if (tv_http_query(req, "limit", NULL) && (limit < 1 || limit > LIST_MAX))
        bad = "Invalid limit - limit must be between 1 and 100.";
    else if (f->label && f->authoritative == 0)
        bad = "Label filtering is not supported for non-authoritative matches.";
    else if (f->query && f->authoritative == 0)
        bad = "Query filtering is not supported for non-authoritative matches.";
    else if (tv_http_query(req, "min_size", "minSize") && f->min_size < 0)
        bad = "Minimum size must be 0 or above.";
    else if (tv_http_query(req, "max_size", "maxSize") && f->max_size < 0)
        bad = "Maximum size must be 0 or above.";
    else if (f->min_size >= 0 && f->max_size >= 0 && f->min_size > f->max_size)
        bad = "Maximum size must be greater than or equal to minimum size when both are "
              "specified.";
    if (bad) {
        tv_http_error(req, TV_EINVAL, bad);
        return TV_EINVAL;
    }
    if (limit > 0)
        f->limit = limit;
    return TV_OK;
}

void tv_match_list_http(tv_http_req_t *req, tv_match_t *m)
{
    tv_match_filter_t f;
    cJSON *matches, *body;
    int rc;

    if (read_filter(req, &f) != TV_OK)
        return;
    if (!(matches = cJSON_CreateArray())) {
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
        return;
    }
    rc = tv_match_list_authoritative(m, &f, matches);
    if (rc >= 0)
        rc = tv_match_list_relayed(m, &f, matches);
    if (rc < 0) {
        cJSON_Delete(matches);
        tv_http_error(req, rc, rc == TV_EINVAL ? "Invalid match query." : "Internal error.");
        return;
    }
    if (!cJSON_GetArraySize(matches)) {
        cJSON_Delete(matches);
        tv_http_reply_json(req, NULL);
        return;
    }
    if (!(body = cJSON_CreateObject())) {
        cJSON_Delete(matches);
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
        return;
    }
    cJSON_AddItemToObject(body, "matches", matches);
    tv_http_reply_json(req, body);
}
