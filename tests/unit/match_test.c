/* Tests for server/match/relayed.c: ids (UUIDv5, match id parsing), the match_data_send codec
 * (op_code, base64 forms, targets), and the registry's state through joins, leaves, closes and
 * listings, plus the authoritative hooks. The wire format over real sockets is covered by
 * tests/integration/realtime.test.mjs. Includes relayed.c to reach its statics. */
#include "match/relayed.c"

#include <stdio.h>

#include "check.h"

static int never_auth(void *ud, const char *token, tv_rt_identity_t *out)
{
    (void)ud;
    (void)token;
    (void)out;
    return -1;
}

/* ---- ids ----------------------------------------------------------------------------------- */

static void test_ids(void)
{
    char u[37];
    tv_match_uuid_v5_dns("python.org", u);
    CHECK_AS(strcmp(u, "886313e1-3b8a-5372-9b90-0c9aee199e5d") == 0,
          "UUIDv5(DNS, python.org), Python's uuid5 test vector");
    tv_match_uuid_v5_dns("www.example.com", u);
    CHECK_AS(strcmp(u, "2ed6657d-e927-568b-95e1-2665a8aea6a2") == 0, "UUIDv5(DNS, www.example.com)");
    tv_match_uuid_v5_dns("", u);
    CHECK_AS(strcmp(u, "4ebd0208-8328-5d69-8c44-ec50939c0967") == 0, "UUIDv5(DNS, empty name)");

    match_ref_t r;
    CHECK_AS(parse_match_id("0AF0F0F0-1111-4111-8111-111111111111.", &r) == TV_OK &&
              strcmp(r.uuid, "0af0f0f0-1111-4111-8111-111111111111") == 0 && !*r.node,
          "\"<uuid>.\" is relayed; the uuid is lower-cased");
    CHECK_AS(parse_match_id("0af0f0f0-1111-4111-8111-111111111111.nakama", &r) == TV_OK &&
              strcmp(r.node, "nakama") == 0,
          "\"<uuid>.<node>\" is authoritative");
    CHECK_AS(parse_match_id("0af0f0f0-1111-4111-8111-111111111111", &r) == TV_EINVAL &&
              parse_match_id("0af0f0f0-1111-4111-8111-11111111111.", &r) == TV_EINVAL &&
              parse_match_id("zzzzzzzz-1111-4111-8111-111111111111.", &r) == TV_EINVAL &&
              parse_match_id("", &r) == TV_EINVAL && parse_match_id(NULL, &r) == TV_EINVAL,
          "no dot, a short or non-hex uuid, empty or absent -> invalid");
}

/* ---- the match_data_send codec ------------------------------------------------------------ */

static int op_of(const char *json, int64_t *out)
{
    cJSON *v = cJSON_Parse(json);
    int rc = tv_json_int64(v, out);
    cJSON_Delete(v);
    return rc;
}

static void test_op_code(void)
{
    int64_t v;
    CHECK_AS(op_of("\"12\"", &v) == TV_OK && v == 12, "op_code \"12\" (nakama-js sends strings)");
    CHECK_AS(op_of("12", &v) == TV_OK && v == 12, "op_code 12 as a number");
    CHECK_AS(op_of("\"-3\"", &v) == TV_OK && v == -3, "negative op_code");
    CHECK_AS(op_of("\"9223372036854775807\"", &v) == TV_OK && v == INT64_MAX, "int64 max as text");
    CHECK_AS(op_of("\"9223372036854775808\"", &v) == TV_EINVAL, "past int64 -> invalid");
    CHECK_AS(op_of("1.5", &v) == TV_EINVAL && op_of("\"1.5\"", &v) == TV_EINVAL &&
              op_of("\"\"", &v) == TV_EINVAL && op_of("\"abc\"", &v) == TV_EINVAL &&
              op_of("\" 1\"", &v) == TV_EINVAL && op_of("true", &v) == TV_EINVAL &&
              op_of("[]", &v) == TV_EINVAL && op_of("1e300", &v) == TV_EINVAL,
          "fractions, blanks, text, bools, arrays and huge numbers -> invalid");
    CHECK_AS(tv_json_int64(NULL, &v) == TV_OK && v == 0, "absent op_code is 0");
}

/* Normalises s; *out gets the relayed text ("" for none). */
static int data_of(const char *s, char *out, size_t n)
{
    const char *data;
    char *owned;
    int rc = tv_json_bytes_b64(s, &data, &owned);
    snprintf(out, n, "%s", rc == TV_OK && data ? data : "");
    free(owned);
    return rc;
}

static void test_base64(void)
{
    char o[64];
    CHECK_AS(data_of("AAEC", o, sizeof o) == TV_OK && strcmp(o, "AAEC") == 0, "standard base64 as is");
    CHECK_AS(data_of("AAE=", o, sizeof o) == TV_OK && strcmp(o, "AAE=") == 0, "padded as is");
    CHECK_AS(data_of("AAE", o, sizeof o) == TV_OK && strcmp(o, "AAE=") == 0,
          "unpadded is accepted and re-padded");
    CHECK_AS(data_of("-_8=", o, sizeof o) == TV_OK && strcmp(o, "+/8=") == 0,
          "URL-safe is accepted and sent in the standard alphabet");
    CHECK_AS(data_of("AA\r\nEC", o, sizeof o) == TV_OK && strcmp(o, "AAEC") == 0,
          "CR/LF are ignored, as Go does");
    CHECK_AS(data_of("", o, sizeof o) == TV_OK && !*o, "empty data is left out");
    CHECK_AS(data_of("!!!!", o, sizeof o) == TV_EINVAL && data_of("AAE==", o, sizeof o) == TV_EINVAL &&
              data_of("A", o, sizeof o) == TV_EINVAL,
          "bad characters, stray padding, a lone char -> invalid");
    const char *data;
    char *owned;
    const char *std = "AAE=";
    CHECK_AS(tv_json_bytes_b64(std, &data, &owned) == TV_OK && data == std && !owned,
          "the standard form is relayed as it came, not copied");
    CHECK_AS(tv_json_bytes_b64("AAE", &data, &owned) == TV_OK && owned && data == owned,
          "another form is re-encoded into a copy");
    free(owned);
}

static cJSON *body; /* the last parsed request: d.id points into it */

static int parse_of(const char *json, data_msg_t *d)
{
    cJSON_Delete(body);
    body = cJSON_Parse(json);
    memset(d, 0, sizeof *d);
    return parse_data(body, d);
}

static void test_parse_data(void)
{
    data_msg_t d;
    int rc = parse_of("{\"match_id\":\"x\",\"op_code\":\"1\",\"data\":\"AAE=\",\"reliable\":true,"
                      "\"presences\":[{\"user_id\":\"00000000-0000-4000-8000-000000000001\","
                      "\"session_id\":\"00000000-0000-4000-8000-0000000000AB\"}]}",
                      &d);
    CHECK_AS(rc == TV_OK && d.op_code == 1 && d.reliable && d.ntargets == 1 && !d.drop &&
              strcmp(d.targets[0], "00000000-0000-4000-8000-0000000000ab") == 0,
          "match_data_send fields; target session ids lower-cased");
    data_msg_free(&d);
    rc = parse_of("{\"presences\":[{\"user_id\":\"nope\",\"session_id\":\"x\"}]}", &d);
    CHECK_AS(rc == TV_OK && d.drop, "a target with a bad id drops the message (no error)");
    data_msg_free(&d);
    CHECK_AS(parse_of("{\"presences\":{}}", &d) == TV_EINVAL, "presences not an array -> malformed");
    data_msg_free(&d);
    CHECK_AS(parse_of("{\"reliable\":\"yes\"}", &d) == TV_EINVAL, "reliable not a bool -> malformed");
    data_msg_free(&d);
    CHECK_AS(parse_of("{\"data\":5}", &d) == TV_EINVAL, "data not a string -> malformed");
    data_msg_free(&d);
    CHECK_AS(parse_of("{\"matchId\":\"m\",\"opCode\":7}", &d) == TV_OK && d.op_code == 7 &&
              strcmp(d.id, "m") == 0,
          "lowerCamel field names are read too");
    data_msg_free(&d);
    cJSON_Delete(body);
    body = NULL;
}

/* ---- the registry ------------------------------------------------------------------------- */

typedef struct fake {
    tv_rt_identity_t who;
    tv_rt_msg_t msg;
} fake_t;

/* A sender with no socket: replies and events to it are dropped, state still changes. */
static void fake_init(fake_t *f, tv_rt_t *rt, int n)
{
    memset(f, 0, sizeof *f);
    snprintf(f->who.user_id, sizeof f->who.user_id, "00000000-0000-4000-8000-%012d", n);
    snprintf(f->who.session_id, sizeof f->who.session_id, "10000000-0000-4000-8000-%012d", n);
    snprintf(f->who.username, sizeof f->who.username, "user%d", n);
    f->msg.rt = rt;
    f->msg.who = &f->who;
    f->msg.cid = "1";
}

static int call(tv_rt_handler_fn fn, tv_match_t *m, fake_t *f, const char *name, const char *json)
{
    cJSON *body = cJSON_Parse(json);
    f->msg.name = name;
    f->msg.body = body;
    int rc = fn(m, &f->msg);
    cJSON_Delete(body);
    return rc;
}

/* The relayed match with this uuid, looked up under its lock (the test is single-threaded). */
static relayed_t *find(tv_match_t *m, const char *uuid)
{
    stripe_t *st = stripe_of(m->matches, uuid);
    pthread_mutex_lock(&st->lock);
    relayed_t *r = tv_rt_idmap_get(&st->map, uuid);
    pthread_mutex_unlock(&st->lock);
    return r;
}

static size_t joined_count(tv_match_t *m, const char *sid)
{
    return tv_joined_count(m->joined, sid);
}

static void test_registry(tv_rt_t *rt, tv_match_t *m)
{
    fake_t a, b, c;
    char named[37], json[256];
    fake_init(&a, rt, 1);
    fake_init(&b, rt, 2);
    fake_init(&c, rt, 3);

    CHECK_AS(call(on_create, m, &a, "match_create", "{}") == TV_OK && tv_match_count(m) == 1 &&
              joined_count(m, a.who.session_id) == 1,
          "match_create makes a match with its creator in it");
    const char *uuid = NULL;
    for (int i = 0; i < STRIPES && !uuid; i++) {
        size_t pos = 0;
        relayed_t *r = tv_rt_idmap_next(&m->matches[i].map, &pos);
        if (r)
            uuid = r->id;
    }
    CHECK_AS(uuid && tv_uuid_valid(uuid) && uuid[14] == '4', "a random match id is a UUIDv4");
    char id[64];
    snprintf(id, sizeof id, "%s.", uuid ? uuid : "");

    snprintf(json, sizeof json, "{\"match_id\":\"%s\"}", id);
    CHECK_AS(call(on_join, m, &b, "match_join", json) == TV_OK && find(m, uuid)->n == 2 &&
              strcmp(find(m, uuid)->members[1].session_id, b.who.session_id) == 0,
          "match_join adds the joiner after the creator");
    CHECK_AS(call(on_join, m, &b, "match_join", json) == TV_OK && find(m, uuid)->n == 2,
          "joining again changes nothing");
    CHECK_AS(call(on_join, m, &c, "match_join",
               "{\"match_id\":\"20000000-0000-4000-8000-000000000000.\"}") == TV_OK &&
              tv_match_count(m) == 1 && joined_count(m, c.who.session_id) == 0,
          "joining an unknown relayed id makes nothing (error 4 to the sender)");
    CHECK_AS(call(on_join, m, &c, "match_join", "{\"match_id\":5}") == TV_EINVAL &&
              call(on_join, m, &c, "match_join", "{\"match_id\":\"x\",\"token\":\"y\"}") == TV_EINVAL &&
              call(on_join, m, &c, "match_join", "{\"match_id\":\"x\",\"metadata\":{\"k\":1}}") ==
                  TV_EINVAL,
          "wrong field types or both match_id and token -> malformed");
    CHECK_AS(call(on_join, m, &c, "match_join", "{}") == TV_OK &&
              call(on_join, m, &c, "match_join", "{\"token\":\"t\"}") == TV_OK &&
              call(on_join, m, &c, "match_join", "{\"match_id\":\"bad\"}") == TV_OK &&
              joined_count(m, c.who.session_id) == 0,
          "no id, a token with no checker, a bad id: error replies, no state");

    CHECK_AS(call(on_leave, m, &a, "match_leave", json) == TV_OK && find(m, uuid)->n == 1 &&
              joined_count(m, a.who.session_id) == 0,
          "match_leave takes the sender out");
    CHECK_AS(call(on_leave, m, &a, "match_leave", json) == TV_OK && find(m, uuid)->n == 1,
          "leaving a match one is not in is answered and changes nothing");
    char keep[37];
    snprintf(keep, sizeof keep, "%s", uuid);
    on_session_close(m, &b.who);
    CHECK_AS(!find(m, keep) && tv_match_count(m) == 0 && joined_count(m, b.who.session_id) == 0,
          "a closed socket leaves; the empty match is gone");

    tv_match_uuid_v5_dns("lobby", named);
    CHECK_AS(call(on_create, m, &a, "match_create", "{\"name\":\"lobby\"}") == TV_OK &&
              call(on_create, m, &b, "match_create", "{\"name\":\"lobby\"}") == TV_OK &&
              find(m, named) && find(m, named)->n == 2 && tv_match_count(m) == 1,
          "match_create{name} twice lands both in UUIDv5(DNS, name)");
    CHECK_AS(call(on_create, m, &c, "match_create", "{\"name\":7}") == TV_EINVAL,
          "a name that is not a string -> malformed");
    CHECK_AS(call(on_create, m, &c, "match_create", "{}") == TV_OK && tv_match_count(m) == 2,
          "a second, random match");

    tv_match_filter_t f = {.limit = 10, .authoritative = -1, .min_size = -1, .max_size = -1};
    cJSON *out = cJSON_CreateArray();
    CHECK_AS(tv_match_list_relayed(m, &f, out) == 2, "listing: both relayed matches");
    cJSON_Delete(out);
    out = cJSON_CreateArray();
    f.min_size = 2;
    int n = tv_match_list_relayed(m, &f, out);
    cJSON *first = cJSON_GetArrayItem(out, 0);
    snprintf(id, sizeof id, "%s.", named);
    CHECK_AS(n == 1 && strcmp(cJSON_GetObjectItem(first, "match_id")->valuestring, id) == 0 &&
              cJSON_GetObjectItem(first, "size")->valueint == 2 &&
              cJSON_GetArraySize(first) == 2,
          "min_size 2: only the named match, as {match_id, size}");
    cJSON_Delete(out);
    f.min_size = -1;
    f.max_size = 1;
    out = cJSON_CreateArray();
    CHECK_AS(tv_match_list_relayed(m, &f, out) == 1, "max_size 1: only the random one");
    cJSON_Delete(out);
    f.max_size = -1;
    f.limit = 1;
    out = cJSON_CreateArray();
    CHECK_AS(tv_match_list_relayed(m, &f, out) == 1, "limit 1");
    cJSON_Delete(out);
    f.limit = 10;
    out = cJSON_CreateArray();
    f.authoritative = 1;
    int auth_only = tv_match_list_relayed(m, &f, out);
    f.authoritative = 0;
    f.label = "x";
    int labelled = tv_match_list_relayed(m, &f, out);
    f.label = NULL;
    f.query = "+label.x:1";
    int queried = tv_match_list_relayed(m, &f, out);
    f.query = NULL;
    CHECK_AS(auth_only == 0 && labelled == 0 && queried == 0 && cJSON_GetArraySize(out) == 0,
          "relayed matches are not listed for authoritative=true, a label or a query");
    cJSON_Delete(out);

    on_session_close(m, &a.who);
    on_session_close(m, &b.who);
    on_session_close(m, &c.who);
    CHECK_AS(tv_match_count(m) == 0, "every match gone once its members closed");
}

/* ---- the authoritative hooks -------------------------------------------------------------- */

static int hook_joins, hook_leaves, hook_datas, hook_lists;
static char hook_data[16];
static size_t hook_len, hook_targets;

static int hk_join(void *ud, const tv_rt_msg_t *msg, const char *match_id, const cJSON *meta)
{
    (void)ud;
    (void)msg;
    hook_joins += strstr(match_id, ".node1") != NULL && cJSON_IsObject(meta);
    return TV_OK;
}

static void hk_leave(void *ud, const tv_rt_identity_t *who, const char *match_id)
{
    (void)ud;
    (void)who;
    hook_leaves += strstr(match_id, ".node1") != NULL;
}

static void hk_data(void *ud, const tv_rt_identity_t *who, const char *match_id, int64_t op,
                    const unsigned char *data, size_t len, const char *const *targets, size_t n,
                    int reliable)
{
    (void)ud;
    (void)who;
    (void)match_id;
    hook_datas += op == 9 && reliable;
    hook_len = len < sizeof hook_data ? len : sizeof hook_data;
    memcpy(hook_data, data, hook_len);
    hook_targets = n && strcmp(targets[0], "00000000-0000-4000-8000-0000000000ab") == 0 ? n : 0;
}

static int hk_list(void *ud, const tv_match_filter_t *f, cJSON *out)
{
    (void)ud;
    hook_lists++;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "match_id", "30000000-0000-4000-8000-000000000000.node1");
    cJSON_AddBoolToObject(o, "authoritative", 1);
    cJSON_AddItemToArray(out, o);
    return f->limit >= 1 ? 1 : 0;
}

static int token_ok(void *ud, const char *token, char *match_id, size_t size)
{
    (void)ud;
    if (strcmp(token, "good") != 0)
        return TV_EUNAUTH;
    snprintf(match_id, size, "40000000-0000-4000-8000-000000000000.");
    return TV_OK;
}

static void test_hooks(tv_rt_t *rt, tv_match_t *m)
{
    tv_match_authoritative_t a = {sizeof a, NULL, hk_join, hk_leave, hk_data, hk_list};
    fake_t f;
    fake_init(&f, rt, 5);

    CHECK_AS(tv_match_set_authoritative(m, &a) == TV_OK, "hooks installed");
    tv_match_authoritative_t big = a;
    big.size = sizeof big + 8;
    CHECK_AS(tv_match_set_authoritative(m, &big) == TV_EINVAL, "a size from the future -> TV_EINVAL");
    CHECK_AS(call(on_join, m, &f, "match_join",
               "{\"match_id\":\"30000000-0000-4000-8000-000000000000.node1\",\"metadata\":{}}") ==
                  TV_OK && hook_joins == 1,
          "match_join on <uuid>.<node> goes to the authoritative hook, metadata too");
    CHECK_AS(call(on_leave, m, &f, "match_leave",
               "{\"match_id\":\"30000000-0000-4000-8000-000000000000.node1\"}") == TV_OK &&
              hook_leaves == 1,
          "match_leave too");
    CHECK_AS(call(on_data, m, &f, "match_data_send",
               "{\"match_id\":\"30000000-0000-4000-8000-000000000000.node1\",\"op_code\":\"9\","
               "\"data\":\"aGk=\",\"reliable\":true,\"presences\":[{\"user_id\":"
               "\"00000000-0000-4000-8000-000000000001\",\"session_id\":"
               "\"00000000-0000-4000-8000-0000000000ab\"}]}") == TV_OK &&
              hook_datas == 1 && hook_len == 2 && memcmp(hook_data, "hi", 2) == 0 &&
              hook_targets == 1,
          "match_data_send hands decoded bytes and targets to the hook");
    tv_match_filter_t flt = {.limit = 10, .authoritative = -1, .min_size = -1, .max_size = -1};
    cJSON *out = cJSON_CreateArray();
    CHECK_AS(tv_match_list_authoritative(m, &flt, out) == 1 && hook_lists == 1,
          "listing asks the hook");
    flt.authoritative = 0;
    CHECK_AS(tv_match_list_authoritative(m, &flt, out) == 0 && hook_lists == 1,
          "but not for authoritative=false");
    cJSON_Delete(out);

    tv_match_set_token_check(m, token_ok, NULL);
    CHECK_AS(call(on_join, m, &f, "match_join", "{\"token\":\"good\"}") == TV_OK &&
              find(m, "40000000-0000-4000-8000-000000000000") &&
              find(m, "40000000-0000-4000-8000-000000000000")->n == 1,
          "a valid token makes the matchmade relayed match on the first join");
    CHECK_AS(call(on_join, m, &f, "match_join", "{\"token\":\"bad\"}") == TV_OK,
          "a bad token is an error reply");
    on_session_close(m, &f.who);
    CHECK_AS(tv_match_count(m) == 0, "and the match goes with its last member");
}

int main(void)
{
    tv_rt_opts_t o = {.threads = 1, .max_message = 4096, .header_limit = 8192, .auth = never_auth};
    tv_rt_t *rt;
    tv_match_t *m;

    setvbuf(stdout, NULL, _IOLBF, 0);
    tv_log_set_level(TV_LOG_WARN);
    test_ids();
    test_op_code();
    test_base64();
    test_parse_data();
    if (tv_rt_start(&o, &rt) != TV_OK || tv_match_new(rt, &m) != TV_OK) {
        printf("setup failed\n");
        return 1;
    }
    tv_match_t *again;
    CHECK_AS(tv_match_new(rt, &again) == TV_ECONFLICT, "a second registry on one rt -> TV_ECONFLICT");
    test_registry(rt, m);
    test_hooks(rt, m);
    tv_rt_stop(rt);
    tv_match_free(again);
    tv_match_free(m);
    return check_summary();
}
