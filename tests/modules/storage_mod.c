/* A test module for the storage host entries (ABI 1.1): RPCs that hand their payload to
 * storage_write / storage_read / storage_delete and answer the result, storage_list with its
 * arguments in the query string, and a before hook on ReadStorageObjects that refuses bodies
 * naming the collection "blocked-by-hook". tests/integration/storage.test.mjs drives it. */
#include <tavern/module.h>

#include <stdlib.h>
#include <string.h>

static const tv_host_api_t *host;

/* Answers a host call's result: the taken text (freed here) or its error code. */
static int answer(tv_mod_reply_t *out, int code, char *result, const char *what)
{
    if (code) {
        host->free(result);
        return host->fail(out, code, "%s failed with code %d", what, code);
    }
    int rc = host->reply(out, result ? result : "", result ? strlen(result) : 0);
    host->free(result);
    return rc;
}

static int rpc_write(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                     tv_mod_reply_t *out)
{
    (void)len;
    char *acks = NULL;
    int code = host->storage_write(ctx->module, payload, &acks); /* before acks is read */
    return answer(out, code, acks, "storage_write");
}

static int rpc_read(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                    tv_mod_reply_t *out)
{
    (void)len;
    char *objects = NULL;
    int code = host->storage_read(ctx->module, payload, &objects);
    return answer(out, code, objects, "storage_read");
}

static int rpc_delete(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                      tv_mod_reply_t *out)
{
    (void)len;
    return answer(out, host->storage_delete(ctx->module, payload), NULL, "storage_delete");
}

static const char *query(const tv_mod_ctx_t *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->nquery; i++)
        if (strcmp(ctx->query[i].key, name) == 0)
            return ctx->query[i].value;
    return NULL;
}

/* Query: collection, user_id, caller_id, limit, cursor (absent = NULL). */
static int rpc_list(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                    tv_mod_reply_t *out)
{
    (void)payload;
    (void)len;
    const char *limit = query(ctx, "limit");
    char *result = NULL;
    int code = host->storage_list(ctx->module, query(ctx, "caller_id"), query(ctx, "user_id"),
                                  query(ctx, "collection"), limit ? atoi(limit) : 10,
                                  query(ctx, "cursor"), &result);
    return answer(out, code, result, "storage_list");
}

static int before_read(const tv_mod_ctx_t *ctx, const char *in, size_t len, tv_mod_reply_t *out)
{
    (void)ctx;
    (void)len;
    if (strstr(in, "blocked-by-hook"))
        return host->fail(out, TV_GRPC_PERMISSION_DENIED, "reads of blocked-by-hook refused");
    return 0;
}

TV_MODULE("storage_mod", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    if (!TV_HOST_HAS(api, storage_delete)) {
        api->log(mod, TV_MOD_LOG_ERROR, "this server has no storage entries");
        return 1;
    }
    int rc = api->register_rpc(mod, "storage_write", rpc_write);
    if (!rc)
        rc = api->register_rpc(mod, "storage_read", rpc_read);
    if (!rc)
        rc = api->register_rpc(mod, "storage_delete", rpc_delete);
    if (!rc)
        rc = api->register_rpc(mod, "storage_list", rpc_list);
    if (!rc)
        rc = api->register_before(mod, "ReadStorageObjects", before_read);
    return rc;
}
