/* The registry: loaded modules with reference counts, their registrations, and generations
 * (immutable sorted tables of one load) published through a pointer that readers take a
 * reference on under a read lock held for a few instructions, so a reload never blocks calls. */
#include "internal.h"
#include "error.h"
#include "log.h"

#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tv_mod_registry {
    pthread_rwlock_t lock;   /* guards cur: held only to read it and take a reference */
    tv_mod_gen_t *cur;       /* one reference, owned by the registry */
    pthread_mutex_t load;    /* one load at a time */
    uint64_t next_id;        /* under load */
    mod_builtin_t builtins[TV_MOD_BUILTINS_MAX]; /* written only at start-up */
    size_t nbuiltins;
};

static atomic_int live_modules;

static const char *const kind_name[KIND_COUNT] = {
    "RPC", "before hook", "after hook", "match", "leaderboard reset hook",
    "matchmaker matched hook", "event hook"};

char *tv_mod_lower(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* --- modules ----------------------------------------------------------------------------- */

tv_module_t *tv_mod_module_new(const char *file)
{
    tv_module_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->fd = -1;
    atomic_init(&m->refs, 1);
    if (!(m->file = strdup(file))) {
        free(m);
        return NULL;
    }
    atomic_fetch_add(&live_modules, 1);
    return m;
}

void tv_mod_module_ref(tv_module_t *m)
{
    atomic_fetch_add(&m->refs, 1);
}

void tv_mod_module_unref(tv_module_t *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    /* Nobody can be running the module's code now: every caller holds a reference. */
    int keep_fd = 0;
    if (m->dl) {
        tv_log_debug("modules", "unloading %s (%s)", m->name ? m->name : "?", m->file);
        dlclose(m->dl);
        /* An object the dynamic linker will not unload (NODELETE, e.g. C++ unique symbols)
         * keeps its /proc/self/fd/N name: that fd number must never be reused, or a later
         * dlopen of the same name would silently get this old code back. */
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", m->fd);
        void *still = m->fd >= 0 ? dlopen(proc, RTLD_LAZY | RTLD_NOLOAD) : NULL;
        if (still) {
            dlclose(still);
            keep_fd = 1;
            tv_log_warn("modules", "%s (%s) cannot be unloaded: it stays mapped", m->name,
                        m->file);
        }
    }
    if (m->fd >= 0 && !keep_fd)
        close(m->fd);
    for (size_t i = 0; i < m->nentries; i++) {
        free(m->entries[i]->key);
        free(m->entries[i]->name);
        free(m->entries[i]);
    }
    free(m->entries);
    free(m->file);
    free(m->name);
    free(m->version);
    free(m);
    atomic_fetch_sub(&live_modules, 1);
}

int tv_mod_live(void)
{
    return atomic_load(&live_modules);
}

static const mod_entry_t *find_linear(mod_entry_t *const *v, size_t n, mod_kind_t kind,
                                      const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (v[i]->kind == kind && strcmp(v[i]->key, key) == 0)
            return v[i];
    return NULL;
}

static int grow(void *pvec, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return TV_OK;
    size_t nc = *cap ? *cap * 2 : 8;
    void *v = realloc(*(void **)pvec, nc * elem);
    if (!v)
        return TV_ENOMEM;
    *(void **)pvec = v;
    *cap = nc;
    return TV_OK;
}

/* A copy of the module's handler struct, read only up to the size the module declared. */
static void copy_handler(tv_mod_match_handler_t *dst, const tv_mod_match_handler_t *src)
{
    size_t n = src->size < sizeof *dst ? src->size : sizeof *dst;
    memset(dst, 0, sizeof *dst);
    memcpy(dst, src, n);
    dst->size = sizeof *dst;
}

static int check_clash(tv_module_t *m, mod_kind_t kind, const char *key)
{
    if (find_linear(m->entries, m->nentries, kind, key))
        return TV_GRPC_ALREADY_EXISTS; /* the module's own second try: ignored */
    const mod_entry_t *e = m->build ? tv_mod_gen_find(m->build, kind, key) : NULL;
    if (!e)
        return TV_GRPC_OK;
    if (!m->clash[0])
        snprintf(m->clash, sizeof m->clash, "%s '%s' is already registered by module %s (%s)",
                 kind_name[kind], key, e->mod->name, e->mod->file);
    return TV_GRPC_ALREADY_EXISTS;
}

int tv_mod_module_register(tv_module_t *m, mod_kind_t kind, const char *name, tv_mod_fn fn,
                           const tv_mod_match_handler_t *handler)
{
    if (!m || !atomic_load(&m->open) || !pthread_equal(m->loader, pthread_self())) {
        tv_log_warn("modules", "%s: %s registration outside init refused",
                    m && m->name ? m->name : "?", kind_name[kind]);
        return TV_GRPC_FAILED_PRECONDITION;
    }
    if (!name || !*name || (kind != KIND_MATCH && !fn))
        return TV_GRPC_INVALID_ARGUMENT;
    if (kind == KIND_MATCH && (!handler || handler->size < offsetof(tv_mod_match_handler_t,
                                                                    join_attempt)))
        return TV_GRPC_INVALID_ARGUMENT;
    mod_entry_t *e = calloc(1, sizeof *e);
    if (!e || !(e->key = tv_mod_lower(name)) || !(e->name = strdup(name)) ||
        grow(&m->entries, &m->cap, m->nentries, sizeof *m->entries)) {
        if (e) {
            free(e->key);
            free(e->name);
        }
        free(e);
        return TV_GRPC_RESOURCE_EXHAUSTED;
    }
    e->kind = kind;
    e->mod = m;
    if (kind == KIND_MATCH)
        copy_handler(&e->handler, handler);
    else if (kind == KIND_RPC)
        e->fn.rpc = (tv_mod_rpc_fn)fn;
    else if (kind == KIND_BEFORE)
        e->fn.before = (tv_mod_before_fn)fn;
    else if (kind == KIND_LB_RESET)
        e->fn.lb_reset = (tv_mod_lb_reset_fn)fn;
    else if (kind == KIND_MM_MATCHED)
        e->fn.mm_matched = (tv_mod_matchmaker_matched_fn)fn;
    else if (kind == KIND_EVENT)
        e->fn.event = (tv_mod_event_fn)fn;
    else
        e->fn.after = (tv_mod_after_fn)fn;
    int rc = check_clash(m, kind, e->key);
    if (rc == TV_GRPC_OK && kind == KIND_MATCH && (!e->handler.init || !e->handler.loop))
        rc = TV_GRPC_INVALID_ARGUMENT;
    if (rc != TV_GRPC_OK) {
        free(e->key);
        free(e->name);
        free(e);
        return rc;
    }
    m->entries[m->nentries++] = e;
    return TV_GRPC_OK;
}

/* --- generations ------------------------------------------------------------------------- */

tv_mod_gen_t *tv_mod_gen_new(uint64_t id)
{
    tv_mod_gen_t *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    atomic_init(&g->refs, 1);
    g->id = id;
    return g;
}

static void gen_free(tv_mod_gen_t *g)
{
    for (size_t i = 0; i < g->nmods; i++)
        tv_mod_module_unref(g->mods[i]);
    free(g->mods);
    for (int k = 0; k < KIND_COUNT; k++)
        free(g->tab[k]);
    for (size_t i = 0; i < g->nrefused; i++) {
        free(g->refused[i].file);
        free(g->refused[i].why);
    }
    free(g->refused);
    free(g->dir);
    free(g);
}

void tv_mod_gen_refuse(tv_mod_gen_t *g, const char *file, const char *why)
{
    if (grow(&g->refused, &g->caprefused, g->nrefused, sizeof *g->refused))
        return;
    char *f = strdup(file), *w = strdup(why);
    if (!f || !w) {
        free(f);
        free(w);
        return;
    }
    g->refused[g->nrefused].file = f;
    g->refused[g->nrefused].why = w;
    g->nrefused++;
}

int tv_mod_gen_add(tv_mod_gen_t *g, tv_module_t *m)
{
    /* make room for everything first, so a failure leaves g unchanged */
    size_t need[KIND_COUNT] = {0};
    for (size_t i = 0; i < m->nentries; i++)
        need[m->entries[i]->kind]++;
    if (grow(&g->mods, &g->capmods, g->nmods, sizeof *g->mods))
        return TV_ENOMEM;
    for (int k = 0; k < KIND_COUNT; k++) {
        while (g->ntab[k] + need[k] > g->captab[k])
            if (grow(&g->tab[k], &g->captab[k], g->captab[k], sizeof *g->tab[k]))
                return TV_ENOMEM;
    }
    for (size_t i = 0; i < m->nentries; i++) {
        mod_entry_t *e = m->entries[i];
        g->tab[e->kind][g->ntab[e->kind]++] = e;
    }
    tv_mod_module_ref(m);
    g->mods[g->nmods++] = m;
    return TV_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(mod_entry_t *const *)a)->key, (*(mod_entry_t *const *)b)->key);
}

void tv_mod_gen_seal(tv_mod_gen_t *g)
{
    for (int k = 0; k < KIND_COUNT; k++)
        if (g->ntab[k] > 1)
            qsort(g->tab[k], g->ntab[k], sizeof *g->tab[k], cmp_entry);
    g->sealed = 1;
}

const mod_entry_t *tv_mod_gen_find(const tv_mod_gen_t *g, mod_kind_t kind, const char *key)
{
    /* linear while a load still assembles g (unsorted, seen by the loader alone) */
    size_t lo = 0, hi = g->ntab[kind];
    if (!g->sealed)
        return find_linear(g->tab[kind], hi, kind, key);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, g->tab[kind][mid]->key);
        if (c == 0)
            return g->tab[kind][mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t tv_mod_gen_count(const tv_mod_gen_t *g)
{
    return g ? g->nmods : 0;
}

uint64_t tv_mod_gen_id(const tv_mod_gen_t *g)
{
    return g ? g->id : 0;
}

/* --- the registry ------------------------------------------------------------------------ */

int tv_mod_registry_new(tv_mod_registry_t **out)
{
    tv_mod_registry_t *r = calloc(1, sizeof *r);
    if (!r)
        return TV_ENOMEM;
    pthread_rwlock_init(&r->lock, NULL);
    pthread_mutex_init(&r->load, NULL);
    r->next_id = 1;
    *out = r;
    return TV_OK;
}

void tv_mod_registry_free(tv_mod_registry_t *r)
{
    if (!r)
        return;
    tv_mod_release(r->cur);
    pthread_rwlock_destroy(&r->lock);
    pthread_mutex_destroy(&r->load);
    free(r);
}

tv_mod_gen_t *tv_mod_acquire(tv_mod_registry_t *r)
{
    if (!r)
        return NULL;
    pthread_rwlock_rdlock(&r->lock);
    tv_mod_gen_t *g = r->cur;
    if (g)
        atomic_fetch_add(&g->refs, 1);
    pthread_rwlock_unlock(&r->lock);
    return g;
}

void tv_mod_release(tv_mod_gen_t *g)
{
    if (g && atomic_fetch_sub(&g->refs, 1) == 1)
        gen_free(g);
}

void tv_mod_registry_publish(tv_mod_registry_t *r, tv_mod_gen_t *g)
{
    pthread_rwlock_wrlock(&r->lock);
    tv_mod_gen_t *old = r->cur;
    r->cur = g;
    pthread_rwlock_unlock(&r->lock);
    tv_mod_release(old); /* outside the lock: the last release may dlclose */
}

void tv_mod_registry_lock_load(tv_mod_registry_t *r)
{
    pthread_mutex_lock(&r->load);
}

void tv_mod_registry_unlock_load(tv_mod_registry_t *r)
{
    pthread_mutex_unlock(&r->load);
}

uint64_t tv_mod_registry_next_id(tv_mod_registry_t *r)
{
    return r->next_id++;
}

/* --- built-in RPCs ---------------------------------------------------------------------- */

const mod_builtin_t *tv_mod_builtin_find(const tv_mod_registry_t *r, const char *key)
{
    for (size_t i = 0; r && i < r->nbuiltins; i++)
        if (strcmp(r->builtins[i].key, key) == 0)
            return &r->builtins[i];
    return NULL;
}

int tv_mod_builtin_add(tv_mod_registry_t *r, const char *id, const char *hook_api,
                       tv_mod_builtin_fn fn, void *ud)
{
    size_t n = id ? strlen(id) : 0, h = hook_api ? strlen(hook_api) : 0;
    if (!r || !fn || n == 0 || n >= sizeof r->builtins[0].key ||
        h >= sizeof r->builtins[0].hook_key)
        return TV_EINVAL;
    if (r->nbuiltins == TV_MOD_BUILTINS_MAX)
        return TV_EBUSY;
    mod_builtin_t *b = &r->builtins[r->nbuiltins];
    for (size_t i = 0; i <= n; i++)
        b->key[i] = (char)tolower((unsigned char)id[i]);
    if (tv_mod_builtin_find(r, b->key))
        return TV_ECONFLICT;
    for (size_t i = 0; i <= h && hook_api; i++)
        b->hook_key[i] = (char)tolower((unsigned char)hook_api[i]);
    b->hook_api = hook_api;
    b->fn = fn;
    b->ud = ud;
    r->nbuiltins++;
    return TV_OK;
}

int tv_mod_rpc_list(tv_mod_registry_t *r, tv_mod_rpc_list_fn fn, void *ud)
{
    int n = 0;
    tv_mod_gen_t *g = tv_mod_acquire(r);
    for (size_t i = 0; g && i < g->ntab[KIND_RPC]; i++, n++)
        fn(ud, g->tab[KIND_RPC][i]->key, g->tab[KIND_RPC][i]->mod->name);
    for (size_t i = 0; r && i < r->nbuiltins; i++)
        if (!g || !tv_mod_gen_find(g, KIND_RPC, r->builtins[i].key)) {
            fn(ud, r->builtins[i].key, NULL);
            n++;
        }
    tv_mod_release(g);
    return n;
}

void tv_mod_builtin_warn_shadowed(const tv_mod_registry_t *r, const tv_mod_gen_t *g)
{
    for (size_t i = 0; i < r->nbuiltins; i++) {
        const mod_entry_t *e = tv_mod_gen_find(g, KIND_RPC, r->builtins[i].key);
        if (e)
            tv_log_warn("modules", "%s (%s): its RPC '%s' replaces the server's built-in one",
                        e->mod->name, e->mod->file, e->key);
    }
}

/* --- match handlers ---------------------------------------------------------------------- */

int tv_mod_match_acquire(tv_mod_registry_t *r, const char *name, tv_mod_match_t **out)
{
    char *key = tv_mod_lower(name ? name : "");
    if (!key)
        return TV_ENOMEM;
    tv_mod_gen_t *g = tv_mod_acquire(r);
    const mod_entry_t *e = g ? tv_mod_gen_find(g, KIND_MATCH, key) : NULL;
    if (e)
        tv_mod_module_ref(e->mod); /* the entry lives as long as its module */
    tv_mod_release(g);
    free(key);
    *out = (tv_mod_match_t *)e;
    return e ? TV_OK : TV_ENOTFOUND;
}

const tv_mod_match_handler_t *tv_mod_match_handler(const tv_mod_match_t *m)
{
    return &m->handler;
}

tv_module_t *tv_mod_match_module(const tv_mod_match_t *m)
{
    return m->mod;
}

const char *tv_mod_match_module_name(const tv_mod_match_t *m)
{
    return m->mod->name;
}

void tv_mod_match_release(tv_mod_match_t *m)
{
    if (m)
        tv_mod_module_unref(m->mod);
}
