/* REST for leaderboards and tournaments: reads the request (protojson rules: int64 as string or
 * number, snake_case or lowerCamel, enums by number or name), calls leaderboard.h and answers
 * with Nakama's shapes and errors. Also the console's board management. */
#include "leaderboard_api.h"
#include "app.h"
#include "error.h"
#include "json.h"
#include "leaderboard.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOURN_LIST_DEFAULT 100

static tv_lb_t *lb_of(void *app)
{
    return ((tv_app_t *)app)->leaderboards;
}

static void reply_err(tv_http_req_t *req, const tv_lb_err_t *e)
{
    if (e->code == TV_EUNAVAIL || e->code == TV_EINTERNAL || e->code == TV_ERETRY ||
        e->code == TV_ENOMEM)
        tv_http_db_error(req, e->code);
    else
        tv_http_error(req, e->code, e->msg);
}

/* An int64 from a decimal string; TV_EINVAL for anything else. */
static int parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return TV_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return TV_EINVAL;
    *out = v;
    return TV_OK;
}

/* An int64 member: a JSON number that is whole, or a decimal string. Absent leaves *out. */
static int json_i64(const cJSON *o, const char *snake, const char *camel, int64_t *out)
{
    const cJSON *v = tv_json_get(o, snake, camel);
    if (!v)
        return TV_OK;
    if (cJSON_IsString(v))
        return parse_i64(v->valuestring, out);
    /* whole and inside int64 (no libm: a cast round trip tells a fraction) */
    if (!cJSON_IsNumber(v) || v->valuedouble > 9.2e18 || v->valuedouble < -9.2e18 ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return TV_EINVAL;
    *out = (int64_t)v->valuedouble;
    return TV_OK;
}

/* A metadata member: a JSON object text (protojson's string) or, leniently, an object. *out
 * is malloc'd (NULL when absent). */
static int json_metadata(const cJSON *o, char **out)
{
    const cJSON *v = tv_json_get(o, "metadata", NULL);
    *out = NULL;
    if (!v)
        return TV_OK;
    if (cJSON_IsString(v))
        *out = strdup(v->valuestring);
    else if (cJSON_IsObject(v))
        *out = cJSON_PrintUnformatted(v);
    else
        return TV_EINVAL;
    return *out ? TV_OK : TV_ENOMEM;
}

/* The operator of a write: a number 0-4 or a name. */
static int json_op(const cJSON *o, int *op)
{
    const cJSON *v = tv_json_get(o, "operator", NULL);
    *op = TV_LB_OP_NONE;
    if (!v)
        return TV_OK;
    if (cJSON_IsNumber(v) && v->valueint >= 0 && v->valueint <= 4 &&
        v->valuedouble == v->valueint) {
        *op = v->valueint;
        return TV_OK;
    }
    if (cJSON_IsString(v) && (!strcmp(v->valuestring, "NO_OVERRIDE") || !*v->valuestring))
        return TV_OK;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "INCREMENT"))
        return (*op = TV_LB_OP_INCR), TV_OK;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "DECREMENT"))
        return (*op = TV_LB_OP_DECR), TV_OK;
    return cJSON_IsString(v) ? tv_lb_parse_op(v->valuestring, op) : TV_EINVAL;
}

/* --- records --------------------------------------------------------------------------- */

static void write_common(tv_http_req_t *req, void *app, int flags)
{
    cJSON *body = tv_http_body_json(req);
    if (!body)
        return;
    tv_lb_write_t w = {0};
    char *metadata = NULL;
    if (json_i64(body, "score", NULL, &w.score) || json_i64(body, "subscore", NULL, &w.subscore)) {
        tv_http_error(req, TV_EINVAL, "Invalid score or subscore: must be integers.");
        return;
    }
    if (json_op(body, &w.op)) {
        tv_http_error(req, TV_EINVAL, "Invalid operator.");
        return;
    }
    if (json_metadata(body, &metadata)) {
        tv_http_error(req, TV_EINVAL, "Metadata value must be a JSON object.");
        return;
    }
    const tv_token_claims_t *c = tv_http_claims(req);
    w.owner = c->uid;
    w.username = c->usn[0] ? c->usn : NULL;
    w.metadata = metadata;
    cJSON *rec = NULL;
    tv_lb_err_t err = {0};
    int rc = tv_lb_write_record(lb_of(app), tv_http_param(req, 0), &w, flags | TV_LB_CLIENT,
                                tv_now_s(), &rec, &err);
    free(metadata);
    if (rc)
        reply_err(req, &err);
    else
        tv_http_reply_json(req, rec);
}

void tv_lb_http_write(tv_http_req_t *req, void *app)
{
    write_common(req, app, 0);
}

void tv_tourn_http_write(tv_http_req_t *req, void *app)
{
    write_common(req, app, TV_LB_TOURNAMENT);
}

typedef struct {
    const char *owners[TV_LB_OWNERS_MAX + 1];
    size_t n;
} owners_t;

static int add_owner(const char *v, void *p)
{
    owners_t *o = p;
    if (o->n > TV_LB_OWNERS_MAX)
        return 1;
    o->owners[o->n++] = v;
    return 0;
}

/* An optional query value that is a non-negative int32 (Nakama's uint32 and int32 fields):
 * TV_OK (absent leaves *out) or TV_EINVAL, also for a present but empty value. */
static int query_int(tv_http_req_t *req, const char *name, const char *camel, int64_t *out)
{
    const char *s = tv_http_query(req, name, camel);
    if (!s)
        return TV_OK;
    int64_t v;
    if (parse_i64(s, &v) || v < 0 || v > INT32_MAX)
        return TV_EINVAL;
    *out = v;
    return TV_OK;
}

static void list_common(tv_http_req_t *req, void *app, int flags)
{
    owners_t o = {{0}, 0};
    tv_http_query_each(req, "owner_ids", "ownerIds", add_owner, &o);
    int64_t limit = 0, expiry = 0;
    if (query_int(req, "limit", NULL, &limit) || (tv_http_query(req, "limit", NULL) && limit < 1) ||
        limit > TV_LB_LIST_MAX) {
        tv_http_error(req, TV_EINVAL, "Invalid limit - limit must be between 1 and 1000.");
        return;
    }
    if (query_int(req, "expiry", NULL, &expiry)) {
        tv_http_error(req, TV_EINVAL, "Invalid expiry: unix seconds.");
        return;
    }
    tv_lb_query_t q = {o.owners, o.n, (int)limit, tv_http_query(req, "cursor", NULL), expiry};
    cJSON *out;
    tv_lb_err_t err = {0};
    if (tv_lb_list_records(lb_of(app), tv_http_param(req, 0), &q, flags | TV_LB_CLIENT,
                           tv_now_s(), &out, &err))
        reply_err(req, &err);
    else
        tv_http_reply_json(req, out);
}

void tv_lb_http_list(tv_http_req_t *req, void *app)
{
    list_common(req, app, 0);
}

void tv_tourn_http_records(tv_http_req_t *req, void *app)
{
    list_common(req, app, TV_LB_TOURNAMENT);
}

static void around_common(tv_http_req_t *req, void *app, int flags)
{
    int64_t limit = 0;
    if (query_int(req, "limit", NULL, &limit) || (tv_http_query(req, "limit", NULL) && limit < 1) ||
        limit > TV_LB_AROUND_MAX) {
        tv_http_error(req, TV_EINVAL, "Invalid limit - limit must be between 1 and 100.");
        return;
    }
    int64_t expiry = 0; /* checked, but the window is always of the current (ranked) period */
    if (query_int(req, "expiry", NULL, &expiry)) {
        tv_http_error(req, TV_EINVAL, "Invalid expiry: unix seconds.");
        return;
    }
    cJSON *out;
    tv_lb_err_t err = {0};
    if (tv_lb_list_around(lb_of(app), tv_http_param(req, 0), tv_http_param(req, 1), (int)limit,
                          flags | TV_LB_CLIENT, tv_now_s(), &out, &err))
        reply_err(req, &err);
    else
        tv_http_reply_json(req, out);
}

void tv_lb_http_around(tv_http_req_t *req, void *app)
{
    around_common(req, app, 0);
}

void tv_tourn_http_around(tv_http_req_t *req, void *app)
{
    around_common(req, app, TV_LB_TOURNAMENT);
}

static void delete_common(tv_http_req_t *req, void *app, int flags)
{
    tv_lb_err_t err = {0};
    if (tv_lb_delete_record(lb_of(app), tv_http_param(req, 0), tv_http_claims(req)->uid,
                            flags | TV_LB_CLIENT, tv_now_s(), &err))
        reply_err(req, &err);
    else
        tv_http_reply_json(req, NULL);
}

void tv_lb_http_delete(tv_http_req_t *req, void *app)
{
    delete_common(req, app, 0);
}

void tv_tourn_http_delete(tv_http_req_t *req, void *app)
{
    delete_common(req, app, TV_LB_TOURNAMENT);
}

/* --- tournaments ----------------------------------------------------------------------- */

void tv_tourn_http_list(tv_http_req_t *req, void *app)
{
    int64_t cs = 0, ce = 127, st = -1, et = -1, limit = TOURN_LIST_DEFAULT;
    if (query_int(req, "category_start", "categoryStart", &cs) ||
        query_int(req, "category_end", "categoryEnd", &ce) ||
        query_int(req, "start_time", "startTime", &st) ||
        query_int(req, "end_time", "endTime", &et) || query_int(req, "limit", NULL, &limit) ||
        cs > 127 || ce > 127 || limit > 100) {
        tv_http_error(req, TV_EINVAL, "Invalid query: categories 0-127, limit 1-100, times in "
                                      "unix seconds.");
        return;
    }
    tv_tourn_query_t q = {(int)cs, (int)ce, st, et, (int)limit, tv_http_query(req, "cursor", NULL)};
    cJSON *out;
    tv_lb_err_t err = {0};
    if (tv_tourn_list(lb_of(app), &q, tv_now_s(), &out, &err))
        reply_err(req, &err);
    else
        tv_http_reply_json(req, out);
}

void tv_tourn_http_join(tv_http_req_t *req, void *app)
{
    const tv_token_claims_t *c = tv_http_claims(req);
    tv_lb_err_t err = {0};
    if (tv_tourn_join(lb_of(app), tv_http_param(req, 0), c->uid, c->usn[0] ? c->usn : NULL,
                      tv_now_s(), &err))
        reply_err(req, &err);
    else
        tv_http_reply_json(req, NULL);
}

/* --- console --------------------------------------------------------------------------- */

/* An enum member given by name or number (as a string); NULL leaves *out. */
static int json_enum(const cJSON *o, const char *name, const char *camel,
                     int (*parse)(const char *, int *), int *out)
{
    const cJSON *v = tv_json_get(o, name, camel);
    if (!v)
        return TV_OK;
    char num[8];
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9) {
        snprintf(num, sizeof num, "%d", v->valueint);
        return parse(num, out);
    }
    return cJSON_IsString(v) ? parse(v->valuestring, out) : TV_EINVAL;
}

static int parse_op_num(const char *s, int *op)
{
    return tv_lb_parse_op(s, op);
}

int tv_lb_def_from_json(const cJSON *b, int tournament, tv_lb_def_t *d, char **meta,
                        const char **msg)
{
    *d = (tv_lb_def_t){.descending = 1, .op = TV_LB_OP_BEST, .tournament = tournament};
    *meta = NULL;
    int set;
    if (!cJSON_IsObject(b))
        return (*msg = "Invalid definition: a JSON object."), TV_EINVAL;
    if (tv_json_get_str(b, "id", NULL, &d->id) || !d->id)
        return (*msg = "Invalid id: a string is required."), TV_EINVAL;
    if (json_enum(b, "sort_order", "sortOrder", tv_lb_parse_sort, &d->descending))
        return (*msg = "Invalid sort_order: asc or desc."), TV_EINVAL;
    if (json_enum(b, "operator", NULL, parse_op_num, &d->op))
        return (*msg = "Invalid operator: best, set, incr or decr."), TV_EINVAL;
    if (tv_json_get_str(b, "reset_schedule", "resetSchedule", &d->reset))
        return (*msg = "Invalid reset_schedule: a cron string."), TV_EINVAL;
    if (tv_json_get_bool(b, "authoritative", NULL, &d->authoritative, &set))
        return (*msg = "Invalid authoritative: a boolean."), TV_EINVAL;
    if (json_metadata(b, meta))
        return (*msg = "Invalid metadata: a JSON object."), TV_EINVAL;
    d->metadata = *meta;
    if (!tournament)
        return TV_OK;
    int64_t cat = 0;
    if (tv_json_get_str(b, "title", NULL, &d->title) ||
        tv_json_get_str(b, "description", NULL, &d->description) ||
        json_i64(b, "category", NULL, &cat) ||
        json_i64(b, "start_time", "startTime", &d->start_time) ||
        json_i64(b, "end_time", "endTime", &d->end_time) ||
        json_i64(b, "duration", NULL, &d->duration) ||
        json_i64(b, "max_size", "maxSize", &d->max_size) ||
        json_i64(b, "max_num_score", "maxNumScore", &d->max_num_score) ||
        tv_json_get_bool(b, "join_required", "joinRequired", &d->join_required, &set))
        return (*msg = "Invalid tournament: title and description are strings; category, "
                       "times, duration and limits are integers."), TV_EINVAL;
    d->category = cat < 0 || cat > 127 ? -1 : (int)cat; /* -1: refused by tv_lb_create */
    return TV_OK;
}

static void create_common(tv_http_req_t *req, void *app, int tournament)
{
    cJSON *b = tv_http_body_json(req);
    if (!b)
        return;
    tv_lb_def_t d;
    char *meta = NULL;
    const char *msg = NULL;
    if (tv_lb_def_from_json(b, tournament, &d, &meta, &msg)) {
        free(meta);
        tv_http_error(req, TV_EINVAL, msg);
        return;
    }
    tv_lb_err_t err = {0};
    int rc = tv_lb_create(lb_of(app), &d, &err);
    free(meta);
    if (rc) {
        reply_err(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", d.id);
    tv_http_reply_json(req, o);
}

void tv_lb_console_create(tv_http_req_t *req, void *app)
{
    create_common(req, app, 0);
}

void tv_tourn_console_create(tv_http_req_t *req, void *app)
{
    create_common(req, app, 1);
}

void tv_lb_console_list(tv_http_req_t *req, void *app)
{
    tv_http_reply_json(req, tv_lb_list_boards(lb_of(app), tv_now_s()));
}

void tv_lb_console_delete(tv_http_req_t *req, void *app)
{
    int rc = tv_lb_delete(lb_of(app), tv_http_param(req, 0));
    if (rc == TV_ENOTFOUND)
        tv_http_error(req, TV_ENOTFOUND, "Leaderboard not found.");
    else if (rc)
        tv_http_db_error(req, rc);
    else
        tv_http_reply_json(req, NULL);
}

/* GET /v2/console/leaderboard/{id}: the definition as listed, plus every period's records. */
void tv_lb_console_get(tv_http_req_t *req, void *app)
{
    const char *id = tv_http_param(req, 0);
    cJSON *o = tv_lb_board_json(lb_of(app), id, tv_now_s(), NULL);
    if (!o) {
        tv_http_error(req, TV_ENOTFOUND, "Leaderboard not found.");
        return;
    }
    int64_t total = 0;
    int rc = tv_lb_record_total(lb_of(app), id, &total);
    if (rc) {
        cJSON_Delete(o);
        tv_http_db_error(req, rc);
        return;
    }
    tv_json_add_int(o, "record_count", total);
    tv_http_reply_json(req, o);
}

/* The flags that make the record calls take board id, whichever kind it is; -1 after
 * answering 404. */
static int board_flags(tv_http_req_t *req, void *app, const char *id)
{
    int tournament = 0;
    cJSON *o = tv_lb_board_json(lb_of(app), id, tv_now_s(), &tournament);
    if (!o) {
        tv_http_error(req, TV_ENOTFOUND, "Leaderboard not found.");
        return -1;
    }
    cJSON_Delete(o);
    return tournament ? TV_LB_TOURNAMENT : 0;
}

/* GET /v2/console/leaderboard/{id}/records ?limit&cursor: the current period's top, ranked as
 * players see it (no owner_ids: the console asks for pages). */
void tv_lb_console_records(tv_http_req_t *req, void *app)
{
    const char *id = tv_http_param(req, 0);
    int limit;
    if (tv_http_query_limit(req, 100, TV_LB_LIST_MAX, &limit))
        return;
    int flags = board_flags(req, app, id);
    if (flags < 0)
        return;
    tv_lb_query_t q = {NULL, 0, limit, tv_http_query(req, "cursor", NULL), 0};
    cJSON *out;
    tv_lb_err_t err = {0};
    if (tv_lb_list_records(lb_of(app), id, &q, flags, tv_now_s(), &out, &err))
        reply_err(req, &err);
    else
        tv_http_reply_json(req, out);
}

/* DELETE /v2/console/leaderboard/{id}/owner/{owner_id}: removes the owner's record of the
 * current period, authoritative boards and tournaments included; the rank cache follows. */
void tv_lb_console_delete_record(tv_http_req_t *req, void *app)
{
    const char *id = tv_http_param(req, 0), *owner = tv_http_param(req, 1);
    if (!owner || !tv_uuid_valid(owner)) {
        tv_http_error(req, TV_EINVAL, "Invalid owner ID: must be a UUID.");
        return;
    }
    char lower[TV_UUID_LEN + 1];
    snprintf(lower, sizeof lower, "%s", owner);
    tv_uuid_lower(lower);
    int flags = board_flags(req, app, id);
    if (flags < 0)
        return;
    tv_lb_err_t err = {0};
    if (tv_lb_delete_record(lb_of(app), id, lower, flags | TV_LB_MUST_EXIST, tv_now_s(), &err))
        reply_err(req, &err);
    else
        tv_http_reply_json(req, NULL);
}
