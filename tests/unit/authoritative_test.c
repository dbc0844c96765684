/* Unit tests of server/match/authoritative.c's pure parts: the label query subset (parsing,
 * must / must-not / should terms, ranges, nested keys, arrays), label_update's and
 * match_set_reconnect_grace's limits, and finding a held presence. The
 * realtime paths are covered by tests/integration/authoritative.test.mjs. */
#include "../../server/match/authoritative.c"
#include "../../server/modules/internal.h"

#include "check.h"

static int score(const char *q, const char *label)
{
    query_t pq;
    if (query_parse(q, &pq) != TV_OK)
        return -100;
    int s = query_score(&pq, label);
    query_free(&pq);
    return s;
}

int main(void)
{
    const char *l = "{\"mode\":\"ctf\",\"skill\":55,\"open\":true,\"region\":{\"name\":\"eu\"},"
                    "\"tags\":[\"ranked\",\"night\"]}";
    CHECK(score("+label.mode:ctf", l) == 0);
    CHECK(score("+label.mode:dm", l) == -1);
    CHECK(score("-label.mode:ctf", l) == -1);
    CHECK(score("-label.mode:dm", l) == 0);
    CHECK(score("+label.skill:>=50", l) == 0);
    CHECK(score("+label.skill:>=56", l) == -1);
    CHECK(score("+label.skill:<=55 +label.skill:>54 +label.skill:<56", l) == 0);
    CHECK(score("+label.skill:55", l) == 0);
    CHECK(score("+label.open:true", l) == 0);
    CHECK(score("+label.region.name:eu", l) == 0);
    CHECK(score("+label.tags:night", l) == 0);
    CHECK(score("+label.tags:day", l) == -1);
    CHECK(score("label.mode:dm label.mode:ctf label.tags:ranked", l) == 2);
    CHECK(score("label.mode:dm", l) == -1);        /* only shoulds: one must hit */
    CHECK(score("+label.mode:ctf label.mode:dm", l) == 0); /* a must makes shoulds optional */
    CHECK(score("+label.mode:\"ctf\"", l) == 0);
    CHECK(score("+label.mode:*", l) == 0);
    CHECK(score("ranked", l) == 1);                /* a bare word: anywhere in the label */
    CHECK(score("+label.mode:ctf", NULL) == -1);
    CHECK(score("+label.mode:ctf", "not json") == -1);
    CHECK(score("+mode:ctf", l) == -100);          /* only label.* fields */
    CHECK(score("+label.skill:>=x", l) == -100);
    CHECK(score("+label.mode:\"ctf", l) == -100);
    CHECK(score("   ", l) == 0);

    /* label_update: copies, refuses over 2048 bytes */
    amatch_t m = {0};
    pthread_mutex_init(&m.mu, NULL);
    m.disp.m = &m;
    char big[TV_AMATCH_LABEL_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK(d_label_update(&m.disp, "{\"a\":1}") == TV_GRPC_OK && strcmp(m.label, "{\"a\":1}") == 0);
    CHECK(d_label_update(&m.disp, big) == TV_GRPC_INVALID_ARGUMENT);
    big[TV_AMATCH_LABEL_MAX] = 0;
    CHECK(d_label_update(&m.disp, big) == TV_GRPC_OK && strlen(m.label) == TV_AMATCH_LABEL_MAX);
    CHECK(d_label_update(&m.disp, NULL) == TV_GRPC_OK && m.label == NULL);

    /* match_set_reconnect_grace: 0..TV_AMATCH_RECONNECT_MAX seconds */
    CHECK(d_set_reconnect_grace(&m.disp, 10) == TV_GRPC_OK && m.reconnect_grace == 10);
    CHECK(d_set_reconnect_grace(&m.disp, -1) == TV_GRPC_INVALID_ARGUMENT && m.reconnect_grace == 10);
    CHECK(d_set_reconnect_grace(&m.disp, TV_AMATCH_RECONNECT_MAX + 1) == TV_GRPC_INVALID_ARGUMENT);
    CHECK(d_set_reconnect_grace(&m.disp, TV_AMATCH_RECONNECT_MAX) == TV_GRPC_OK);
    CHECK(d_set_reconnect_grace(&m.disp, 0) == TV_GRPC_OK && m.reconnect_grace == 0);
    CHECK(d_set_reconnect_grace(NULL, 5) == TV_GRPC_INVALID_ARGUMENT);

    /* held_of finds only held presences, by user */
    apres_t p1, p2, *ps[2] = {&p1, &p2};
    pres_set(&p1, "u1", "s1", "n1", 1);
    pres_set(&p2, "u2", "s2", "n2", 1);
    p1.gone_ms = p2.gone_ms = 0;
    m.pres = ps;
    m.npres = 2;
    CHECK(held_of(&m, "u2") == -1);
    p2.gone_ms = 1;
    CHECK(held_of(&m, "u2") == 1 && held_of(&m, "u1") == -1 && held_of(&m, "u3") == -1);
    CHECK(member_of(&m, "s2") == 1);
    m.pres = NULL;
    m.npres = 0;
    pthread_mutex_destroy(&m.mu);

    /* the host entries answer UNAVAILABLE without a room */
    char *id = (char *)1;
    CHECK(tv_mod_host.match_create(NULL, "arena", "{}", &id) == TV_GRPC_UNAVAILABLE && !id);
    CHECK(TV_HOST_HAS(&tv_mod_host, match_set_reconnect_grace));
    CHECK(tv_mod_host.match_set_reconnect_grace(NULL, 5) == TV_GRPC_UNAVAILABLE);
    return check_summary();
}
