/* Unit tests for server/console/roles.c: role names and the route policy table (pattern
 * segments, {} and a final **, defaults for routes no row names). */
#include "check.h"
#include "error.h"
#include "roles.h"

#include <string.h>

#define NEED(m, p, r) CHECK_AS(tv_con_role_required(m, p) == (r), m " " p " needs " #r)

int main(void)
{
    tv_con_role_t r;
    CHECK(tv_con_role_parse("admin", &r) == TV_OK && r == TV_CON_ADMIN);
    CHECK(tv_con_role_parse("readonly", &r) == TV_OK && r == TV_CON_READONLY);
    CHECK(tv_con_role_parse("Admin", &r) == TV_EINVAL);
    CHECK(tv_con_role_parse("", &r) == TV_EINVAL);
    CHECK(tv_con_role_parse(NULL, &r) == TV_EINVAL);
    CHECK(strcmp(tv_con_role_name(TV_CON_MAINTAINER), "maintainer") == 0);
    CHECK(TV_CON_READONLY < TV_CON_MAINTAINER && TV_CON_MAINTAINER < TV_CON_DEVELOPER &&
          TV_CON_DEVELOPER < TV_CON_ADMIN);

    /* admin routes: reads too */
    NEED("GET", "/v2/console/user", TV_CON_ADMIN);
    NEED("POST", "/v2/console/user", TV_CON_ADMIN);
    NEED("DELETE", "/v2/console/user/{username}", TV_CON_ADMIN);
    NEED("POST", "/v2/console/user/{username}/unlock", TV_CON_ADMIN);
    NEED("GET", "/v2/console/audit", TV_CON_ADMIN);
    NEED("GET", "/v2/console/users", TV_CON_READONLY); /* another segment: not the table's */
    NEED("GET", "/v2/console/userx/{id}", TV_CON_READONLY);
    /* player care */
    NEED("POST", "/v2/console/economy/{user_id}/grant", TV_CON_MAINTAINER);
    NEED("POST", "/v2/console/receipt/{receipt_id}/refund", TV_CON_MAINTAINER);
    NEED("PUT", "/v2/console/account/{id}", TV_CON_MAINTAINER);
    NEED("POST", "/v2/console/account/{id}/ban", TV_CON_MAINTAINER);
    NEED("DELETE", "/v2/console/account/{id}", TV_CON_DEVELOPER);
    NEED("DELETE", "/v2/console/account/{id}/device/{device}", TV_CON_MAINTAINER);
    NEED("PUT", "/v2/console/storage/{collection}/{key}/{user_id}", TV_CON_MAINTAINER);
    NEED("DELETE", "/v2/console/storage/{collection}/{key}/{user_id}", TV_CON_MAINTAINER);
    NEED("POST", "/v2/console/match/{id}/stop", TV_CON_MAINTAINER);
    NEED("POST", "/v2/console/account", TV_CON_DEVELOPER); /* not under an account */
    NEED("POST", "/v2/console/account/literal", TV_CON_DEVELOPER); /* {} needs a parameter */
    /* defaults */
    NEED("GET", "/v2/console/economy/{user_id}", TV_CON_READONLY);
    NEED("HEAD", "/v2/console/leaderboard", TV_CON_READONLY);
    NEED("POST", "/v2/console/leaderboard", TV_CON_DEVELOPER);
    NEED("PUT", "/v2/console/shop/{id}", TV_CON_DEVELOPER);
    NEED("PATCH", "/v2/console/something/new", TV_CON_DEVELOPER);
    NEED("GET", "/", TV_CON_READONLY);
    return check_summary();
}
