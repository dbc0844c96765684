/* tavern error codes: 0 is success, a negative TV_E* is failure. One table (error.c) maps each
 * code to the gRPC code Nakama clients expect and to the HTTP status. */
#ifndef TV_CORE_ERROR_H
#define TV_CORE_ERROR_H

enum {
    TV_OK = 0,
    TV_EINVAL = -1,      /* bad input: gRPC 3, HTTP 400 */
    TV_ENOTFOUND = -2,   /* gRPC 5, HTTP 404 */
    TV_ECONFLICT = -3,   /* already exists / in use: gRPC 6, HTTP 409 */
    TV_EPERM = -4,       /* permission denied: gRPC 7, HTTP 403 */
    TV_EUNAUTH = -5,     /* unauthenticated: gRPC 16, HTTP 401 */
    TV_EBUSY = -6,       /* resource exhausted (limits): gRPC 8, HTTP 429 */
    TV_EUNAVAIL = -7,    /* unavailable, try later: gRPC 14, HTTP 503 */
    TV_EINTERNAL = -8,   /* gRPC 13, HTTP 500 */
    TV_ERETRY = -9,      /* serialization failure / busy: the transaction may be retried */
    TV_ENOMEM = -10,     /* gRPC 13, HTTP 500 */
    TV_EUNIMPL = -11,    /* gRPC 12, HTTP 501 */
    TV_EPRECOND = -12,   /* failed precondition (e.g. a provider not configured): gRPC 9,
                            HTTP 400 */
};

/* The gRPC status code for a TV_E* code (0 for TV_OK). */
int tv_error_grpc(int err);
/* The HTTP status for a TV_E* code (200 for TV_OK). */
int tv_error_http(int err);
/* The HTTP status Nakama's gateway uses for a gRPC code. */
int tv_error_grpc_to_http(int grpc);
/* A short constant name, for logs. */
const char *tv_error_name(int err);

#endif
