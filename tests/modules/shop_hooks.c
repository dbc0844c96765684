/* The shop hooks test module: hooks on ShopPurchase and ListWalletLedger that act on the REST
 * calls and on the built-in RPCs alike. A purchase of an item whose id starts "forbidden-" is
 * refused (PERMISSION_DENIED); one of a "bonus-" item credits 1 "bonus" afterwards (through
 * wallet_update, its own ledger entry), once per purchase, not per retried key; a ledger request with "capped":true is replaced by
 * {"limit":1}. Items with other ids pass untouched, so suites may load it beside others. */
#include <tavern/module.h>

#include <stdio.h>
#include <string.h>

static const tv_host_api_t *host;

static int before_purchase(const tv_mod_ctx_t *ctx, const char *in, size_t len,
                           tv_mod_reply_t *out)
{
    (void)ctx, (void)len;
    if (strstr(in, "\"forbidden-"))
        return host->fail(out, TV_GRPC_PERMISSION_DENIED, "%s may not buy that", ctx->user_id);
    return 0;
}

static int after_purchase(const tv_mod_ctx_t *ctx, const char *result, size_t rlen,
                          const char *in, size_t in_len, tv_mod_reply_t *err)
{
    (void)rlen, (void)in, (void)in_len;
    /* a retried key ("replayed") was charged once: its bonus was given then */
    if (!strstr(result, "\"item_id\":\"bonus-") || strstr(result, "\"replayed\":true"))
        return 0;
    char updates[256];
    snprintf(updates, sizeof updates,
             "[{\"user_id\":\"%s\",\"changeset\":{\"bonus\":1},\"metadata\":{\"why\":\"bonus\"}}]",
             ctx->user_id);
    int rc = host->wallet_update(ctx->module, updates, 0, NULL);
    return rc ? host->fail(err, rc, "bonus failed") : 0;
}

static int before_ledger(const tv_mod_ctx_t *ctx, const char *in, size_t len,
                         tv_mod_reply_t *out)
{
    (void)ctx, (void)len;
    if (!strstr(in, "\"capped\":true"))
        return 0;
    static const char capped[] = "{\"limit\":1}";
    return host->reply(out, capped, sizeof capped - 1);
}

TV_MODULE("shop_hooks", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    if (!TV_HOST_HAS(api, wallet_update))
        return 1;
    int rc = api->register_before(mod, "ShopPurchase", before_purchase);
    if (!rc)
        rc = api->register_after(mod, "ShopPurchase", after_purchase);
    return rc ? rc : api->register_before(mod, "ListWalletLedger", before_ledger);
}
