/* Matchmaker tickets: building one from a matchmaker_add body, with every limit checked, and
 * freeing it. Runs on the socket thread that received the message: no locks, no waiting. */
#include "matchmaker.h"
#include "error.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tv_mm_ticket_free(tv_mm_ticket_t *t)
{
    if (!t)
        return;
    tv_query_free(&t->query);
    free(t->query_text);
    cJSON_Delete(t->strings);
    cJSON_Delete(t->numerics);
    cJSON_Delete(t->props);
    free(t->members);
    free(t);
}

int tv_mm_ticket_set_party(tv_mm_ticket_t *t, const char *party_id,
                           const tv_mm_member_t *members, size_t n)
{
    if (n < 1 || n > (size_t)t->max_count || !party_id || !*party_id ||
        strlen(party_id) >= sizeof t->party_id)
        return TV_EINVAL;
    tv_mm_member_t *m = malloc(n * sizeof *m);
    if (!m)
        return TV_ENOMEM;
    memcpy(m, members, n * sizeof *m);
    free(t->members);
    t->members = m;
    t->count = (int)n;
    memcpy(t->party_id, party_id, strlen(party_id) + 1);
    memcpy(t->session_id, m[0].session_id, sizeof t->session_id);
    memcpy(t->user_id, m[0].user_id, sizeof t->user_id);
    memcpy(t->username, m[0].username, sizeof t->username);
    return TV_OK;
}

const tv_mm_member_t *tv_mm_ticket_member(const tv_mm_ticket_t *t, int i,
                                          tv_mm_member_t *scratch)
{
    if (t->members)
        return &t->members[i];
    memcpy(scratch->session_id, t->session_id, sizeof scratch->session_id);
    memcpy(scratch->user_id, t->user_id, sizeof scratch->user_id);
    memcpy(scratch->username, t->username, sizeof scratch->username);
    return scratch;
}

/* An optional whole number field; *out keeps its default when absent. */
static int get_count(const cJSON *body, const char *snake, const char *camel, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, snake);
    if (!v)
        v = cJSON_GetObjectItemCaseSensitive(body, camel);
    if (!v || cJSON_IsNull(v))
        return TV_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > 1e6)
        return TV_EINVAL;
    *out = (int)v->valuedouble;
    return TV_OK;
}

static int check_counts(const tv_mm_ticket_t *t, const char **why)
{
    if (t->min_count < 2)
        return *why = "Invalid minimum count, must be >= 2", TV_EINVAL;
    if (t->max_count < t->min_count)
        return *why = "Invalid maximum count, must be >= minimum count", TV_EINVAL;
    if (t->max_count > TV_MM_COUNT_MAX)
        return *why = "Invalid maximum count, must be <= 256", TV_EINVAL;
    if (t->count_multiple < 1)
        return *why = "Invalid count multiple, must be >= 1", TV_EINVAL;
    if (t->min_count % t->count_multiple || t->max_count % t->count_multiple)
        return *why = "Invalid count multiple, must divide minimum and maximum count", TV_EINVAL;
    return TV_OK;
}

/* Copies an optional properties object of strings (numeric 0) or numbers (numeric 1) into
 * *dst and into the merged props, counting them in *count. */
static int copy_props(const cJSON *body, const char *snake, const char *camel, int numeric,
                      cJSON **dst, cJSON *props, int *count, const char **why)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(body, snake);
    if (!src)
        src = cJSON_GetObjectItemCaseSensitive(body, camel);
    if (!(*dst = cJSON_CreateObject()))
        return TV_ENOMEM;
    if (!src || cJSON_IsNull(src))
        return TV_OK;
    if (!cJSON_IsObject(src))
        return *why = "Invalid matchmaker properties", TV_EINVAL;
    for (const cJSON *e = src->child; e; e = e->next) {
        if (++*count > TV_MM_PROPS_MAX)
            return *why = "Too many matchmaker properties (at most 32)", TV_EINVAL;
        if (!*e->string || strlen(e->string) > TV_MM_PROP_KEY_MAX ||
            strchr(e->string, '.'))
            return *why = "Invalid matchmaker property name", TV_EINVAL;
        if (cJSON_GetObjectItemCaseSensitive(props, e->string))
            return *why = "Duplicate matchmaker property name", TV_EINVAL;
        if (numeric ? !cJSON_IsNumber(e) || !isfinite(e->valuedouble) : !cJSON_IsString(e))
            return *why = "Invalid matchmaker property value", TV_EINVAL;
        if (!numeric && strlen(e->valuestring) > TV_MM_PROP_VALUE_MAX)
            return *why = "Matchmaker property value too long (at most 256 bytes)", TV_EINVAL;
        cJSON *a = cJSON_Duplicate(e, 0), *b = cJSON_Duplicate(e, 0);
        if (!a || !b || !cJSON_AddItemToObject(*dst, e->string, a) ||
            !cJSON_AddItemToObject(props, e->string, b)) {
            cJSON_Delete(b); /* a is *dst's when the second add failed */
            return TV_ENOMEM;
        }
    }
    return TV_OK;
}

static int parse_query(const cJSON *body, tv_mm_ticket_t *t, const char **why)
{
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "query");
    const char *text = "*"; /* Nakama reads an empty query as match-all */
    if (q && !cJSON_IsNull(q)) {
        if (!cJSON_IsString(q))
            return *why = "Invalid matchmaker query", TV_EINVAL;
        if (strlen(q->valuestring) > TV_MM_QUERY_MAX)
            return *why = "Matchmaker query too long (at most 1024 bytes)", TV_EINVAL;
        if (*q->valuestring)
            text = q->valuestring;
    }
    int rc = tv_query_parse(text, "properties.", &t->query);
    if (rc == TV_EINVAL)
        *why = "Invalid matchmaker query";
    if (rc == TV_OK && !(t->query_text = tv_strdup(text)))
        rc = TV_ENOMEM;
    return rc;
}

static int fill(tv_mm_ticket_t *t, const cJSON *body, const char *rating_property,
                const char **why)
{
    t->count_multiple = 1;
    if (get_count(body, "min_count", "minCount", &t->min_count) ||
        get_count(body, "max_count", "maxCount", &t->max_count) ||
        get_count(body, "count_multiple", "countMultiple", &t->count_multiple))
        return *why = "Invalid matchmaker count", TV_EINVAL;
    int rc = check_counts(t, why);
    if (rc == TV_OK)
        rc = parse_query(body, t, why);
    if (rc != TV_OK)
        return rc;
    if (!(t->props = cJSON_CreateObject()))
        return TV_ENOMEM;
    int count = 0;
    if ((rc = copy_props(body, "string_properties", "stringProperties", 0, &t->strings,
                         t->props, &count, why)) != TV_OK ||
        (rc = copy_props(body, "numeric_properties", "numericProperties", 1, &t->numerics,
                         t->props, &count, why)) != TV_OK)
        return rc;
    const cJSON *r = rating_property && *rating_property
                         ? cJSON_GetObjectItemCaseSensitive(t->numerics, rating_property)
                         : NULL;
    if (r) {
        t->rated = 1;
        t->rating = r->valuedouble;
    }
    return TV_OK;
}

int tv_mm_ticket_from_json(const cJSON *body, const char *session_id, const char *user_id,
                           const char *username, const char *rating_property,
                           tv_mm_ticket_t **out, const char **why)
{
    *out = NULL;
    *why = "Invalid matchmaker ticket";
    if (!cJSON_IsObject(body))
        return TV_EINVAL;
    tv_mm_ticket_t *t = calloc(1, sizeof *t);
    if (!t)
        return TV_ENOMEM;
    int rc = fill(t, body, rating_property, why);
    if (rc != TV_OK) {
        tv_mm_ticket_free(t);
        return rc;
    }
    tv_uuid_v4(t->id);
    t->count = 1;
    t->create_ms = tv_now_ms();
    snprintf(t->session_id, sizeof t->session_id, "%s", session_id);
    snprintf(t->user_id, sizeof t->user_id, "%s", user_id);
    snprintf(t->username, sizeof t->username, "%s", username);
    *out = t;
    return TV_OK;
}

cJSON *tv_mm_ticket_json(const tv_mm_ticket_t *t)
{
    char when[32];
    tv_time_rfc3339(t->create_ms / 1000, when);
    cJSON *o = cJSON_CreateObject();
    cJSON *s = cJSON_Duplicate(t->strings, 1), *n = cJSON_Duplicate(t->numerics, 1);
    if (!o || !s || !n || !cJSON_AddStringToObject(o, "ticket", t->id) ||
        !cJSON_AddStringToObject(o, "session_id", t->session_id) ||
        !cJSON_AddStringToObject(o, "user_id", t->user_id) ||
        !cJSON_AddStringToObject(o, "username", t->username) ||
        !cJSON_AddStringToObject(o, "create_time", when) ||
        !cJSON_AddNumberToObject(o, "intervals", t->intervals) ||
        !cJSON_AddNumberToObject(o, "min_count", t->min_count) ||
        !cJSON_AddNumberToObject(o, "max_count", t->max_count) ||
        !cJSON_AddNumberToObject(o, "count_multiple", t->count_multiple) ||
        !cJSON_AddStringToObject(o, "query", t->query_text ? t->query_text : "*")) {
        cJSON_Delete(o), cJSON_Delete(s), cJSON_Delete(n);
        return NULL;
    }
    cJSON_AddItemToObject(o, "string_properties", s);
    cJSON_AddItemToObject(o, "numeric_properties", n);
    if (t->party_id[0] && (!cJSON_AddStringToObject(o, "party_id", t->party_id) ||
                           !cJSON_AddNumberToObject(o, "count", t->count))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
