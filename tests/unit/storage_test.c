/* Unit tests of the storage room: versions, write validation, permission rules, signed cursors
 * (round trip, every tampered byte, other scopes and keys), request parsing, and the store on
 * a scratch SQLite database (migrations applied): OCC, atomic batches, permissions, paging.
 * PostgreSQL is covered by tests/integration/storage.test.mjs. */
#include "check.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define A "11111111-1111-4111-8111-111111111111"
#define B "22222222-2222-4222-8222-222222222222"

static tv_storage_obj_t wobj(const char *collection, const char *key, const char *value)
{
    tv_storage_obj_t o = {.collection = collection, .key = key, .value = value, .read = 1,
                          .write = 1};
    snprintf(o.user_id, sizeof o.user_id, "%s", A);
    return o;
}

static void test_version(void)
{
    char v[TV_STORAGE_VERSION_LEN + 1], w[TV_STORAGE_VERSION_LEN + 1];
    tv_storage_version("{\"a\":1}", v);
    /* BLAKE2b, 16 bytes, no key: python3 hashlib.blake2b(b'{"a":1}', digest_size=16) */
    CHECK(strcmp(v, "2c6b113b8dd15ffbded9860b43eb0c6c") == 0);
    tv_storage_version("{}", w);
    CHECK(strcmp(w, "2afb9b83f9314e5d029766197f539792") == 0);
    CHECK(strlen(v) == TV_STORAGE_VERSION_LEN);
}

static void test_check_write(void)
{
    tv_storage_obj_t o = wobj("c", "k", "{\"a\":[1,2]}");
    CHECK(tv_storage_check_write(&o) == NULL);
    const char *bad_values[] = {"", "[1]", "1", "\"s\"", "null", "{\"a\":", "{} {}", "{\"a\":1} x"};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        o.value = bad_values[i];
        CHECK_AS(tv_storage_check_write(&o) != NULL, bad_values[i]);
    }
    o = wobj("", "k", "{}");
    CHECK(tv_storage_check_write(&o) != NULL);
    o = wobj("c", "", "{}");
    CHECK(tv_storage_check_write(&o) != NULL);
    char big[TV_STORAGE_KEY_MAX + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = 0;
    o = wobj("c", big, "{}");
    CHECK(strstr(tv_storage_check_write(&o), "at most 128"));
    big[TV_STORAGE_KEY_MAX] = 0;
    CHECK(tv_storage_check_write(&o) == NULL);
    o = wobj(big, "k", "{}");
    CHECK(tv_storage_check_write(&o) == NULL);
    o.read = 3;
    CHECK(tv_storage_check_write(&o) != NULL);
    o.read = -1;
    CHECK(tv_storage_check_write(&o) != NULL);
    o.read = 2;
    o.write = 2;
    CHECK(tv_storage_check_write(&o) != NULL);
    o.write = 0;
    CHECK(tv_storage_check_write(&o) == NULL);
    char *value = malloc(TV_STORAGE_VALUE_MAX + 2);
    memset(value, ' ', TV_STORAGE_VALUE_MAX + 1);
    memcpy(value, "{}", 2);
    value[TV_STORAGE_VALUE_MAX] = 0;
    o.value = value;
    CHECK(tv_storage_check_write(&o) == NULL);
    value[TV_STORAGE_VALUE_MAX] = ' ';
    value[TV_STORAGE_VALUE_MAX + 1] = 0;
    CHECK(strstr(tv_storage_check_write(&o), "65536"));
    free(value);
}

static void test_permissions(void)
{
    CHECK(tv_storage_can_read(NULL, A, 0));
    CHECK(!tv_storage_can_read(A, A, 0));
    CHECK(tv_storage_can_read(A, A, 1));
    CHECK(!tv_storage_can_read(B, A, 1));
    CHECK(tv_storage_can_read(B, A, 2));
    CHECK(tv_storage_can_read(B, TV_STORAGE_SYSTEM_USER, 2));
    CHECK(!tv_storage_can_read(B, TV_STORAGE_SYSTEM_USER, 1));
    int lo, hi;
    tv_storage_list_reads(NULL, NULL, &lo, &hi);
    CHECK(lo == 0 && hi == 2);
    tv_storage_list_reads(A, A, &lo, &hi);
    CHECK(lo == 1 && hi == 2);
    tv_storage_list_reads(A, B, &lo, &hi);
    CHECK(lo == 2 && hi == 2);
    tv_storage_list_reads(A, NULL, &lo, &hi);
    CHECK(lo == 2 && hi == 2);
}

static void test_cursor(void)
{
    unsigned char key[32], other[32];
    memset(key, 7, sizeof key);
    memset(other, 8, sizeof other);
    tv_storage_pos_t pos = {.read = 2, .key = "some/key é", .user_id = A}, back;
    char *c = NULL;
    CHECK(tv_storage_cursor_encode(key, "2|*|col", &pos, &c) == TV_OK);
    CHECK(tv_storage_cursor_decode(key, "2|*|col", c, &back) == TV_OK);
    CHECK(back.read == 2 && strcmp(back.key, pos.key) == 0 && strcmp(back.user_id, A) == 0);
    CHECK(tv_storage_cursor_decode(key, "2|*|col2", c, &back) == TV_EINVAL);
    CHECK(tv_storage_cursor_decode(key, "1|" A "|col", c, &back) == TV_EINVAL);
    CHECK(tv_storage_cursor_decode(other, "2|*|col", c, &back) == TV_EINVAL);
    /* every character changed, one at a time, breaks the MAC or the encoding */
    int all_refused = 1;
    size_t n = strlen(c);
    for (size_t i = 0; i < n; i++) {
        char saved = c[i];
        c[i] = saved == 'A' ? 'B' : 'A';
        if (tv_storage_cursor_decode(key, "2|*|col", c, &back) != TV_EINVAL)
            all_refused = 0;
        c[i] = saved;
    }
    CHECK(all_refused);
    c[n - 3] = 0;
    CHECK(tv_storage_cursor_decode(key, "2|*|col", c, &back) == TV_EINVAL);
    free(c);
    const char *junk[] = {"", "A", "!!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "AQE=", "a b"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        CHECK_AS(tv_storage_cursor_decode(key, "s", junk[i], &back) == TV_EINVAL, junk[i]);
    /* the longest key round-trips */
    memset(pos.key, 'z', TV_STORAGE_KEY_MAX);
    pos.key[TV_STORAGE_KEY_MAX] = 0;
    pos.read = 0;
    CHECK(tv_storage_cursor_encode(key, "s", &pos, &c) == TV_OK);
    CHECK(tv_storage_cursor_decode(key, "s", c, &back) == TV_OK);
    CHECK(back.read == 0 && strlen(back.key) == TV_STORAGE_KEY_MAX);
    free(c);
}

static int parse(const char *json, tv_storage_parse_t kind, const char *owner, int allow_nil,
                 tv_storage_obj_t **objs, size_t *n, cJSON **doc, const char **msg)
{
    *doc = cJSON_Parse(json);
    return tv_storage_parse(*doc, kind, owner, allow_nil, objs, n, msg);
}

static void test_parse(void)
{
    tv_storage_obj_t *o;
    size_t n;
    cJSON *doc;
    const char *msg;
    CHECK(parse("[{\"collection\":\"c\",\"key\":\"k\",\"value\":\"{}\",\"permissionRead\":\"2\","
                "\"permission_write\":0,\"version\":\"*\",\"user_id\":\"" B "\"}]",
                TV_STORAGE_PARSE_WRITE, A, 0, &o, &n, &doc, &msg) == TV_OK);
    CHECK(n == 1 && o[0].read == 2 && o[0].write == 0 && strcmp(o[0].version, "*") == 0);
    CHECK(strcmp(o[0].user_id, A) == 0); /* a forced owner wins over user_id */
    free(o);
    cJSON_Delete(doc);

    CHECK(parse("[{\"collection\":\"c\",\"key\":\"k\",\"value\":\"{}\"}]", TV_STORAGE_PARSE_WRITE,
                NULL, 1, &o, &n, &doc, &msg) == TV_OK);
    CHECK(o[0].read == 1 && o[0].write == 1 && strcmp(o[0].user_id, TV_STORAGE_SYSTEM_USER) == 0);
    free(o);
    cJSON_Delete(doc);

    CHECK(parse("[{\"collection\":\"c\",\"key\":\"k\",\"userId\":\"2222222"
                "2-2222-4222-8222-22222222222A\",\"version\":\"v\"}]",
                TV_STORAGE_PARSE_READ, NULL, 0, &o, &n, &doc, &msg) == TV_OK);
    CHECK(strcmp(o[0].user_id, "22222222-2222-4222-8222-22222222222a") == 0 && !o[0].version);
    free(o);
    cJSON_Delete(doc);

    const char *bad[] = {
        "{}", "[1]", "[{\"collection\":1,\"key\":\"k\"}]", "[{\"collection\":\"c\"}]",
        "[{\"collection\":\"c\",\"key\":\"k\",\"user_id\":\"nope\"}]",
        "[{\"collection\":\"c\",\"key\":\"k\",\"user_id\":\"" TV_STORAGE_SYSTEM_USER "\"}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i], TV_STORAGE_PARSE_READ, NULL, 0, &o, &n, &doc, &msg);
        CHECK_AS(rc == TV_EINVAL && msg && !o, bad[i]);
        cJSON_Delete(doc);
    }
    CHECK(parse("[{\"collection\":\"c\",\"key\":\"k\",\"value\":\"{}\",\"permission_read\":1.5}]",
                TV_STORAGE_PARSE_WRITE, A, 0, &o, &n, &doc, &msg) == TV_EINVAL);
    cJSON_Delete(doc);
    CHECK(parse("[{\"collection\":\"c\",\"key\":\"k\",\"user_id\":\"" TV_STORAGE_SYSTEM_USER "\"}]",
                TV_STORAGE_PARSE_DELETE, NULL, 1, &o, &n, &doc, &msg) == TV_OK);
    free(o);
    cJSON_Delete(doc);

    /* the batch limit */
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i <= TV_STORAGE_BATCH_MAX; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "collection", "c");
        cJSON_AddStringToObject(e, "key", "k");
        cJSON_AddItemToArray(arr, e);
        int rc = tv_storage_parse(arr, TV_STORAGE_PARSE_DELETE, A, 0, &o, &n, &msg);
        free(o);
        if (i == TV_STORAGE_BATCH_MAX - 1)
            CHECK(rc == TV_OK && n == TV_STORAGE_BATCH_MAX);
        if (i == TV_STORAGE_BATCH_MAX)
            CHECK(rc == TV_EINVAL && strstr(msg, "at most 100"));
    }
    cJSON_Delete(arr);
    CHECK(tv_storage_parse(NULL, TV_STORAGE_PARSE_READ, NULL, 0, &o, &n, &msg) == TV_OK && !n);
}

/* --- the store on SQLite ---------------------------------------------------------------- */

static const char *version_of(cJSON *acks, int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(acks, i), "version")->valuestring;
}

static int count(cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    cJSON_Delete(arr);
    return n;
}

static void test_store_writes(tv_storage_t *s)
{
    tv_storage_obj_t w[2] = {wobj("c", "k1", "{\"n\":1}"), wobj("c", "k2", "{\"n\":2}")};
    cJSON *acks = NULL, *objs = NULL;
    CHECK(tv_storage_write(s, A, w, 2, &acks) == TV_OK && cJSON_GetArraySize(acks) == 2);
    char v1[TV_STORAGE_VERSION_LEN + 1];
    snprintf(v1, sizeof v1, "%s", version_of(acks, 0));
    cJSON_Delete(acks);

    /* "*" on an existing object rejects the batch: the new k3 is not written */
    tv_storage_obj_t batch[2] = {wobj("c", "k3", "{}"), wobj("c", "k1", "{}")};
    batch[1].version = "*";
    CHECK(tv_storage_write(s, A, batch, 2, &acks) == TV_ECONFLICT && !acks);
    tv_storage_obj_t id3 = wobj("c", "k3", NULL);
    CHECK(tv_storage_read(s, A, &id3, 1, &objs) == TV_OK && count(objs) == 0);

    /* if-match: the right version writes once; the same version again is rejected */
    tv_storage_obj_t upd = wobj("c", "k1", "{\"n\":11}");
    upd.version = v1;
    CHECK(tv_storage_write(s, A, &upd, 1, &acks) == TV_OK);
    cJSON_Delete(acks);
    CHECK(tv_storage_write(s, A, &upd, 1, &acks) == TV_ECONFLICT);

    /* write 0: the owner can neither overwrite nor delete; the server can */
    tv_storage_obj_t locked = wobj("c", "locked", "{}");
    locked.write = 0;
    CHECK(tv_storage_write(s, A, &locked, 1, &acks) == TV_OK);
    cJSON_Delete(acks);
    CHECK(tv_storage_write(s, A, &locked, 1, &acks) == TV_ECONFLICT);
    CHECK(tv_storage_delete(s, A, &locked, 1) == TV_ECONFLICT);
    CHECK(tv_storage_write(s, NULL, &locked, 1, &acks) == TV_OK);
    cJSON_Delete(acks);
    CHECK(tv_storage_delete(s, NULL, &locked, 1) == TV_OK);
    CHECK(tv_storage_delete(s, NULL, &locked, 1) == TV_OK); /* absent, no version: fine */
    CHECK(tv_storage_delete(s, A, &locked, 1) == TV_ECONFLICT);
}

static void test_store_reads(tv_storage_t *s)
{
    tv_storage_obj_t w[3] = {wobj("r", "p0", "{}"), wobj("r", "p1", "{}"), wobj("r", "p2", "{}")};
    for (int i = 0; i < 3; i++)
        w[i].read = i;
    cJSON *acks, *objs;
    CHECK(tv_storage_write(s, A, w, 3, &acks) == TV_OK);
    cJSON_Delete(acks);
    CHECK(tv_storage_read(s, A, w, 3, &objs) == TV_OK && count(objs) == 2);
    CHECK(tv_storage_read(s, B, w, 3, &objs) == TV_OK && count(objs) == 1);
    CHECK(tv_storage_read(s, NULL, w, 3, &objs) == TV_OK && count(objs) == 3);
}

static void test_store_paging(tv_storage_t *s)
{
    tv_storage_obj_t w[25];
    char keys[25][8];
    for (int i = 0; i < 25; i++) {
        snprintf(keys[i], sizeof keys[i], "k%02d", i);
        w[i] = wobj("pages", keys[i], "{}");
        w[i].read = 2;
    }
    cJSON *acks, *objs;
    CHECK(tv_storage_write(s, A, w, 25, &acks) == TV_OK);
    cJSON_Delete(acks);
    char *cursor = NULL;
    int seen = 0, pages = 0, ordered = 1;
    char last[16] = "";
    do {
        char *next = NULL;
        int rc = tv_storage_list(s, B, A, "pages", 10, cursor, &objs, &next);
        free(cursor);
        cursor = next;
        if (rc) {
            CHECK(rc == TV_OK);
            break;
        }
        for (cJSON *o = objs->child; o; o = o->next) {
            const char *k = cJSON_GetObjectItem(o, "key")->valuestring;
            ordered &= strcmp(last, k) < 0;
            snprintf(last, sizeof last, "%s", k);
            seen++;
        }
        cJSON_Delete(objs);
        pages++;
    } while (cursor && pages < 10);
    CHECK(seen == 25 && pages == 3 && ordered);
    /* a cursor of B's listing of A is refused for A's own listing and for other collections */
    char *next = NULL;
    CHECK(tv_storage_list(s, B, A, "pages", 10, NULL, &objs, &next) == TV_OK && next);
    cJSON_Delete(objs);
    char *more = NULL;
    CHECK(tv_storage_list(s, A, A, "pages", 10, next, &objs, &more) == TV_EINVAL && !objs);
    CHECK(tv_storage_list(s, B, A, "pagez", 10, next, &objs, &more) == TV_EINVAL);
    CHECK(tv_storage_list(s, B, NULL, "pages", 10, next, &objs, &more) == TV_EINVAL);
    free(next);
}

static void test_store(void)
{
    char dir[] = "/tmp/tavern-storagetest-XXXXXX", url[128], err[256], path[160];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(url, sizeof url, "sqlite://%s/t.db", dir);
    tv_db_t *db = NULL;
    tv_storage_t *s = NULL;
    CHECK(tv_db_open(url, 2, &db, err, sizeof err) == TV_OK);
    CHECK(db && tv_db_migrate_up(db, err, sizeof err) == TV_OK);
    CHECK(tv_storage_new(db, "a session secret of some length", &s) == TV_OK);
    if (db && s) {
        test_store_writes(s);
        test_store_reads(s);
        test_store_paging(s);
    }
    tv_storage_free(s);
    tv_db_close(db);
    for (const char *f = "t.db\0t.db-wal\0t.db-shm\0"; *f; f += strlen(f) + 1) {
        snprintf(path, sizeof path, "%s/%s", dir, f);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    tv_log_set_level(TV_LOG_ERROR);
    test_version();
    test_check_write();
    test_permissions();
    test_cursor();
    test_parse();
    test_store();
    return check_summary();
}
