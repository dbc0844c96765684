/* Unit tests of the matchmaker's pure part: ticket validation, queries both ways, rating
 * windows that widen per pass, group sizes, expiry and the per-session limit. A pass is the
 * clock: no threads, no sleeps. */
#include "check.h"
#include "error.h"
#include "matchmaker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tv_mm_params_t params = {.max_intervals = 3, .rating_step = 100,
                                      .rating_property = "rating", .max_per_session = 3};

/* A ticket from JSON text for session "s<session>"; NULL (with why) when refused. */
static tv_mm_ticket_t *ticket(int session, const char *json, const char **why)
{
    char sid[37], uid[37];
    snprintf(sid, sizeof sid, "00000000-0000-4000-8000-%012d", session);
    snprintf(uid, sizeof uid, "10000000-0000-4000-8000-%012d", session);
    cJSON *body = cJSON_Parse(json);
    tv_mm_ticket_t *t = NULL;
    const char *w = NULL;
    tv_mm_ticket_from_json(body, sid, uid, "player", params.rating_property, &t, &w);
    cJSON_Delete(body);
    if (why)
        *why = w;
    return t;
}

/* Adds a rated 1v1 ticket; returns it (borrowed: the pool owns it). */
static tv_mm_ticket_t *add_rated(tv_mm_pool_t *p, int session, double rating, int min, int max,
                                 int mult)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"min_count\":%d,\"max_count\":%d,\"count_multiple\":%d,\"query\":\"*\","
             "\"numeric_properties\":{\"rating\":%g}}", min, max, mult, rating);
    tv_mm_ticket_t *t = ticket(session, json, NULL);
    if (!t || tv_mm_pool_add(p, t) != TV_OK) {
        tv_mm_ticket_free(t);
        return NULL;
    }
    return t;
}

/* Whether r has a group made of exactly the tickets with these ids (any order). */
static int has_group(const tv_mm_result_t *r, const char *a, const char *b)
{
    for (size_t g = 0; g < r->ngroups; g++) {
        if (r->groups[g].n != 2)
            continue;
        const char *x = r->groups[g].t[0]->id, *y = r->groups[g].t[1]->id;
        if ((!strcmp(x, a) && !strcmp(y, b)) || (!strcmp(x, b) && !strcmp(y, a)))
            return 1;
    }
    return 0;
}

/* The shared query subset as the matchmaker uses it: -1 refused, else the should score;
 * -100 when the query does not parse. */
static int qscore(const char *query, const char *props)
{
    tv_query_t q;
    if (tv_query_parse(query, "properties.", &q) != TV_OK)
        return -100;
    cJSON *doc = cJSON_Parse(props);
    int s = tv_query_score(&q, doc, NULL);
    cJSON_Delete(doc);
    tv_query_free(&q);
    return s;
}

static void test_query(void)
{
    const char *p = "{\"region\":\"eu west\",\"mode\":\"ctf\",\"rating\":1200}";
    CHECK(qscore("*", p) == 1); /* a should term that always hits */
    CHECK(qscore("", p) == 0);
    CHECK(qscore("+properties.mode:ctf", p) == 0);
    CHECK(qscore("+properties.mode:tdm", p) == -1);
    CHECK(qscore("-properties.mode:ctf", p) == -1);
    CHECK(qscore("-properties.mode:tdm", p) == 0);
    CHECK(qscore("properties.mode:tdm properties.mode:ctf", p) == 1);
    CHECK(qscore("properties.mode:tdm properties.mode:koth", p) == -1); /* no should hit */
    CHECK(qscore("+properties.region:\"eu west\"", p) == 0);
    CHECK(qscore("+properties.rating:>=1200 +properties.rating:<1300", p) == 0);
    CHECK(qscore("+properties.rating:>1200", p) == -1);
    CHECK(qscore("+properties.rating:<=1199", p) == -1);
    CHECK(qscore("properties.mode:ctf^2 +properties.rating:>=1000^3", p) == 1); /* boosts */
    CHECK(qscore("+properties.region:\"eu west\"^2", p) == 0);
    CHECK(qscore("+properties.missing:x", p) == -1);
    CHECK(qscore("+properties.mode:*", p) == 0);
    CHECK(qscore("+label.mode:ctf", p) == -100);       /* another prefix */
    CHECK(qscore("+properties.region:\"eu", p) == -100); /* open quote */
    CHECK(qscore("+properties.rating:>=abc", p) == -100);
    CHECK(qscore("+properties.:x", p) == -100);
}

static void test_validation(void)
{
    const char *why;
    tv_mm_ticket_t *t = ticket(1, "{\"min_count\":1,\"max_count\":2}", &why);
    CHECK(!t && strstr(why, "minimum count"));
    t = ticket(1, "{\"min_count\":3,\"max_count\":2}", &why);
    CHECK(!t && strstr(why, "maximum count"));
    t = ticket(1, "{\"min_count\":2,\"max_count\":4,\"count_multiple\":3}", &why);
    CHECK(!t && strstr(why, "count multiple"));
    t = ticket(1, "{\"min_count\":2,\"max_count\":2,\"query\":\"+region:eu\"}", &why);
    CHECK(!t && strstr(why, "query"));
    t = ticket(1, "{\"min_count\":2,\"max_count\":2,\"query\":\"+properties.a:\\\"x\"}", &why);
    CHECK(!t && strstr(why, "query"));
    t = ticket(1, "{\"min_count\":2,\"max_count\":2,\"string_properties\":{\"a\":1}}", &why);
    CHECK(!t && strstr(why, "property value"));
    t = ticket(1, "{\"min_count\":2,\"max_count\":2,\"numeric_properties\":{\"a\":\"x\"}}", &why);
    CHECK(!t && strstr(why, "property value"));
    t = ticket(1, "{\"min_count\":2,\"max_count\":2,\"string_properties\":{\"a\":\"x\"},"
                  "\"numeric_properties\":{\"a\":1}}", &why);
    CHECK(!t && strstr(why, "Duplicate"));
    t = ticket(1, "{\"min_count\":\"2\",\"max_count\":2}", &why);
    CHECK(!t && strstr(why, "count"));
    char big[2048] = "{\"min_count\":2,\"max_count\":2,\"query\":\"";
    size_t n = strlen(big);
    memset(big + n, 'a', 1100);
    strcpy(big + n + 1100, "\"}");
    t = ticket(1, big, &why);
    CHECK(!t && strstr(why, "too long"));
    char many[4096] = "{\"min_count\":2,\"max_count\":2,\"numeric_properties\":{";
    for (int i = 0; i < 33; i++)
        sprintf(many + strlen(many), "%s\"p%d\":%d", i ? "," : "", i, i);
    strcat(many, "}}");
    t = ticket(1, many, &why);
    CHECK(!t && strstr(why, "Too many"));
    t = ticket(1, "{\"min_count\":2,\"max_count\":4,\"count_multiple\":2,\"query\":\"\","
                  "\"string_properties\":{\"mode\":\"ctf\"},\"numeric_properties\":"
                  "{\"rating\":1500}}", &why);
    CHECK(t && t->rated && t->rating == 1500 && strlen(t->id) == 36);
    tv_mm_ticket_free(t);
}

/* Each side's query must accept the other's properties. */
static void test_queries(void)
{
    tv_mm_pool_t p;
    tv_mm_pool_init(&p, &params);
    tv_mm_ticket_t *a = ticket(1, "{\"min_count\":2,\"max_count\":2,"
                                  "\"query\":\"+properties.mode:ctf +properties.level:>=10\","
                                  "\"string_properties\":{\"mode\":\"ctf\"},"
                                  "\"numeric_properties\":{\"level\":12}}", NULL);
    /* b satisfies a, but its own query wants region eu which a lacks */
    tv_mm_ticket_t *b = ticket(2, "{\"min_count\":2,\"max_count\":2,"
                                  "\"query\":\"+properties.region:eu\","
                                  "\"string_properties\":{\"mode\":\"ctf\",\"region\":\"eu\"},"
                                  "\"numeric_properties\":{\"level\":20}}", NULL);
    CHECK(a && b && tv_mm_pool_add(&p, a) == TV_OK && tv_mm_pool_add(&p, b) == TV_OK);
    tv_mm_result_t r;
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 0 && p.n == 2);
    tv_mm_result_free(&r);
    /* c: accepted by a and accepts a (should term hit, excluded term absent, boost ignored) */
    tv_mm_ticket_t *c = ticket(3, "{\"min_count\":2,\"max_count\":2,"
                                  "\"query\":\"properties.mode:ctf^2 properties.mode:tdm "
                                  "-properties.banned:\\\"yes\\\"\","
                                  "\"string_properties\":{\"mode\":\"ctf\"},"
                                  "\"numeric_properties\":{\"level\":10}}", NULL);
    /* d: accepted by nothing (level below a's range) */
    tv_mm_ticket_t *d = ticket(4, "{\"min_count\":2,\"max_count\":2,\"query\":\"*\","
                                  "\"string_properties\":{\"mode\":\"ctf\"},"
                                  "\"numeric_properties\":{\"level\":9}}", NULL);
    CHECK(c && d && tv_mm_pool_add(&p, d) == TV_OK && tv_mm_pool_add(&p, c) == TV_OK);
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1);
    CHECK(r.ngroups == 1 && has_group(&r, a->id, c->id));
    tv_mm_result_free(&r);
    CHECK(p.n == 2); /* b and d wait: neither has the region b wants */
    tv_mm_pool_clear(&p);
}

/* The close pair matches first; the far one only once its window has widened. */
static void test_widening(void)
{
    tv_mm_pool_t p;
    tv_mm_pool_init(&p, &(tv_mm_params_t){.max_intervals = 10, .rating_step = 100,
                                          .rating_property = "rating"});
    tv_mm_ticket_t *far = add_rated(&p, 1, 1250, 2, 2, 1);
    tv_mm_ticket_t *a = add_rated(&p, 2, 1000, 2, 2, 1);
    tv_mm_ticket_t *b = add_rated(&p, 3, 1060, 2, 2, 1);
    tv_mm_ticket_t *c = add_rated(&p, 4, 1400, 2, 2, 1);
    CHECK(far && a && b && c);
    tv_mm_result_t r;
    /* pass 1: windows +-100; far (oldest) finds nobody within 100, a-b do */
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1 && has_group(&r, a->id, b->id));
    tv_mm_result_free(&r);
    CHECK(p.n == 2 && far->intervals == 1 && c->intervals == 1);
    /* pass 2: windows +-200, distance 150: far and c meet */
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1 && has_group(&r, far->id, c->id));
    tv_mm_result_free(&r);
    CHECK(p.n == 0);

    /* the oldest ticket takes its closest, not the first in the pool */
    tv_mm_ticket_t *x = add_rated(&p, 5, 1500, 2, 2, 1);
    tv_mm_ticket_t *y = add_rated(&p, 6, 1580, 2, 2, 1);
    tv_mm_ticket_t *z = add_rated(&p, 7, 1510, 2, 2, 1);
    CHECK(x && y && z && tv_mm_pool_pass(&p, &r) == TV_OK && has_group(&r, x->id, z->id));
    tv_mm_result_free(&r);
    CHECK(p.n == 1 && p.t[0] == y);
    /* a fresh ticket's narrow window also binds the old one: distance 150 > 100 */
    tv_mm_ticket_t *w = add_rated(&p, 8, 1730, 2, 2, 1);
    CHECK(w && tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 0);
    tv_mm_result_free(&r);
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && has_group(&r, y->id, w->id));
    tv_mm_result_free(&r);
    tv_mm_pool_clear(&p);
}

static size_t group_size_of(const tv_mm_result_t *r, size_t g)
{
    return g < r->ngroups ? r->groups[g].n : 0;
}

static void test_counts(void)
{
    tv_mm_pool_t p;
    tv_mm_pool_init(&p, &(tv_mm_params_t){.max_intervals = 10, .rating_step = 100,
                                          .rating_property = "rating"});
    tv_mm_result_t r;
    /* 5 tickets of min 2 max 4: one group of 4 (filled to max), one left */
    for (int i = 0; i < 5; i++)
        CHECK(add_rated(&p, 10 + i, 1000 + i, 2, 4, 1));
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1 && group_size_of(&r, 0) == 4);
    tv_mm_result_free(&r);
    CHECK(p.n == 1);
    tv_mm_pool_clear(&p);

    /* count_multiple 2, min 2 max 6: 5 tickets make a group of 4, never 5 */
    for (int i = 0; i < 5; i++)
        CHECK(add_rated(&p, 20 + i, 1000 + i, 2, 6, 2));
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1 && group_size_of(&r, 0) == 4);
    tv_mm_result_free(&r);
    tv_mm_pool_clear(&p);

    /* min 3: two tickets never form a group */
    CHECK(add_rated(&p, 30, 1000, 3, 3, 1) && add_rated(&p, 31, 1000, 3, 3, 1));
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 0);
    tv_mm_result_free(&r);
    /* different counts do not mix, a third 3-3 completes the group */
    CHECK(add_rated(&p, 32, 1000, 2, 3, 1) && add_rated(&p, 33, 1000, 3, 3, 1));
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1 && group_size_of(&r, 0) == 3);
    for (size_t i = 0; i < group_size_of(&r, 0); i++)
        CHECK(r.groups[0].t[i]->min_count == 3);
    tv_mm_result_free(&r);
    tv_mm_pool_clear(&p);

    /* a session never matches itself */
    CHECK(add_rated(&p, 40, 1000, 2, 2, 1) && add_rated(&p, 40, 1000, 2, 2, 1));
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 0);
    tv_mm_result_free(&r);
    tv_mm_pool_clear(&p);

    /* unrated tickets match each other by arrival, whatever the distance */
    tv_mm_ticket_t *u1 = ticket(50, "{\"min_count\":2,\"max_count\":2}", NULL);
    tv_mm_ticket_t *u2 = ticket(51, "{\"min_count\":2,\"max_count\":2}", NULL);
    CHECK(u1 && u2 && tv_mm_pool_add(&p, u1) == TV_OK && tv_mm_pool_add(&p, u2) == TV_OK);
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1 && has_group(&r, u1->id, u2->id));
    tv_mm_result_free(&r);
    tv_mm_pool_clear(&p);
}

static void test_expiry_and_limits(void)
{
    tv_mm_pool_t p;
    tv_mm_pool_init(&p, &params); /* 3 intervals, 3 tickets per session */
    tv_mm_result_t r;
    tv_mm_ticket_t *lone = add_rated(&p, 1, 1000, 2, 2, 1);
    CHECK(lone != NULL);
    char id[37];
    snprintf(id, sizeof id, "%s", lone->id);
    for (int i = 0; i < 2; i++) {
        CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.nexpired == 0 && p.n == 1);
        tv_mm_result_free(&r);
    }
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.nexpired == 1 && p.n == 0);
    CHECK(r.nexpired == 1 && strcmp(r.expired[0]->id, id) == 0);
    tv_mm_result_free(&r);

    /* 3 tickets per session, a 4th refused; others unaffected */
    tv_mm_ticket_t *t1 = add_rated(&p, 2, 1000, 2, 2, 1);
    CHECK(t1 && add_rated(&p, 2, 1000, 2, 2, 1) && add_rated(&p, 2, 1000, 2, 2, 1));
    tv_mm_ticket_t *extra = ticket(2, "{\"min_count\":2,\"max_count\":2}", NULL);
    CHECK(extra && tv_mm_pool_add(&p, extra) == TV_EBUSY);
    tv_mm_ticket_free(extra);
    CHECK(add_rated(&p, 3, 1000, 2, 2, 1) != NULL);
    CHECK(tv_mm_pool_session_count(&p, t1->session_id) == 3);
    /* removal: only by the owner */
    CHECK(tv_mm_pool_remove(&p, "00000000-0000-4000-8000-000000000003", t1->id) == TV_ENOTFOUND);
    CHECK(tv_mm_pool_remove(&p, t1->session_id, t1->id) == TV_OK);
    CHECK(tv_mm_pool_remove(&p, "00000000-0000-4000-8000-000000000002", "nope") == TV_ENOTFOUND);
    CHECK(p.n == 3);
    CHECK(tv_mm_pool_remove_session(&p, "00000000-0000-4000-8000-000000000002") == 2);
    CHECK(p.n == 1);
    tv_mm_pool_clear(&p);
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 0 && r.nexpired == 0);
    tv_mm_result_free(&r);
}

/* Listing: every ticket or one user's / session's, oldest first, with the fields as sent, a
 * limit that still counts the rest; a remove by id alone (a module's) takes any session's. */
static void test_list(void)
{
    tv_mm_pool_t p;
    tv_mm_pool_init(&p, &params);
    tv_mm_ticket_t *a = ticket(1, "{\"min_count\":2,\"max_count\":4,\"count_multiple\":2,"
                                  "\"query\":\"+properties.mode:ctf\","
                                  "\"string_properties\":{\"mode\":\"ctf\"},"
                                  "\"numeric_properties\":{\"rating\":1500}}", NULL);
    tv_mm_ticket_t *b = ticket(2, "{\"min_count\":2,\"max_count\":2}", NULL);
    tv_mm_ticket_t *c = ticket(1, "{\"min_count\":2,\"max_count\":3,\"query\":\"\"}", NULL);
    CHECK(a && b && c && tv_mm_pool_add(&p, a) == TV_OK && tv_mm_pool_add(&p, b) == TV_OK &&
          tv_mm_pool_add(&p, c) == TV_OK);
    size_t total = 0;
    cJSON *all = tv_mm_pool_list(&p, NULL, NULL, 0, &total);
    CHECK(cJSON_GetArraySize(all) == 3 && total == 3);
    cJSON *first = cJSON_GetArrayItem(all, 0);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(first, "ticket")), a->id));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(first, "session_id")), a->session_id));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(first, "user_id")), a->user_id));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(first, "username")), "player"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(first, "query")),
                  "+properties.mode:ctf"));
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(first, "max_count")) == 4);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(first, "count_multiple")) == 2);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(first, "intervals")) == 0);
    CHECK(cJSON_GetObjectItem(first, "create_time") != NULL);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(first, "string_properties"), "mode")), "ctf"));
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(first, "numeric_properties"), "rating")) == 1500);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(all, 2),
                                                           "query")), "*"));
    cJSON_Delete(all);
    cJSON *mine = tv_mm_pool_list(&p, NULL, a->session_id, 0, &total);
    CHECK(cJSON_GetArraySize(mine) == 2 && total == 2);
    cJSON_Delete(mine);
    cJSON *user = tv_mm_pool_list(&p, b->user_id, "", 0, &total);
    CHECK(cJSON_GetArraySize(user) == 1 && total == 1);
    cJSON_Delete(user);
    cJSON *two = tv_mm_pool_list(&p, NULL, NULL, 2, &total);
    CHECK(cJSON_GetArraySize(two) == 2 && total == 3);
    cJSON_Delete(two);
    /* a pass ages them: the listing shows it */
    tv_mm_result_t r;
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK);
    tv_mm_result_free(&r);
    all = tv_mm_pool_list(&p, NULL, NULL, 0, NULL);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(all, 0), "intervals")) ==
          1);
    cJSON_Delete(all);
    char bid[37];
    memcpy(bid, b->id, sizeof bid); /* b is freed by its removal */
    CHECK(tv_mm_pool_remove(&p, NULL, bid) == TV_OK);
    CHECK(tv_mm_pool_remove(&p, NULL, bid) == TV_ENOTFOUND);
    CHECK(p.n == 2);
    tv_mm_pool_clear(&p);
}

/* An entry {"n": i}. */
static cJSON *entry(int i)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "n", i);
    return e;
}

static int entry_n(const cJSON *arr, int k)
{
    return (int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, k), "n"));
}

/* The history ring: newest first, bounded, the oldest dropped, limits honoured. */
static void test_history(void)
{
    tv_mm_history_t h;
    CHECK(tv_mm_history_init(&h, 0) == TV_EINVAL);
    CHECK(tv_mm_history_init(&h, 4) == TV_OK);
    cJSON *l = tv_mm_history_list(&h, 0);
    CHECK(cJSON_GetArraySize(l) == 0);
    cJSON_Delete(l);
    for (int i = 1; i <= 3; i++)
        tv_mm_history_push(&h, entry(i));
    tv_mm_history_push(&h, NULL); /* ignored */
    l = tv_mm_history_list(&h, 0);
    CHECK(cJSON_GetArraySize(l) == 3 && entry_n(l, 0) == 3 && entry_n(l, 2) == 1);
    cJSON_Delete(l);
    for (int i = 4; i <= 10; i++)
        tv_mm_history_push(&h, entry(i));
    l = tv_mm_history_list(&h, 0);
    CHECK(cJSON_GetArraySize(l) == 4);
    CHECK(entry_n(l, 0) == 10 && entry_n(l, 1) == 9 && entry_n(l, 2) == 8 && entry_n(l, 3) == 7);
    cJSON_Delete(l);
    l = tv_mm_history_list(&h, 2);
    CHECK(cJSON_GetArraySize(l) == 2 && entry_n(l, 0) == 10 && entry_n(l, 1) == 9);
    cJSON_Delete(l);
    l = tv_mm_history_list(&h, 100);
    CHECK(cJSON_GetArraySize(l) == 4);
    cJSON_Delete(l);
    CHECK(tv_mm_history_pushed(&h) == 10);
    tv_mm_history_free(&h);
}

/* A party ticket of the sessions first..first+n-1 (the first the leader), unrated and with
 * the given counts; added to p. Borrowed (the pool owns it); NULL when refused. */
static tv_mm_ticket_t *add_party(tv_mm_pool_t *p, const char *party, int first, int n, int min,
                                 int max, int mult)
{
    char json[128];
    snprintf(json, sizeof json, "{\"min_count\":%d,\"max_count\":%d,\"count_multiple\":%d}",
             min, max, mult);
    tv_mm_ticket_t *t = ticket(first, json, NULL);
    tv_mm_member_t m[8] = {0};
    for (int i = 0; i < n && i < 8; i++) {
        snprintf(m[i].session_id, sizeof m[i].session_id, "00000000-0000-4000-8000-%012d",
                 first + i);
        snprintf(m[i].user_id, sizeof m[i].user_id, "10000000-0000-4000-8000-%012d", first + i);
        snprintf(m[i].username, sizeof m[i].username, "member%d", i);
    }
    if (!t || tv_mm_ticket_set_party(t, party, m, (size_t)n) != TV_OK ||
        tv_mm_pool_add(p, t) != TV_OK) {
        tv_mm_ticket_free(t);
        return NULL;
    }
    return t;
}

static tv_mm_ticket_t *add_solo(tv_mm_pool_t *p, int session, int min, int max, int mult)
{
    char json[128];
    snprintf(json, sizeof json, "{\"min_count\":%d,\"max_count\":%d,\"count_multiple\":%d}",
             min, max, mult);
    tv_mm_ticket_t *t = ticket(session, json, NULL);
    if (!t || tv_mm_pool_add(p, t) != TV_OK) {
        tv_mm_ticket_free(t);
        return NULL;
    }
    return t;
}

/* Players of group g. */
static int players_of(const tv_mm_result_t *r, size_t g)
{
    int n = 0;
    for (size_t i = 0; i < r->groups[g].n; i++)
        n += r->groups[g].t[i]->count;
    return n;
}

static int group_has(const tv_mm_result_t *r, size_t g, const char *id)
{
    for (size_t i = 0; i < r->groups[g].n; i++)
        if (!strcmp(r->groups[g].t[i]->id, id))
            return 1;
    return 0;
}

/* Party tickets: one ticket counting as its members, matched whole, never against one of its
 * own sessions nor alone; the cut to count_multiple by players; removal by party and by any
 * member's session; a limit per party. */
static void test_party(void)
{
    tv_mm_pool_t p;
    tv_mm_pool_init(&p, &(tv_mm_params_t){.max_intervals = 10, .rating_step = 100,
                                          .rating_property = "rating", .max_per_session = 2});
    tv_mm_result_t r;
    const char *P1 = "11111111-1111-4111-8111-111111111111.tavern";
    const char *P2 = "22222222-2222-4222-8222-222222222222.tavern";

    /* a party of 2 and a solo player make a group of 3 (two tickets) */
    tv_mm_ticket_t *pt = add_party(&p, P1, 100, 2, 3, 3, 1), *solo = add_solo(&p, 200, 3, 3, 1);
    CHECK(pt && pt->count == 2 && solo && solo->count == 1);
    CHECK(pt && !strcmp(pt->session_id, "00000000-0000-4000-8000-000000000100"));
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1 && r.groups[0].n == 2 &&
          players_of(&r, 0) == 3);
    tv_mm_result_free(&r);
    CHECK(p.n == 0);

    /* two solos alone do not reach min 3 by tickets... but a party of 2 with one does; with
     * two solos and max 3 the party takes one, the other waits */
    pt = add_party(&p, P1, 100, 2, 3, 3, 1);
    tv_mm_ticket_t *s1 = add_solo(&p, 201, 3, 3, 1), *s2 = add_solo(&p, 202, 3, 3, 1);
    CHECK(pt && s1 && s2);
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1 && players_of(&r, 0) == 3 &&
          r.groups[0].n == 2 && p.n == 1);
    tv_mm_result_free(&r);
    tv_mm_pool_clear(&p);

    /* a party never matches alone, even when it fills min_count */
    CHECK(add_party(&p, P1, 100, 2, 2, 2, 1) != NULL);
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 0);
    tv_mm_result_free(&r);
    /* nor with a solo ticket of one of its members' sessions (nor a party sharing one) */
    tv_mm_pool_clear(&p);
    CHECK(add_party(&p, P1, 100, 2, 3, 3, 1) && add_solo(&p, 101, 3, 3, 1));
    CHECK(add_party(&p, P2, 101, 2, 3, 4, 1));
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 0);
    tv_mm_result_free(&r);
    tv_mm_pool_clear(&p);

    /* a party that does not fit in max_count is skipped, the solos still match */
    CHECK(add_solo(&p, 300, 2, 2, 1) && add_party(&p, P1, 100, 2, 2, 2, 1) &&
          add_solo(&p, 301, 2, 2, 1));
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1 && r.groups[0].n == 2 &&
          players_of(&r, 0) == 2 && r.groups[0].t[0]->count == 1 &&
          r.groups[0].t[1]->count == 1);
    tv_mm_result_free(&r);
    tv_mm_pool_clear(&p);

    /* the cut by players: min 3, max 6, multiple 3; a (1), b (1), a party c (2) gather 4
     * players; 3 is a + c, so b (not the last gathered) is the one left out */
    tv_mm_ticket_t *a = add_solo(&p, 400, 3, 6, 3), *b = add_solo(&p, 401, 3, 6, 3);
    tv_mm_ticket_t *c = add_party(&p, P1, 100, 2, 3, 6, 3);
    CHECK(a && b && c);
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1 && players_of(&r, 0) == 3 &&
          r.groups[0].n == 2 && group_has(&r, 0, a->id) && group_has(&r, 0, c->id));
    tv_mm_result_free(&r);
    CHECK(p.n == 1 && p.t[0] == b);
    tv_mm_pool_clear(&p);

    /* no multiple reachable: a party of 2 and a solo with multiple 2 (3 players) wait */
    CHECK(add_party(&p, P1, 100, 2, 2, 4, 2) && add_solo(&p, 500, 2, 4, 2));
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 0 && p.n == 2);
    tv_mm_result_free(&r);
    /* a second party of 2 completes 4 (the two parties), the solo waits */
    CHECK(add_party(&p, P2, 110, 2, 2, 4, 2) != NULL);
    CHECK(tv_mm_pool_pass(&p, &r) == TV_OK && r.ngroups == 1 && players_of(&r, 0) == 4 &&
          r.groups[0].n == 2 && r.groups[0].t[0]->count == 2 && r.groups[0].t[1]->count == 2);
    tv_mm_result_free(&r);
    CHECK(p.n == 1 && p.t[0]->count == 1);
    tv_mm_pool_clear(&p);

    /* too large for its max_count, refused when made */
    tv_mm_ticket_t *big = ticket(600, "{\"min_count\":2,\"max_count\":2}", NULL);
    tv_mm_member_t three[3] = {{"a", "a", "a"}, {"b", "b", "b"}, {"c", "c", "c"}};
    CHECK(big && tv_mm_ticket_set_party(big, P1, three, 3) == TV_EINVAL);
    CHECK(big && tv_mm_ticket_set_party(big, "", three, 2) == TV_EINVAL);
    tv_mm_ticket_free(big);

    /* limits and removal: 2 tickets per party (not counted against the leader's own), a
     * party ticket is not the leader's to remove as its own, goes by party id, by ticket id,
     * or when any member's session closes */
    tv_mm_ticket_t *q1 = add_party(&p, P1, 100, 3, 2, 8, 1);
    CHECK(q1 && add_party(&p, P1, 100, 3, 2, 8, 1) && !add_party(&p, P1, 100, 3, 2, 8, 1));
    CHECK(add_solo(&p, 100, 2, 8, 1) && add_solo(&p, 100, 2, 8, 1));
    CHECK(tv_mm_pool_session_count(&p, "00000000-0000-4000-8000-000000000100") == 2);
    CHECK(p.n == 4 && tv_mm_pool_remove(&p, q1->session_id, q1->id) == TV_ENOTFOUND);
    CHECK(tv_mm_pool_remove_party(&p, P2, q1->id) == 0);
    CHECK(tv_mm_pool_remove_party(&p, P1, q1->id) == 1 && p.n == 3);
    CHECK(tv_mm_pool_remove_session(&p, "00000000-0000-4000-8000-000000000102") == 1);
    CHECK(p.n == 2 && add_party(&p, P1, 100, 2, 2, 8, 1) && add_party(&p, P1, 100, 2, 2, 8, 1));
    CHECK(tv_mm_pool_remove_party(&p, P1, NULL) == 2 && p.n == 2);
    /* listing shows the party and its size */
    CHECK(add_party(&p, P2, 700, 2, 2, 8, 1) != NULL);
    cJSON *l = tv_mm_pool_list(&p, NULL, "00000000-0000-4000-8000-000000000700", 0, NULL);
    cJSON *e = cJSON_GetArrayItem(l, 0);
    CHECK(e && !strcmp(cJSON_GetObjectItem(e, "party_id")->valuestring, P2) &&
          cJSON_GetObjectItem(e, "count")->valueint == 2);
    cJSON_Delete(l);
    tv_mm_pool_clear(&p);
}

int main(void)
{
    test_query();
    test_validation();
    test_queries();
    test_widening();
    test_counts();
    test_expiry_and_limits();
    test_list();
    test_history();
    test_party();
    return check_summary();
}
