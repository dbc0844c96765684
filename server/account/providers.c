/* The REST calls that need an outside provider tavern does not talk to (Apple, Google,
 * Facebook, Facebook Instant Games, Game Center, Steam, Huawei and the stores' purchase and
 * subscription validation): each answers Nakama's own refusal for a provider that is not
 * configured, 400 with gRPC code 9 (FailedPrecondition), instead of a 404 for an unknown
 * route. Nakama's texts: "Apple authentication is not configured.", "Steam authentication is
 * not configured.", "Apple IAP is not configured.", "Google IAP is not configured.", "Huawei
 * IAP is not configured.", "Facebook Instant IAP is not configured."; the other providers'
 * follow the same form. Subscriptions: none is ever stored, so the list is empty and a get is
 * Nakama's 404. */
#include "account.h"
#include "error.h"

#define NOT_CONFIGURED(fn, text)                                                            \
    void fn(tv_http_req_t *req, void *app)                                                  \
    {                                                                                       \
        (void)app;                                                                          \
        tv_http_error(req, TV_EPRECOND, text);                                              \
    }

NOT_CONFIGURED(tv_provider_apple, "Apple authentication is not configured.")
NOT_CONFIGURED(tv_provider_facebook, "Facebook authentication is not configured.")
NOT_CONFIGURED(tv_provider_facebook_instant,
               "Facebook Instant Game authentication is not configured.")
NOT_CONFIGURED(tv_provider_gamecenter, "GameCenter authentication is not configured.")
NOT_CONFIGURED(tv_provider_google, "Google authentication is not configured.")
NOT_CONFIGURED(tv_provider_steam, "Steam authentication is not configured.")
NOT_CONFIGURED(tv_iap_apple, "Apple IAP is not configured.")
NOT_CONFIGURED(tv_iap_google, "Google IAP is not configured.")
NOT_CONFIGURED(tv_iap_huawei, "Huawei IAP is not configured.")
NOT_CONFIGURED(tv_iap_facebook_instant, "Facebook Instant IAP is not configured.")

void tv_iap_subscription_list(tv_http_req_t *req, void *app)
{
    (void)app;
    cJSON *body = tv_http_body_json(req); /* owned by the request */
    if (!body)
        return;
    const cJSON *limit = cJSON_GetObjectItemCaseSensitive(body, "limit");
    if (limit && !cJSON_IsNull(limit) &&
        (!cJSON_IsNumber(limit) || limit->valuedouble < 1 || limit->valuedouble > 100)) {
        tv_http_error(req, TV_EINVAL, "Invalid limit - limit must be between 1 and 100.");
        return;
    }
    tv_http_reply_json(req, NULL); /* {}: no subscriptions */
}

void tv_iap_subscription_get(tv_http_req_t *req, void *app)
{
    (void)app;
    tv_http_error(req, TV_ENOTFOUND, "Subscription not found.");
}
