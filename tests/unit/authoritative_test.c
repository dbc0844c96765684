/* Unit tests of server/match/authoritative.c's pure parts: the label query subset (parsing,
 * must / must-not / should terms, ranges, nested keys, arrays), label_update's and
 * match_set_reconnect_grace's limits, finding a held presence, and match signals (a hand-made
 * match ticked by the test: answer, timeout, full queue, refusal on a tick thread, a NULL
 * state ending the match), and the join/leave queue with the session -> matches index. The
 * realtime paths are covered by tests/integration/authoritative.test.mjs. */
#include "../../server/match/authoritative.c"
#include "../../server/modules/internal.h"

#include "check.h"

/* ---- match signals: a fake match whose ticks the test runs ---- */

static int nsignals;
static int dummy_state;

static void *t_loop(const tv_mod_match_ctx_t *ctx, void *state,
                    const tv_mod_match_message_t *const *msgs, size_t n)
{
    (void)ctx, (void)msgs, (void)n;
    return state;
}

static void *t_signal(const tv_mod_match_ctx_t *ctx, void *state, const char *data, size_t len,
                      tv_mod_reply_t *result)
{
    (void)ctx;
    char buf[64];
    nsignals++;
    int n = snprintf(buf, sizeof buf, "pong:%.*s", (int)len, data);
    tv_mod_host.reply(result, buf, (size_t)n);
    return strcmp(data, "end") == 0 ? NULL : state;
}

static const tv_mod_match_handler_t t_handler = {
    .size = sizeof(tv_mod_match_handler_t), .loop = t_loop, .signal = t_signal};

typedef struct sig_call {
    pthread_t t;
    tv_amatch_t *a;
    const char *id, *data;
    int rc;
    char *res;
    size_t len;
} sig_call_t;

static void *sig_thread(void *ud)
{
    sig_call_t *c = ud;
    c->rc = tv_amatch_signal(c->a, c->id, c->data, strlen(c->data), &c->res, &c->len);
    return NULL;
}

static void sig_start(sig_call_t *c, tv_amatch_t *a, const char *id, const char *data)
{
    memset(c, 0, sizeof *c);
    c->a = a, c->id = id, c->data = data, c->rc = -1;
    pthread_create(&c->t, NULL, sig_thread, c);
}

/* Waits until m holds n queued signals (at most 5 s). */
static int sig_wait_queued(amatch_t *m, int n)
{
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&m->mu);
        int k = m->nsigs;
        pthread_mutex_unlock(&m->mu);
        if (k == n)
            return 1;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* A running match of t_handler, listed in a, that the test ticks by hand; done() frees it. */
static amatch_t *fake_match(tv_amatch_t *a, const char *id)
{
    amatch_t *m = calloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->a = a;
    m->h = &t_handler;
    m->disp.m = m;
    m->tick_rate = 10;
    m->state = &dummy_state;
    m->handler_name = strdup("t");
    snprintf(m->id, sizeof m->id, "%s", id);
    CHECK(tv_rt_idmap_put(&a->map, m->id, m) == TV_OK);
    return m;
}

static void signal_tests(void)
{
    tv_amatch_t a = {0};
    pthread_rwlock_init(&a.lock, NULL);
    a.signal_timeout_ms = 300;
    amatch_t *m = fake_match(&a, "11111111-1111-4111-8111-111111111111.tavern");
    char *res = (char *)1;
    size_t len = 9;

    /* arguments, unknown match, and a tick thread (any match's) refused */
    CHECK(tv_amatch_signal(NULL, m->id, "x", 1, &res, &len) == TV_GRPC_UNAVAILABLE && !res && !len);
    CHECK(tv_amatch_signal(&a, NULL, "x", 1, &res, &len) == TV_GRPC_INVALID_ARGUMENT);
    CHECK(tv_amatch_signal(&a, m->id, NULL, 1, &res, &len) == TV_GRPC_INVALID_ARGUMENT);
    CHECK(tv_amatch_signal(&a, "nope.tavern", "x", 1, &res, &len) == TV_GRPC_NOT_FOUND && !res);
    tls_match = m;
    CHECK(tv_amatch_signal(&a, m->id, "x", 1, &res, &len) == TV_GRPC_FAILED_PRECONDITION);
    tls_match = NULL;
    CHECK(m->nsigs == 0);

    /* answered on the next tick, before the loop */
    sig_call_t c[TV_AMATCH_SIGNAL_QUEUE + 1];
    sig_start(&c[0], &a, m->id, "ping");
    CHECK(sig_wait_queued(m, 1));
    CHECK(tick(m, 0) == TV_SCHED_CONTINUE && m->loops == 1 && tls_match == NULL);
    pthread_join(c[0].t, NULL);
    CHECK(c[0].rc == TV_GRPC_OK && c[0].res && strcmp(c[0].res, "pong:ping") == 0 &&
          c[0].len == 9);
    free(c[0].res);
    CHECK(nsignals == 1);

    /* nobody ticks: the caller times out, and the signal is then skipped */
    sig_start(&c[0], &a, m->id, "late");
    CHECK(sig_wait_queued(m, 1));
    pthread_join(c[0].t, NULL);
    CHECK(c[0].rc == TV_GRPC_DEADLINE_EXCEEDED && !c[0].res);
    CHECK(tick(m, 0) == TV_SCHED_CONTINUE && nsignals == 1 && m->nsigs == 0);

    /* ten wait; the eleventh is refused; one tick answers the ten in order */
    a.signal_timeout_ms = 5000;
    for (int i = 0; i < TV_AMATCH_SIGNAL_QUEUE; i++) {
        sig_start(&c[i], &a, m->id, "many");
        CHECK(sig_wait_queued(m, i + 1));
    }
    CHECK(tv_amatch_signal(&a, m->id, "x", 1, &res, &len) == TV_GRPC_RESOURCE_EXHAUSTED);
    CHECK(tick(m, 0) == TV_SCHED_CONTINUE);
    for (int i = 0; i < TV_AMATCH_SIGNAL_QUEUE; i++) {
        pthread_join(c[i].t, NULL);
        CHECK(c[i].rc == TV_GRPC_OK && strcmp(c[i].res, "pong:many") == 0);
        free(c[i].res);
    }
    CHECK(nsignals == 1 + TV_AMATCH_SIGNAL_QUEUE);

    /* a NULL state ends the match: its caller is answered, the one queued after it is not
     * found, and so is any later one */
    sig_start(&c[0], &a, m->id, "end");
    CHECK(sig_wait_queued(m, 1));
    sig_start(&c[1], &a, m->id, "after");
    CHECK(sig_wait_queued(m, 2));
    CHECK(tick(m, 0) == TV_SCHED_STOP && m->ended);
    pthread_join(c[0].t, NULL);
    pthread_join(c[1].t, NULL);
    CHECK(c[0].rc == TV_GRPC_OK && strcmp(c[0].res, "pong:end") == 0);
    CHECK(c[1].rc == TV_GRPC_NOT_FOUND && !c[1].res);
    free(c[0].res);
    CHECK(tv_amatch_signal(&a, m->id, "x", 1, NULL, NULL) == TV_GRPC_NOT_FOUND);
    atomic_store(&a.matches, 1);
    done(m); /* unlists and frees it */
    CHECK(tv_amatch_signal(&a, "11111111-1111-4111-8111-111111111111.tavern", "x", 1, NULL,
                           NULL) == TV_GRPC_NOT_FOUND);
    tv_rt_idmap_free(&a.map);
    pthread_rwlock_destroy(&a.lock);
}

/* ---- joins, leaves and closes: the session index and the queue bound ---- */

static void who_make(tv_rt_identity_t *w, int i)
{
    memset(w, 0, sizeof *w);
    snprintf(w->user_id, sizeof w->user_id, "00000000-0000-4000-8000-%012d", i);
    snprintf(w->session_id, sizeof w->session_id, "10000000-0000-4000-8000-%012d", i);
    snprintf(w->username, sizeof w->username, "u%d", i);
}

static void queue_tests(void)
{
    enum { N = TV_AMATCH_CALL_QUEUE };
    tv_amatch_t a = {0};
    pthread_rwlock_init(&a.lock, NULL);
    a.joined = tv_joined_new();
    CHECK(a.joined != NULL);
    amatch_t *m = fake_match(&a, "22222222-2222-4222-8222-222222222222.tavern");
    atomic_store(&a.matches, 1);

    static tv_rt_identity_t who[N];
    int queued = 1;
    for (int i = 0; i < N; i++) {
        who_make(&who[i], i);
        tv_rt_msg_t msg = {NULL, &who[i], NULL, "match_join", NULL};
        queued &= hook_join(&a, &msg, m->id, NULL) == TV_OK &&
                  tv_joined_count(a.joined, who[i].session_id) == 1;
    }
    CHECK_AS(queued && m->nreqs == N, "every join is queued and noted in the session index");
    hook_leave(&a, &who[0], m->id);
    on_close(&a, &who[1]);
    CHECK_AS(m->nreqs == N + 2, "a leave and a close are queued even when the joins fill the queue");
    CHECK_AS(tv_joined_count(a.joined, who[1].session_id) == 0,
             "a close takes the session out of the index");
    on_close(&a, &who[1]);
    CHECK_AS(m->nreqs == N + 2, "a second close of the same session queues nothing");

    CHECK(tick(m, 0) == TV_SCHED_CONTINUE);
    CHECK_AS(m->npres == N - 2 && member_of(m, who[0].session_id) < 0 &&
             member_of(m, who[1].session_id) < 0 && member_of(m, who[2].session_id) >= 0,
             "the tick joins everyone, then the leave and the close take their sessions out");
    CHECK_AS(tv_joined_count(a.joined, who[0].session_id) == 0 &&
             tv_joined_count(a.joined, who[2].session_id) == 1,
             "a member stays in the index, one that left does not");
    on_close(&a, &who[2]);
    CHECK(tick(m, 0) == TV_SCHED_CONTINUE);
    CHECK_AS(m->npres == N - 3 && member_of(m, who[2].session_id) < 0,
             "a member's closed socket leaves through the index");
    CHECK_AS(atomic_load(&a.presences) == N - 3, "the presence count follows");

    done(m);
    tv_joined_free(a.joined);
    tv_rt_idmap_free(&a.map);
    pthread_rwlock_destroy(&a.lock);
}

static int score(const char *q, const char *label)
{
    tv_query_t pq;
    if (tv_query_parse(q, "label.", &pq) != TV_OK)
        return -100;
    int s = query_score(&pq, label);
    tv_query_free(&pq);
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
    CHECK(TV_HOST_HAS(&tv_mod_host, match_signal));
    char *res = (char *)1;
    size_t rlen = 3;
    CHECK(tv_mod_host.match_signal(NULL, "x.tavern", "d", 1, &res, &rlen) == TV_GRPC_UNAVAILABLE &&
          !res && !rlen);

    /* ABI 1.8: the stream entries answer UNAVAILABLE without the chat room */
    CHECK(tv_mod_host.abi_minor == 8 && TV_HOST_HAS(&tv_mod_host, register_event));
    tv_mod_stream_t stream = {sizeof stream, 100, NULL, NULL, "lobby"};
    int64_t members = 5;
    char *plist = (char *)1;
    CHECK(tv_mod_host.stream_count(NULL, &stream, &members) == TV_GRPC_UNAVAILABLE && !members);
    CHECK(tv_mod_host.stream_user_list(NULL, &stream, 1, 1, &plist) == TV_GRPC_UNAVAILABLE &&
          !plist);
    CHECK(tv_mod_host.stream_send(NULL, &stream, "x", 1, NULL, 0, NULL, 0) ==
          TV_GRPC_UNAVAILABLE);

    signal_tests();
    queue_tests();
    return check_summary();
}
