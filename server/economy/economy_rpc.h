/* The economy's built-in RPCs (economy_rpc.c), registered by the server with
 * tv_mod_builtin_add. */
#ifndef TV_ECONOMY_ECONOMY_RPC_H
#define TV_ECONOMY_ECONOMY_RPC_H

#include "modules.h"

typedef struct tv_econ_rpc {
    const char *id;        /* the RPC id */
    const char *hook_api;  /* the API whose module hooks run around it (as over REST) */
    tv_mod_builtin_fn fn;  /* its ud is the tv_shop_t */
} tv_econ_rpc_t;

/* shop_catalog, shop_purchase, inventory_list, inventory_consume, wallet_ledger; ends with a
 * NULL id. */
extern const tv_econ_rpc_t tv_econ_rpcs[];

#endif
