/* Unit tests of the party roster (server/party/roster.c): joins of open and closed parties,
 * max size for joins and accepts, join request limits, the leader's permissions, removal of
 * members and requests, and the hand-over to the oldest member when the leader leaves. */
#include "check.h"
#include "error.h"
#include "party.h"

#include <stdio.h>
#include <string.h>

static tv_party_member_t mem(int i)
{
    tv_party_member_t m = {0};
    snprintf(m.session_id, sizeof m.session_id, "00000000-0000-4000-8000-%012d", i);
    snprintf(m.user_id, sizeof m.user_id, "10000000-0000-4000-8000-%012d", i);
    snprintf(m.username, sizeof m.username, "user%d", i);
    return m;
}

static const char *ID = "11111111-1111-4111-8111-111111111111.tavern";

static void test_open(void)
{
    tv_party_member_t a = mem(1), b = mem(2), c = mem(3), d = mem(4), gone;
    tv_party_t *p = tv_party_new(ID, 1, 0, 3, "lbl", &a);
    tv_party_join_t out;
    const char *why;
    int nl;
    CHECK(p && p->n == 1 && tv_party_is_leader(p, a.session_id) && !strcmp(p->label, "lbl"));
    CHECK(tv_party_join(p, &b, &out, &why) == TV_OK && out == TV_PARTY_JOINED && p->n == 2);
    CHECK(tv_party_join(p, &b, &out, &why) == TV_OK && out == TV_PARTY_UNCHANGED && p->n == 2);
    CHECK(tv_party_join(p, &c, &out, &why) == TV_OK && out == TV_PARTY_JOINED && p->n == 3);
    CHECK(tv_party_join(p, &d, &out, &why) == TV_EBUSY && !strcmp(why, "party full"));
    /* a member that is not the leader leaves: the leader stays */
    CHECK(tv_party_leave(p, b.session_id, &gone, &nl) == TV_PARTY_LEFT_MEMBER && !nl);
    CHECK(!strcmp(gone.session_id, b.session_id) && tv_party_is_leader(p, a.session_id));
    CHECK(tv_party_leave(p, b.session_id, &gone, &nl) == TV_PARTY_LEFT_NONE);
    CHECK(tv_party_join(p, &d, &out, &why) == TV_OK && out == TV_PARTY_JOINED);
    /* members now a, c, d: the leader leaves, the oldest (c) takes over */
    CHECK(tv_party_leave(p, a.session_id, &gone, &nl) == TV_PARTY_LEFT_MEMBER && nl);
    CHECK(tv_party_is_leader(p, c.session_id) && p->n == 2);
    /* promote d, then d leaves: c (the oldest) leads again */
    CHECK(tv_party_promote(p, c.session_id, &d, &why) == TV_OK);
    CHECK(tv_party_is_leader(p, d.session_id));
    CHECK(tv_party_leave(p, d.session_id, &gone, &nl) == TV_PARTY_LEFT_MEMBER && nl);
    CHECK(tv_party_is_leader(p, c.session_id));
    /* the last member leaves: nobody leads, the party is over */
    CHECK(tv_party_leave(p, c.session_id, &gone, &nl) == TV_PARTY_LEFT_MEMBER && !nl && p->n == 0);
    CHECK(!tv_party_is_leader(p, c.session_id));
    tv_party_free(p);
    CHECK(tv_party_new(ID, 1, 0, 0, NULL, &a) == NULL);
}

static void test_leader_index(void)
{
    /* the leader's index follows removals of older members */
    tv_party_member_t m[4] = {mem(1), mem(2), mem(3), mem(4)}, gone;
    tv_party_t *p = tv_party_new(ID, 1, 0, 8, NULL, &m[0]);
    tv_party_join_t out;
    const char *why;
    int nl, was;
    for (int i = 1; i < 4; i++)
        CHECK(tv_party_join(p, &m[i], &out, &why) == TV_OK);
    CHECK(tv_party_promote(p, m[0].session_id, &m[2], &why) == TV_OK && p->leader == 2);
    CHECK(tv_party_leave(p, m[0].session_id, &gone, &nl) == TV_PARTY_LEFT_MEMBER && !nl);
    CHECK(tv_party_is_leader(p, m[2].session_id));
    CHECK(tv_party_remove(p, m[2].session_id, &m[1], &was, &why) == TV_OK && was);
    CHECK(tv_party_is_leader(p, m[2].session_id) && p->n == 2);
    tv_party_free(p);
}

static void test_closed(void)
{
    tv_party_member_t a = mem(1), b = mem(2), c = mem(3), d = mem(4), e = mem(5), gone;
    tv_party_t *p = tv_party_new(ID, 0, 1, 2, NULL, &a);
    tv_party_join_t out;
    const char *why;
    int nl, was;
    CHECK(p && p->label == NULL && p->hidden);
    CHECK(tv_party_join(p, &b, &out, &why) == TV_OK && out == TV_PARTY_REQUESTED && p->nreq == 1);
    CHECK(tv_party_join(p, &b, &out, &why) == TV_OK && out == TV_PARTY_UNCHANGED && p->nreq == 1);
    CHECK(tv_party_join(p, &c, &out, &why) == TV_OK && out == TV_PARTY_REQUESTED);
    /* at most max_size requests */
    CHECK(tv_party_join(p, &d, &out, &why) == TV_EBUSY && !strcmp(why, "party join requests full"));
    /* only the leader acts */
    CHECK(tv_party_accept(p, b.session_id, &b, &why) == TV_EPERM);
    CHECK(!strcmp(why, "party leader only"));
    CHECK(tv_party_remove(p, c.session_id, &b, &was, &why) == TV_EPERM);
    CHECK(tv_party_promote(p, b.session_id, &b, &why) == TV_EPERM);
    /* a target must match by session and user */
    tv_party_member_t wrong = b;
    wrong.user_id[0] = 'f';
    CHECK(tv_party_accept(p, a.session_id, &wrong, &why) == TV_ENOTFOUND);
    CHECK(tv_party_promote(p, a.session_id, &b, &why) == TV_ENOTFOUND);
    CHECK(tv_party_accept(p, a.session_id, &b, &why) == TV_OK && p->n == 2 && p->nreq == 1);
    /* full now: c cannot be accepted, nor can anyone ask */
    CHECK(tv_party_accept(p, a.session_id, &c, &why) == TV_EBUSY && !strcmp(why, "party full"));
    CHECK(tv_party_join(p, &e, &out, &why) == TV_EBUSY && !strcmp(why, "party full"));
    /* declining c's request; removing oneself is refused; removing b frees a place */
    CHECK(tv_party_remove(p, a.session_id, &c, &was, &why) == TV_OK && !was && p->nreq == 0);
    CHECK(tv_party_remove(p, a.session_id, &c, &was, &why) == TV_ENOTFOUND);
    CHECK(tv_party_remove(p, a.session_id, &a, &was, &why) == TV_EINVAL);
    CHECK(tv_party_remove(p, a.session_id, &b, &was, &why) == TV_OK && was && p->n == 1);
    /* a withdrawn request */
    CHECK(tv_party_join(p, &d, &out, &why) == TV_OK && out == TV_PARTY_REQUESTED);
    CHECK(tv_party_leave(p, d.session_id, &gone, &nl) == TV_PARTY_LEFT_REQUEST && p->nreq == 0);
    tv_party_free(p);
}

int main(void)
{
    test_open();
    test_leader_index();
    test_closed();
    return check_summary();
}
