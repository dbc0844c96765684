/* The one table from TV_E* codes to gRPC codes and HTTP statuses. */
#include "error.h"

static const struct {
    int err, grpc;
    const char *name;
} table[] = {
    {TV_OK, 0, "ok"},
    {TV_EINVAL, 3, "invalid"},
    {TV_ENOTFOUND, 5, "not_found"},
    {TV_ECONFLICT, 6, "conflict"},
    {TV_EPERM, 7, "permission_denied"},
    {TV_EUNAUTH, 16, "unauthenticated"},
    {TV_EBUSY, 8, "resource_exhausted"},
    {TV_EUNAVAIL, 14, "unavailable"},
    {TV_EINTERNAL, 13, "internal"},
    {TV_ERETRY, 10, "aborted"},
    {TV_ENOMEM, 13, "out_of_memory"},
    {TV_EUNIMPL, 12, "unimplemented"},
    {TV_EPRECOND, 9, "failed_precondition"},
};

int tv_error_grpc(int err)
{
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].err == err)
            return table[i].grpc;
    return 13;
}

const char *tv_error_name(int err)
{
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].err == err)
            return table[i].name;
    return "unknown";
}

int tv_error_grpc_to_http(int grpc)
{
    switch (grpc) {
    case 0: return 200;
    case 3: case 9: case 11: return 400;
    case 16: return 401;
    case 7: return 403;
    case 5: return 404;
    case 6: case 10: return 409;
    case 8: return 429;
    case 1: return 499;
    case 12: return 501;
    case 14: return 503;
    case 4: return 504;
    default: return 500;
    }
}

int tv_error_http(int err)
{
    return tv_error_grpc_to_http(tv_error_grpc(err));
}
