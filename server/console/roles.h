/* Console roles and the one policy table saying which role each console route needs, keyed by
 * method + route pattern, with defaults so a route added later gets a sane level unedited. */
#ifndef TV_CONSOLE_ROLES_H
#define TV_CONSOLE_ROLES_H

/* Ordered: a role may do everything the roles below it may. */
typedef enum {
    TV_CON_READONLY = 0,
    TV_CON_MAINTAINER = 1,
    TV_CON_DEVELOPER = 2,
    TV_CON_ADMIN = 3,
} tv_con_role_t;

/* "admin", "developer", "maintainer", "readonly" -> TV_OK and *out; TV_EINVAL otherwise
 * (NULL included). */
int tv_con_role_parse(const char *name, tv_con_role_t *out);
/* The role's name (a static string). */
const char *tv_con_role_name(tv_con_role_t role);

/* The least role that may call method (GET, POST, ...; HEAD reads as GET) on the route
 * pattern ("/v2/console/user/{username}"), as the route table spells it. Never fails: a
 * route no row names gets the default (GET readonly, anything else developer). */
tv_con_role_t tv_con_role_required(const char *method, const char *pattern);

#endif
