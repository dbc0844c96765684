/* The console's role policy: one table, first matching row wins, defaults last. Rows match
 * route patterns segment by segment: "{}" takes any {param} segment, a final "**" takes zero
 * or more further segments. README's console section shows this table, and the web console
 * keeps a copy in web-console/roles.js (to hide what a role may not do): keep all three in step
 * (the browser suite compares this table with roles.js). */
#include "roles.h"
#include "error.h"

#include <string.h>

#define ANY "*"   /* any method */
#define WRITE "W" /* any method but GET */

static const struct {
    const char *method;
    const char *pattern;
    tv_con_role_t role;
} policy[] = {
    /* console users and the audit log: admins only, reads too */
    {ANY, "/v2/console/user/**", TV_CON_ADMIN},
    {ANY, "/v2/console/audit/**", TV_CON_ADMIN},
    /* deleting an account stays a developer's call ... */
    {"DELETE", "/v2/console/account/{}", TV_CON_DEVELOPER},
    /* ... while player care is a maintainer's: account edit, ban, unban; storage object
     * writes; economy grant, revoke and refund; stopping a match */
    {WRITE, "/v2/console/account/{}/**", TV_CON_MAINTAINER},
    {WRITE, "/v2/console/storage/**", TV_CON_MAINTAINER},
    {WRITE, "/v2/console/economy/**", TV_CON_MAINTAINER},
    {WRITE, "/v2/console/receipt/**", TV_CON_MAINTAINER},
    {WRITE, "/v2/console/match/**", TV_CON_MAINTAINER},
    /* defaults */
    {"GET", "/**", TV_CON_READONLY},
    {WRITE, "/**", TV_CON_DEVELOPER},
};

static const char *const names[] = {
    [TV_CON_READONLY] = "readonly",
    [TV_CON_MAINTAINER] = "maintainer",
    [TV_CON_DEVELOPER] = "developer",
    [TV_CON_ADMIN] = "admin",
};

int tv_con_role_parse(const char *name, tv_con_role_t *out)
{
    for (int i = 0; name && i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (tv_con_role_t)i;
            return TV_OK;
        }
    return TV_EINVAL;
}

const char *tv_con_role_name(tv_con_role_t role)
{
    return role >= TV_CON_READONLY && role <= TV_CON_ADMIN ? names[role] : "none";
}

/* The segment of s starting at *s (after its '/') up to the next '/' or the end. */
static size_t seg_len(const char *s)
{
    return strcspn(s, "/");
}

static int pattern_matches(const char *rule, const char *route)
{
    for (;;) {
        if (*rule == '/')
            rule++;
        if (*route == '/')
            route++;
        size_t rl = seg_len(rule), pl = seg_len(route);
        if (rl == 2 && strncmp(rule, "**", 2) == 0 && !rule[2])
            return 1; /* zero or more segments */
        if (!*rule || !*route)
            return !*rule && !*route;
        int same = rl == 2 && strncmp(rule, "{}", 2) == 0
                       ? pl > 1 && route[0] == '{' && route[pl - 1] == '}'
                       : rl == pl && strncmp(rule, route, rl) == 0;
        if (!same)
            return 0;
        rule += rl;
        route += pl;
    }
}

static int method_matches(const char *rule, const char *method)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(rule, ANY) == 0)
        return 1;
    if (strcmp(rule, WRITE) == 0)
        return !get;
    return strcmp(rule, "GET") == 0 ? get : strcmp(rule, method) == 0;
}

tv_con_role_t tv_con_role_required(const char *method, const char *pattern)
{
    for (size_t i = 0; i < sizeof policy / sizeof policy[0]; i++)
        if (method_matches(policy[i].method, method) && pattern_matches(policy[i].pattern, pattern))
            return policy[i].role;
    return TV_CON_ADMIN; /* unreachable: the defaults take everything */
}
