/* The module host table's matchmaker entries (module.h: matchmaker_add, matchmaker_remove,
 * matchmaker_list, ABI 1.7): JSON in and out, TV_E* codes turned into gRPC codes. Installed by
 * the server once the matchmaker runs. */
#include "matchmaker.h"
#include "error.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <tavern/module.h>

static _Atomic(tv_mm_t *) host_mm;

static int grpc_of(int rc)
{
    switch (rc) {
    case TV_OK: return TV_GRPC_OK;
    case TV_EINVAL: return TV_GRPC_INVALID_ARGUMENT;
    case TV_ENOTFOUND: return TV_GRPC_NOT_FOUND;
    case TV_EBUSY: return TV_GRPC_RESOURCE_EXHAUSTED;
    case TV_EUNAVAIL: return TV_GRPC_UNAVAILABLE;
    default: return TV_GRPC_INTERNAL;
    }
}

static int host_add(const char *session_id, const char *ticket_json, char **ticket_id,
                    const char **why)
{
    tv_mm_t *mm = atomic_load(&host_mm);
    *why = NULL;
    if (!mm)
        return TV_GRPC_UNAVAILABLE;
    cJSON *body = ticket_json ? cJSON_Parse(ticket_json) : NULL;
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        *why = ticket_json ? "ticket_json is not a JSON object" : "no ticket_json";
        return TV_GRPC_INVALID_ARGUMENT;
    }
    char id[37];
    int rc = tv_mm_add(mm, session_id, body, id, why);
    cJSON_Delete(body);
    if (rc == TV_OK && ticket_id && !(*ticket_id = strdup(id)))
        return TV_GRPC_INTERNAL; /* the ticket waits all the same */
    return grpc_of(rc);
}

static int host_remove(const char *ticket_id)
{
    return grpc_of(tv_mm_remove_ticket(atomic_load(&host_mm), ticket_id));
}

static int host_list(const char *user_id, const char *session_id, int limit,
                     char **tickets_json)
{
    cJSON *arr = NULL;
    int rc = tv_mm_list(atomic_load(&host_mm), user_id, session_id,
                        limit > 0 ? (size_t)limit : 0, &arr, NULL);
    if (rc != TV_OK)
        return grpc_of(rc);
    *tickets_json = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return *tickets_json ? TV_GRPC_OK : TV_GRPC_INTERNAL;
}

static const tv_mm_host_ops_t ops = {host_add, host_remove, host_list};

void tv_mm_host_install(tv_mm_t *mm)
{
    atomic_store(&host_mm, mm);
    tv_mod_host_set_mm_ops(&ops);
}

void tv_mm_host_uninstall(void)
{
    tv_mod_host_set_mm_ops(NULL);
    atomic_store(&host_mm, NULL);
}
