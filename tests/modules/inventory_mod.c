/* The inventory test module: RPCs around the inventory and shop host entries (ABI 1.6).
 * inv_grant takes "user_id item_id count [properties JSON]", inv_revoke "user_id item_id
 * count", inv_list_of "user_id", shop_put a catalog definition and shop_disable an item id;
 * init stocks the shop with "inv-mod-starter". tests/integration/economy_admin.test.mjs
 * drives it. */
#include <tavern/module.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tv_host_api_t *host;

/* Answers with json (taken from the host; NULL = "{}") or the error code. */
static int answer(tv_mod_reply_t *out, int rc, char *json)
{
    if (rc) {
        host->free(json);
        return host->fail(out, rc, "host call failed with %d", rc);
    }
    int r = host->reply(out, json ? json : "{}", json ? strlen(json) : 2);
    host->free(json);
    return r;
}

/* "user_id item_id count [rest]": rest points at what follows count (NULL when nothing). */
static int args(const char *p, char uid[64], char item[80], long long *count, const char **rest)
{
    int used = 0;
    if (sscanf(p, "%63s %79s %lld%n", uid, item, count, &used) != 3)
        return 0;
    const char *r = p + used;
    while (*r == ' ')
        r++;
    *rest = *r ? r : NULL;
    return 1;
}

static int grant(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    char uid[64], item[80];
    long long count;
    const char *props;
    if (!args(p, uid, item, &count, &props))
        return host->fail(out, TV_GRPC_INVALID_ARGUMENT, "want: user_id item_id count [props]");
    return answer(out, host->inventory_grant(ctx->module, uid, item, count, props), NULL);
}

static int revoke(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    char uid[64], item[80];
    long long count;
    const char *rest;
    if (!args(p, uid, item, &count, &rest) || rest)
        return host->fail(out, TV_GRPC_INVALID_ARGUMENT, "want: user_id item_id count");
    return answer(out, host->inventory_revoke(ctx->module, uid, item, count), NULL);
}

static int list_of(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    char *json = NULL;
    int rc = host->inventory_list(ctx->module, p, &json);
    return answer(out, rc, json);
}

static int shop_put(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    char *json = NULL;
    int rc = host->shop_item_put(ctx->module, p, &json);
    return answer(out, rc, json);
}

static int shop_disable(const tv_mod_ctx_t *ctx, const char *p, size_t n, tv_mod_reply_t *out)
{
    (void)n;
    return answer(out, host->shop_item_disable(ctx->module, p), NULL);
}

TV_MODULE("inventory_mod", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    if (!TV_HOST_HAS(api, shop_item_disable))
        return 1; /* a server before ABI 1.6: refuse to load */
    /* the catalog is there during init: a module may stock its shop at load */
    int rc = api->shop_item_put(mod, "{\"id\":\"inv-mod-starter\",\"name\":\"Starter\","
                                "\"grants\":{\"items\":{\"starter\":1}}}", NULL);
    if (!rc)
        rc = api->register_rpc(mod, "inv_grant", grant);
    if (!rc)
        rc = api->register_rpc(mod, "inv_revoke", revoke);
    if (!rc)
        rc = api->register_rpc(mod, "inv_list_of", list_of);
    if (!rc)
        rc = api->register_rpc(mod, "shop_put", shop_put);
    return rc ? rc : api->register_rpc(mod, "shop_disable", shop_disable);
}
