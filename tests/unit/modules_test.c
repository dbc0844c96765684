/* Unit tests of the modules room: the JSON-string payload codec, the loader (good modules load,
 * each broken one is refused with its reason), RPC and hook calls, match handler references,
 * and reloads: new calls get new code while held references keep the old code mapped, also
 * with calls in flight on other threads. Modules come from $TAVERN_TEST_MODULES and
 * $TAVERN_MODULES (set by meson). */
#include "check.h"
#include "error.h"
#include "internal.h"
#include "log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *test_mods, *example_mods;

/* --- helpers ------------------------------------------------------------------------------ */

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL; /* "wb": in place */
    char buf[65536];
    size_t n;
    int ok = in && out;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = 0;
    return ok;
}

static int put_module(const char *dir, const char *src_dir, const char *name, const char *as)
{
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/%s.so", src_dir, name);
    snprintf(to, sizeof to, "%s/%s", dir, as);
    return copy_file(from, to);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Log capture: stderr goes to a temp file between begin and end. */
static int saved_stderr = -1;
static char capture_path[] = "/tmp/tavern-modules-log-XXXXXX";

static void capture_begin(void)
{
    fflush(stderr);
    int fd = mkstemp(capture_path);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

/* Returns the captured text (malloc'd) and echoes it to the real stderr. */
static char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    FILE *f = fopen(capture_path, "r");
    char *text = calloc(1, 65536);
    if (f && text && fread(text, 1, 65535, f) == 0)
        text[0] = 0;
    if (f)
        fclose(f);
    unlink(capture_path);
    strcpy(capture_path + strlen(capture_path) - 6, "XXXXXX");
    fputs(text ? text : "", stderr);
    return text;
}

typedef struct {
    int rc, code;
    char *out, *msg;
    size_t len;
} result_t;

static result_t call(tv_mod_registry_t *r, const char *id, const char *payload,
                     const tv_mod_caller_t *who)
{
    result_t x = {0};
    x.rc = tv_mod_rpc_call(r, id, payload, strlen(payload), who, &x.out, &x.len, &x.code,
                           &x.msg);
    return x;
}

static void result_free(result_t *x)
{
    free(x->out);
    free(x->msg);
}

static int answers(tv_mod_registry_t *r, const char *id, const char *payload, const char *want)
{
    result_t x = call(r, id, payload, NULL);
    int ok = x.rc == TV_OK && x.code == 0 && x.out && strcmp(x.out, want) == 0;
    result_free(&x);
    return ok;
}

/* --- the payload codec -------------------------------------------------------------------- */

static int unquotes_to(const char *in, const char *want, size_t want_len)
{
    char *out = NULL;
    size_t len = 0;
    int ok = tv_mod_json_unquote(in, strlen(in), &out, &len) == TV_OK && len == want_len &&
             memcmp(out, want, len) == 0 && out[len] == 0;
    free(out);
    return ok;
}

static int refuses(const char *in)
{
    char *out = NULL;
    size_t len;
    int rc = tv_mod_json_unquote(in, strlen(in), &out, &len);
    free(out);
    return rc == TV_EINVAL;
}

static void test_json(void)
{
    CHECK(unquotes_to("\"abc\"", "abc", 3));
    CHECK(unquotes_to(" \r\n\t\"{\\\"a\\\":1}\" \n", "{\"a\":1}", 7));
    CHECK(unquotes_to("\"\"", "", 0));
    CHECK(unquotes_to("null", "", 0));
    CHECK(unquotes_to("\"a\\u0000b\"", "a\0b", 3));
    CHECK(unquotes_to("\"\\/\\b\\f\\n\\r\\t\\\\\"", "/\b\f\n\r\t\\", 7));
    CHECK(unquotes_to("\"\\u00e9\\u20AC\"", "\xc3\xa9\xe2\x82\xac", 5));
    CHECK(unquotes_to("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4)); /* surrogate pair */
    CHECK(unquotes_to("\"\\ud800x\"", "\xef\xbf\xbdx", 4));           /* lone: U+FFFD */
    CHECK(unquotes_to("\"\\udc00\"", "\xef\xbf\xbd", 3));
    CHECK(unquotes_to("\"\xff\"", "\xef\xbf\xbd", 3));                /* bad UTF-8 */
    CHECK(unquotes_to("\"\xc3\xa9\"", "\xc3\xa9", 2));
    CHECK(refuses("{}"));
    CHECK(refuses("123"));
    CHECK(refuses("true"));
    CHECK(refuses("[\"a\"]"));
    CHECK(refuses("\"abc"));
    CHECK(refuses("\"a\" \"b\""));
    CHECK(refuses("\"a\"x"));
    CHECK(refuses("\"a\nb\""));  /* raw control character */
    CHECK(refuses("\"\\x\""));
    CHECK(refuses("\"\\u12\""));
    CHECK(refuses("nul"));
    CHECK(refuses("null x"));
    CHECK(refuses(""));

    size_t len;
    char *q = tv_mod_json_quote("a\0b<>&\xff\"\\\n\xe2\x80\xa8\xc3\xa9", 15, &len);
    CHECK(q && strcmp(q, "\"a\\u0000b\\u003c\\u003e\\u0026\\ufffd\\\"\\\\\\n\\u2028\xc3\xa9\"")
                   == 0 && len == strlen(q));
    free(q);
    q = tv_mod_json_quote("", 0, &len);
    CHECK(q && strcmp(q, "\"\"") == 0 && len == 2);
    free(q);
}

/* --- loading and refusing ----------------------------------------------------------------- */

static void check_refusals(const char *log)
{
    char abi[128]; /* the server's minor grows with each host-table addition */
    snprintf(abi, sizeof abi, "bad_abi.so refused: built for module ABI 99.0; this server speaks "
             "ABI %d.%d", TV_ABI_MAJOR, TV_ABI_MINOR);
    CHECK_AS(strstr(log, abi) != NULL, abi);
    CHECK(strstr(log, "bad_magic.so refused: tavern_module_info has the wrong magic 0x12345678"));
    CHECK(strstr(log, "small_info.so refused: tavern_module_info is 8 bytes"));
    CHECK(strstr(log, "no_init.so refused: no tavern_module_init symbol"));
    CHECK(strstr(log, "no_info.so refused: no tavern_module_info symbol"));
    CHECK(strstr(log, "init_fails.so refused: tavern_module_init failed (returned 5)"));
    CHECK(strstr(log, "zz_dup.so refused: RPC 'testecho' is already registered by module good"));
    CHECK(strstr(log, "junk.so refused: dlopen:"));
    CHECK(strstr(log, "loaded good 1.2.3 from good.so: 6 rpc, 4 before, 2 after, 1 match"));
    CHECK(strstr(log, "good module ready"));
    CHECK(strstr(log, "3 module(s) loaded, 8 refused")); /* junk.so too */
    CHECK(!strstr(log, "hidden"));
    CHECK(!strstr(log, "notes"));
}

static void test_calls(tv_mod_registry_t *r)
{
    CHECK(answers(r, "TestEcho", "hi", "hi"));
    CHECK(answers(r, "TESTECHO", "", ""));
    CHECK(answers(r, "echo", "{\"a\":1}", "{\"a\":1}"));
    CHECK(answers(r, "late_register", "", "9")); /* FAILED_PRECONDITION after init */
    result_t x = call(r, "init_fails_rpc", "", NULL);
    CHECK(x.rc == TV_ENOTFOUND);
    x = call(r, "zz_dup_own", "", NULL);
    CHECK(x.rc == TV_ENOTFOUND);
    x = call(r, "fail", "3", NULL);
    CHECK(x.rc == TV_OK && x.code == 3 && x.msg && strcmp(x.msg, "failed with 3 as asked") == 0);
    CHECK(x.out == NULL);
    result_free(&x);
    x = call(r, "fail", "99", NULL); /* outside 1-16: internal */
    CHECK(x.rc == TV_OK && x.code == 13);
    result_free(&x);
    x = call(r, "empty", "", NULL);
    CHECK(x.rc == TV_OK && x.code == 0 && x.out && x.len == 0 && x.out[0] == 0);
    result_free(&x);
    x = call(r, "binary", "", NULL);
    CHECK(x.rc == TV_OK && x.len == 10 && x.out[1] == 0 && x.out[10] == 0);
    result_free(&x);

    tv_mod_kv_t q[] = {{"payload", "p1"}, {"k", "v"}};
    tv_mod_caller_t who = {"u-1", "bob", "{\"a\":\"b\",\"n\":1}", 1234, NULL, q, 2};
    x = call(r, "WhoAmI", "in", &who);
    CHECK(x.rc == TV_OK && x.code == 0 && x.out);
    if (x.out) {
        CHECK(strstr(x.out, "\"rpc_id\":\"whoami\""));
        CHECK(strstr(x.out, "\"user_id\":\"u-1\",\"username\":\"bob\",\"expiry\":1234"));
        CHECK(strstr(x.out, "\"payload\":\"in\""));
        CHECK(strstr(x.out, "\"vars\":[[\"a\",\"b\"]]")); /* non-string vars skipped */
        CHECK(strstr(x.out, "\"query\":[[\"payload\",\"p1\"],[\"k\",\"v\"]]"));
    }
    result_free(&x);
    x = call(r, "whoami", "", NULL);
    CHECK(x.out && strstr(x.out, "\"user_id\":\"\",\"username\":\"\",\"expiry\":0"));
    result_free(&x);
}

static void test_hooks(tv_mod_registry_t *r)
{
    tv_mod_gen_t *g = tv_mod_acquire(r);
    const mod_entry_t *before = tv_mod_gen_find(g, KIND_BEFORE, "authenticatecustom");
    const mod_entry_t *after = tv_mod_gen_find(g, KIND_AFTER, "authenticatecustom");
    CHECK(before && after && !tv_mod_gen_find(g, KIND_BEFORE, "authenticatedevice"));
    tv_mod_reply_t rep = {0};
    const char *in = "{\"id\":\"rewrite-12345\"}";
    if (before) {
        CHECK(tv_mod_call_hook(before, "AuthenticateCustom", NULL, in, strlen(in), NULL, 0,
                               &rep) == 0);
        CHECK(rep.data && strcmp(rep.data, "{\"id\":\"rewrote-12345\"}") == 0);
        in = "{\"id\":\"blocked-12345\"}";
        CHECK(tv_mod_call_hook(before, "AuthenticateCustom", NULL, in, strlen(in), NULL, 0,
                               &rep) == 7);
        CHECK(rep.message && strcmp(rep.message, "custom id blocked by module") == 0);
        in = "{\"id\":\"plain-12345\"}";
        CHECK(tv_mod_call_hook(before, "AuthenticateCustom", NULL, in, strlen(in), NULL, 0,
                               &rep) == 0 && rep.data == NULL);
    }
    if (after) {
        in = "{\"id\":\"after-fails\"}";
        CHECK(tv_mod_call_hook(after, "AuthenticateCustom", NULL, in, strlen(in), "{}", 2,
                               &rep) == 13);
    }
    tv_mod_reply_clear(&rep);
    tv_mod_release(g);
}

static void test_match(tv_mod_registry_t *r)
{
    tv_mod_match_t *m = NULL;
    CHECK(tv_mod_match_acquire(r, "nope", &m) == TV_ENOTFOUND && m == NULL);
    CHECK(tv_mod_match_acquire(r, "GOOD_MATCH", &m) == TV_OK && m);
    if (!m)
        return;
    const tv_mod_match_handler_t *h = tv_mod_match_handler(m);
    CHECK(h->size == sizeof *h && h->init && h->loop && !h->join && !h->signal);
    CHECK(strcmp(tv_mod_match_module_name(m), "good") == 0 && tv_mod_match_module(m));
    tv_mod_match_ctx_t ctx = {.size = sizeof ctx, .module = tv_mod_match_module(m)};
    tv_mod_match_init_t init = {.size = sizeof init, .tick_rate = 10};
    void *state = h->init(&ctx, "{}", 2, &init);
    CHECK(state && init.tick_rate == 5 && strcmp(init.label, "good") == 0);
    int loops = 0;
    while (state && loops < 10) {
        state = h->loop(&ctx, state, NULL, 0);
        loops++;
    }
    CHECK(state == NULL && loops == 3); /* NULL state ends the match */
    tv_mod_match_release(m);
}

static void test_load(const char *dir)
{
    const char *broken[] = {"bad_abi", "bad_magic", "small_info", "no_init", "no_info",
                            "init_fails", "zz_dup", "good", "late"};
    for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
        char as[64];
        snprintf(as, sizeof as, "%s.so", broken[i]);
        CHECK(put_module(dir, test_mods, broken[i], as));
    }
    CHECK(put_module(dir, example_mods, "echo", "echo.so"));
    write_text(dir, "junk.so", "not an ELF file");
    write_text(dir, ".hidden.so", "skipped: a dot file");
    write_text(dir, "notes.txt", "skipped: not .so");

    tv_mod_registry_t *r;
    CHECK(tv_mod_registry_new(&r) == TV_OK);
    CHECK(answers(r, "echo", "x", "x") == 0); /* nothing loaded yet */
    capture_begin();
    int n = tv_mod_load_dir(r, dir);
    char *log = capture_end();
    CHECK(n == 3); /* good, late, echo */
    check_refusals(log ? log : "");
    free(log);
    CHECK(tv_mod_live() == 3);
    tv_mod_gen_t *g = tv_mod_acquire(r);
    CHECK(tv_mod_gen_count(g) == 3 && tv_mod_gen_id(g) == 1);
    tv_mod_release(g);
    test_calls(r);
    test_hooks(r);
    test_match(r);

    /* a module dir that cannot be read keeps what is loaded */
    char file_not_dir[4096];
    snprintf(file_not_dir, sizeof file_not_dir, "%s/notes.txt", dir);
    CHECK(tv_mod_load_dir(r, file_not_dir) == TV_EUNAVAIL);
    CHECK(answers(r, "echo", "still", "still"));
    /* a missing one is an empty set */
    snprintf(file_not_dir, sizeof file_not_dir, "%s/missing", dir);
    CHECK(tv_mod_load_dir(r, file_not_dir) == 0);
    CHECK(tv_mod_live() == 0);
    result_t x = call(r, "echo", "", NULL);
    CHECK(x.rc == TV_ENOTFOUND);
    tv_mod_registry_free(r);
}

/* --- built-in RPCs ------------------------------------------------------------------------ */

/* A built-in that echoes its payload, counting its calls in ud; "fail" fails with 5, "null"
 * answers nothing. */
static int srv_echo(void *ud, const tv_mod_caller_t *who, const char *payload, size_t len,
                    char **out, char **message)
{
    (void)who;
    (*(int *)ud)++;
    if (strcmp(payload, "fail") == 0) {
        *message = strdup("built-in failed");
        return 5;
    }
    if (strcmp(payload, "null") == 0)
        return 0;
    *out = strndup(payload, len);
    return 0;
}

/* hook_stats' after_custom count (good.so's after hook on AuthenticateCustom). */
static int after_custom_count(tv_mod_registry_t *r)
{
    result_t x = call(r, "hook_stats", "", NULL);
    int n = -1;
    const char *p = x.out ? strstr(x.out, "\"after_custom\":") : NULL;
    if (p)
        n = atoi(p + strlen("\"after_custom\":"));
    result_free(&x);
    return n;
}

static void test_builtins(const char *dir)
{
    tv_mod_registry_t *r;
    int calls = 0, echo_calls = 0;
    CHECK(tv_mod_registry_new(&r) == TV_OK);
    CHECK(tv_mod_builtin_add(r, "Srv_Echo", "AuthenticateCustom", srv_echo, &calls) == TV_OK);
    CHECK(tv_mod_builtin_add(r, "srv_echo", NULL, srv_echo, &calls) == TV_ECONFLICT);
    CHECK(tv_mod_builtin_add(r, "", NULL, srv_echo, &calls) == TV_EINVAL);
    CHECK(tv_mod_builtin_add(r, "x", NULL, NULL, &calls) == TV_EINVAL);
    char long_name[200];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    CHECK(tv_mod_builtin_add(r, long_name, NULL, srv_echo, &calls) == TV_EINVAL);
    CHECK(tv_mod_builtin_add(r, "x", long_name, srv_echo, &calls) == TV_EINVAL);
    CHECK(tv_mod_builtin_add(r, "echo", NULL, srv_echo, &echo_calls) == TV_OK);

    /* before any module loads: the built-in answers, no hooks to run */
    CHECK(answers(r, "SRV_ECHO", "{\"id\":\"rewrite-1\"}", "{\"id\":\"rewrite-1\"}"));
    CHECK(answers(r, "echo", "mine", "mine") && echo_calls == 1);
    CHECK(tv_mod_rpc_exists(r, "Srv_echo") && !tv_mod_rpc_exists(r, "testecho"));

    capture_begin();
    tv_mod_load_dir(r, dir); /* good, late and echo load (the broken ones are refused) */
    char *log = capture_end();
    CHECK(log && strstr(log, "its RPC 'echo' replaces the server's built-in one"));
    free(log);
    CHECK(answers(r, "echo", "theirs", "theirs") && echo_calls == 1); /* the module's */
    CHECK(tv_mod_rpc_exists(r, "testecho") && tv_mod_rpc_exists(r, "srv_echo"));

    /* inside the hooks of AuthenticateCustom: the before hook rewrites or refuses */
    calls = 0;
    CHECK(answers(r, "srv_echo", "{\"id\":\"rewrite-1\"}", "{\"id\":\"rewrote-1\"}"));
    result_t x = call(r, "srv_echo", "{\"id\":\"blocked-1\"}", NULL);
    CHECK(x.rc == TV_OK && x.code == 7 && x.out == NULL && x.msg &&
          strcmp(x.msg, "custom id blocked by module") == 0);
    CHECK(calls == 1); /* the refused call never reached the built-in */
    result_free(&x);
    /* the after hook sees the answer; its failure is only logged */
    int before = after_custom_count(r);
    CHECK(answers(r, "srv_echo", "{\"token\":\"t\"}", "{\"token\":\"t\"}"));
    CHECK(after_custom_count(r) == before + 1);
    capture_begin();
    CHECK(answers(r, "srv_echo", "{\"id\":\"after-fails\"}", "{\"id\":\"after-fails\"}"));
    log = capture_end();
    CHECK(log && strstr(log, "after hook AuthenticateCustom failed"));
    free(log);
    /* the built-in's own failure and empty answer */
    x = call(r, "srv_echo", "fail", NULL);
    CHECK(x.rc == TV_OK && x.code == 5 && x.msg && strcmp(x.msg, "built-in failed") == 0);
    result_free(&x);
    x = call(r, "srv_echo", "null", NULL);
    CHECK(x.rc == TV_OK && x.code == 0 && x.out && x.len == 0);
    result_free(&x);
    /* the table is bounded */
    int added = 2;
    for (int i = 0; added < TV_MOD_BUILTINS_MAX; i++, added++) {
        char id[16];
        snprintf(id, sizeof id, "fill_%d", i);
        CHECK(tv_mod_builtin_add(r, id, NULL, srv_echo, &calls) == TV_OK);
    }
    CHECK(tv_mod_builtin_add(r, "one_too_many", NULL, srv_echo, &calls) == TV_EBUSY);
    tv_mod_registry_free(r);
}

/* --- reloading ---------------------------------------------------------------------------- */

typedef struct {
    tv_mod_registry_t *r;
    result_t res;
    atomic_int started;
} slow_call_t;

static void *slow_thread(void *p)
{
    slow_call_t *s = p;
    atomic_store(&s->started, 1);
    s->res = call(s->r, "reload_slow", "400", NULL);
    return NULL;
}

static void test_reload(const char *dir)
{
    tv_mod_registry_t *r;
    CHECK(tv_mod_registry_new(&r) == TV_OK);
    CHECK(put_module(dir, test_mods, "reload_v1", "reload.so"));
    CHECK(tv_mod_load_dir(r, dir) == 1);
    CHECK(answers(r, "reload_version", "", "v1"));

    tv_mod_match_t *m = NULL;
    CHECK(tv_mod_match_acquire(r, "reload_match", &m) == TV_OK);
    tv_mod_gen_t *held = tv_mod_acquire(r); /* as an RPC in flight would */
    slow_call_t slow = {.r = r};
    pthread_t th;
    pthread_create(&th, NULL, slow_thread, &slow);
    while (!atomic_load(&slow.started))
        usleep(1000);
    usleep(100 * 1000); /* let it enter the module */

    /* overwrite the file in place, as `cp` does: the loaded copy must not care */
    CHECK(put_module(dir, test_mods, "reload_v2", "reload.so"));
    CHECK(tv_mod_load_dir(r, dir) == 1);
    CHECK(answers(r, "reload_version", "", "v2"));
    CHECK(tv_mod_live() == 2);

    pthread_join(th, NULL);
    CHECK(slow.res.rc == TV_OK && slow.res.out && strcmp(slow.res.out, "v1") == 0);
    result_free(&slow.res);

    tv_mod_release(held);
    CHECK(tv_mod_live() == 2); /* the match reference still holds v1 */
    if (m) {
        const tv_mod_match_handler_t *h = tv_mod_match_handler(m);
        tv_mod_match_init_t init = {.size = sizeof init};
        tv_mod_match_ctx_t ctx = {.size = sizeof ctx};
        CHECK(h->init(&ctx, "{}", 2, &init) && strcmp(init.label, "v1") == 0);
    }
    tv_mod_match_release(m);
    CHECK(tv_mod_live() == 1);
    tv_mod_match_t *m2 = NULL;
    CHECK(tv_mod_match_acquire(r, "reload_match", &m2) == TV_OK);
    if (m2) {
        tv_mod_match_init_t init = {.size = sizeof init};
        tv_mod_match_ctx_t ctx = {.size = sizeof ctx};
        CHECK(tv_mod_match_handler(m2)->init(&ctx, "{}", 2, &init) &&
              strcmp(init.label, "v2") == 0);
    }
    tv_mod_registry_free(r);
    CHECK(tv_mod_live() == 1); /* m2 outlives the registry */
    tv_mod_match_release(m2);
    CHECK(tv_mod_live() == 0);
}

/* Callers on several threads while the main thread reloads again and again: every call must
 * reach one version or the other, and nothing may be unloaded under a caller (ASan would
 * see it). */
typedef struct {
    tv_mod_registry_t *r;
    atomic_int stop, calls, bad;
} storm_t;

static void *storm_thread(void *p)
{
    storm_t *s = p;
    while (!atomic_load(&s->stop)) {
        result_t x = call(s->r, "reload_version", "", NULL);
        if (x.rc != TV_OK || !x.out || (strcmp(x.out, "v1") && strcmp(x.out, "v2")))
            atomic_fetch_add(&s->bad, 1);
        atomic_fetch_add(&s->calls, 1);
        result_free(&x);
    }
    return NULL;
}

static void test_reload_storm(const char *dir)
{
    storm_t s = {0};
    CHECK(tv_mod_registry_new(&s.r) == TV_OK);
    char tmp[4096], dst[4096];
    snprintf(dst, sizeof dst, "%s/reload.so", dir);
    CHECK(tv_mod_load_dir(s.r, dir) == 1);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, storm_thread, &s);
    int loads_ok = 1;
    for (int i = 0; i < 20; i++) {
        /* this time replace by rename, as package managers do */
        snprintf(tmp, sizeof tmp, "%s/.reload.tmp", dir);
        put_module(dir, test_mods, i % 2 ? "reload_v1" : "reload_v2", ".reload.tmp");
        rename(tmp, dst);
        loads_ok &= tv_mod_load_dir(s.r, dir) == 1;
        usleep(5000);
    }
    atomic_store(&s.stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK(loads_ok);
    CHECK(atomic_load(&s.calls) > 0 && atomic_load(&s.bad) == 0);
    CHECK(tv_mod_live() == 1);
    tv_mod_registry_free(s.r);
    CHECK(tv_mod_live() == 0);
}

/* A module dlclose cannot unload keeps its fd, so the next module never gets its name. */
static void test_sticky(void)
{
    char dir[] = "/tmp/tavern-mod-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    tv_mod_registry_t *r;
    CHECK(tv_mod_registry_new(&r) == TV_OK);
    CHECK(put_module(dir, test_mods, "sticky", "sticky.so"));
    CHECK(tv_mod_load_dir(r, dir) == 1);
    CHECK(answers(r, "sticky", "", ""));
    char path[4096];
    snprintf(path, sizeof path, "%s/sticky.so", dir);
    unlink(path);
    capture_begin();
    CHECK(tv_mod_load_dir(r, dir) == 0);
    char *log = capture_end();
    CHECK(log && strstr(log, "sticky (sticky.so) cannot be unloaded: it stays mapped"));
    free(log);
    CHECK(put_module(dir, test_mods, "reload_v1", "reload.so"));
    CHECK(tv_mod_load_dir(r, dir) == 1);
    CHECK(answers(r, "reload_version", "", "v1"));
    result_t x = call(r, "sticky", "", NULL);
    CHECK(x.rc == TV_ENOTFOUND);
    tv_mod_registry_free(r);
    unlink(path);
    snprintf(path, sizeof path, "%s/reload.so", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_mods = getenv("TAVERN_TEST_MODULES");
    example_mods = getenv("TAVERN_MODULES");
    if (!test_mods || !example_mods) {
        fprintf(stderr, "TAVERN_TEST_MODULES and TAVERN_MODULES must be set (meson does)\n");
        return 1;
    }
    tv_log_set_level(TV_LOG_INFO);
    test_json();
    char dir1[] = "/tmp/tavern-mod-test-XXXXXX", dir2[] = "/tmp/tavern-mod-test-XXXXXX";
    CHECK(mkdtemp(dir1) && mkdtemp(dir2));
    test_load(dir1);
    test_builtins(dir1);
    test_reload(dir2);
    test_reload_storm(dir2);
    test_sticky();
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir1, dir2);
    CHECK(system(cmd) == 0);
    return check_summary();
}
