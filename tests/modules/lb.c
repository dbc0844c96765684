/* The leaderboard test module: creates an authoritative board in init, and RPCs (plain-text
 * payloads "id owner score subscore op") around every leaderboard and tournament host entry;
 * a reset hook whose calls the lb_resets RPC reports. tests/integration/leaderboard.test.mjs
 * drives it. */
#include <tavern/module.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const tv_host_api_t *host;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char resets[2048]; /* "id tournament time;" per reset */

/* Answers with text (or the error code) after a host call that may have produced json. */
static int answer(tv_mod_reply_t *out, int rc, char *json)
{
    if (rc) {
        host->free(json);
        return host->fail(out, rc, "host call failed with %d", rc);
    }
    int r = host->reply(out, json ? json : "", json ? strlen(json) : 0);
    host->free(json);
    return r;
}

static int create(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    int rc = strcmp(ctx->rpc_id, "tourn_create") == 0 ? host->tournament_create(ctx->module, p)
                                                       : host->leaderboard_create(ctx->module, p);
    return answer(out, rc, NULL);
}

static int write_rec(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    char id[129], owner[64];
    int64_t score, sub;
    int op;
    if (sscanf(p, "%128s %63s %" SCNd64 " %" SCNd64 " %d", id, owner, &score, &sub, &op) != 5)
        return host->fail(out, TV_GRPC_INVALID_ARGUMENT, "want: id owner score subscore op");
    char *json = NULL;
    int tourn = strcmp(ctx->rpc_id, "tourn_write") == 0;
    int rc = (tourn ? host->tournament_write : host->leaderboard_write)(
        ctx->module, id, owner, "moduser", score, sub, "{\"by\":\"module\"}", op, &json);
    return answer(out, rc, json);
}

static int rank(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    char id[129], owner[64], buf[96];
    int64_t r = -1, c = -1;
    if (sscanf(p, "%128s %63s", id, owner) != 2)
        return host->fail(out, TV_GRPC_INVALID_ARGUMENT, "want: id owner");
    int rc = host->leaderboard_rank(ctx->module, id, owner, &r, &c);
    if (rc)
        return host->fail(out, rc, "rank failed");
    snprintf(buf, sizeof buf, "{\"rank\":%" PRId64 ",\"count\":%" PRId64 "}", r, c);
    return host->reply(out, buf, strlen(buf));
}

static int list(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    char id[129], owner[64];
    int limit;
    if (sscanf(p, "%128s %d %63s", id, &limit, owner) != 3)
        return host->fail(out, TV_GRPC_INVALID_ARGUMENT, "want: id limit owner");
    const char *owners[] = {owner};
    char *json = NULL;
    int rc = host->leaderboard_list(ctx->module, id, owners, 1, limit, NULL, &json);
    return answer(out, rc, json); /* not in one expression: json must be read after the call */
}

static int join(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    char id[129], owner[64];
    if (sscanf(p, "%128s %63s", id, owner) != 2)
        return host->fail(out, TV_GRPC_INVALID_ARGUMENT, "want: id owner");
    return answer(out, host->tournament_join(ctx->module, id, owner, "moduser"), NULL);
}

static int on_reset(const tv_mod_ctx_t *ctx, const char *id, int tournament, int64_t t)
{
    (void)ctx;
    pthread_mutex_lock(&mu);
    size_t len = strlen(resets);
    snprintf(resets + len, sizeof resets - len, "%s %d %" PRId64 ";", id, tournament, t);
    pthread_mutex_unlock(&mu);
    return 0;
}

static int get_resets(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)ctx, (void)p, (void)n;
    pthread_mutex_lock(&mu);
    int rc = host->reply(out, resets, strlen(resets));
    pthread_mutex_unlock(&mu);
    return rc;
}

TV_MODULE("lb", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    if (!TV_HOST_HAS(api, register_leaderboard_reset))
        return 1; /* a server without leaderboards: refuse to load */
    int rc = api->leaderboard_create(mod, "{\"id\":\"mod-board\",\"authoritative\":true,"
                                          "\"operator\":\"incr\"}");
    static const char *const rpc_names[] = {"lb_create", "tourn_create", "lb_write",
                                            "tourn_write", "lb_rank", "lb_list", "tourn_join",
                                            "lb_resets"};
    static const tv_mod_rpc_fn fns[] = {create, create, write_rec, write_rec, rank, list, join,
                                        get_resets};
    for (size_t i = 0; i < 8 && !rc; i++)
        rc = api->register_rpc(mod, rpc_names[i], fns[i]);
    return rc ? rc : api->register_leaderboard_reset(mod, on_reset);
}
