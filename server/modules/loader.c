/* The loader: every *.so of the module dir in name order, each checked (info symbol, magic, ABI
 * major, info size, init symbol, init's result, names unique across modules) and refused with
 * one log line when wrong, then published together as a new generation. */
#include "internal.h"
#include "error.h"
#include "log.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*init_fn)(const tv_host_api_t *api, tv_module_t *mod);

static int is_module_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 3 && strcmp(d->d_name + n - 3, ".so") == 0;
}

/* Byte order, not the locale's collation: the same dir loads in the same order everywhere. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int copy_fd(int from, int to)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(from, buf, sizeof buf);
        if (n == 0)
            return TV_OK;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return TV_EUNAVAIL;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(to, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return TV_EUNAVAIL;
            off += w;
        }
    }
}

/* Copies path into an anonymous memory file and returns its descriptor. Loading the copy rather
 * than the file is what makes reload work: the dynamic linker hands back the already-loaded
 * object for a name or inode it has seen, so a changed module under the same name would never
 * load while the old one is in use; and the old code no longer depends on the file, so an
 * operator may overwrite it in place (cp) without crashing the running copy. */
static int private_copy(const char *path, const char *file, char *why, size_t whylen)
{
    int src = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (src < 0 || fstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "cannot read it: %s", src < 0 ? strerror(errno) : "not a file");
        if (src >= 0)
            close(src);
        return -1;
    }
    int fd = memfd_create(file, MFD_CLOEXEC);
    int rc = fd < 0 ? TV_EUNAVAIL : copy_fd(src, fd);
    int err = errno;
    close(src);
    if (rc != TV_OK) {
        snprintf(why, whylen, "cannot copy it into memory: %s", strerror(err));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int open_module(tv_module_t *m, const char *path, char *why, size_t whylen)
{
    m->fd = private_copy(path, m->file, why, whylen);
    if (m->fd < 0)
        return TV_EUNAVAIL;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", m->fd);
    /* RTLD_LOCAL: a module's symbols never satisfy another module's references. The fd stays
     * open until dlclose, so no other module can get the same /proc name meanwhile. */
    m->dl = dlopen(proc, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        const char *e = dlerror();
        const char *colon = e ? strstr(e, ": ") : NULL; /* drop the /proc path it starts with */
        snprintf(why, whylen, "dlopen: %s", colon ? colon + 2 : e ? e : "failed");
        return TV_EINVAL;
    }
    return TV_OK;
}

static int check_info(const tv_module_info_t *info, char *why, size_t whylen)
{
    if (!info) {
        snprintf(why, whylen, "no tavern_module_info symbol (not a tavern module?)");
        return TV_EINVAL;
    }
    if (info->magic != TV_MOD_MAGIC) {
        snprintf(why, whylen, "tavern_module_info has the wrong magic 0x%08x", info->magic);
        return TV_EINVAL;
    }
    if (info->abi_major != TV_ABI_MAJOR) {
        snprintf(why, whylen, "built for module ABI %u.%u; this server speaks ABI %d.%d",
                 info->abi_major, info->abi_minor, TV_ABI_MAJOR, TV_ABI_MINOR);
        return TV_EINVAL;
    }
    if (info->size < sizeof(tv_module_info_t)) {
        snprintf(why, whylen, "tavern_module_info is %u bytes, ABI %d needs %zu", info->size,
                 TV_ABI_MAJOR, sizeof(tv_module_info_t));
        return TV_EINVAL;
    }
    if (!info->name || !*info->name) {
        snprintf(why, whylen, "tavern_module_info has no name");
        return TV_EINVAL;
    }
    return TV_OK;
}

static const tv_module_t *loaded_as(const tv_mod_gen_t *g, const char *name)
{
    for (size_t i = 0; i < g->nmods; i++)
        if (strcmp(g->mods[i]->name, name) == 0)
            return g->mods[i];
    return NULL;
}

/* Finds the symbols and checks them. On success fills m's name and version and *init. */
static int resolve(tv_module_t *m, const tv_mod_gen_t *build, init_fn *init, char *why,
                   size_t whylen)
{
    const tv_module_info_t *info = dlsym(m->dl, "tavern_module_info");
    if (check_info(info, why, whylen))
        return TV_EINVAL;
    const tv_module_t *other = loaded_as(build, info->name);
    if (other) {
        snprintf(why, whylen, "module name '%s' is already taken by %s", info->name, other->file);
        return TV_ECONFLICT;
    }
    *init = (init_fn)dlsym(m->dl, "tavern_module_init");
    if (!*init) {
        snprintf(why, whylen, "no tavern_module_init symbol");
        return TV_EINVAL;
    }
    m->abi_major = info->abi_major;
    m->abi_minor = info->abi_minor;
    m->name = strdup(info->name);
    m->version = strdup(info->version ? info->version : "");
    if (!m->name || !m->version) {
        snprintf(why, whylen, "out of memory");
        return TV_ENOMEM;
    }
    return TV_OK;
}

/* Runs init with the registration window open. */
static int run_init(tv_module_t *m, tv_mod_gen_t *build, init_fn init, char *why, size_t whylen)
{
    m->loader = pthread_self();
    m->build = build;
    atomic_store(&m->open, 1);
    int rc = init(&tv_mod_host, m);
    atomic_store(&m->open, 0);
    m->build = NULL;
    if (rc != 0) {
        snprintf(why, whylen, "tavern_module_init failed (returned %d)", rc);
        return TV_EINVAL;
    }
    if (m->clash[0]) {
        snprintf(why, whylen, "%s", m->clash);
        return TV_ECONFLICT;
    }
    return TV_OK;
}

static void log_loaded(const tv_module_t *m)
{
    int n[KIND_COUNT] = {0};
    for (size_t i = 0; i < m->nentries; i++)
        n[m->entries[i]->kind]++;
    tv_log_info("modules", "loaded %s %s from %s: %d rpc, %d before, %d after, %d match",
                m->name, m->version, m->file, n[KIND_RPC], n[KIND_BEFORE], n[KIND_AFTER],
                n[KIND_MATCH]);
}

/* Loads dir/file into build. Returns TV_OK, or an error after logging why it was refused. */
static int load_one(tv_mod_gen_t *build, const char *dir, const char *file)
{
    char path[4096], why[512] = "";
    snprintf(path, sizeof path, "%s/%s", dir, file);
    tv_module_t *m = tv_mod_module_new(file);
    if (!m)
        return TV_ENOMEM;
    init_fn init = NULL;
    int rc = open_module(m, path, why, sizeof why);
    if (!rc)
        rc = resolve(m, build, &init, why, sizeof why);
    if (!rc)
        rc = run_init(m, build, init, why, sizeof why);
    if (!rc && (rc = tv_mod_gen_add(build, m)) != TV_OK)
        snprintf(why, sizeof why, "out of memory");
    if (rc) {
        tv_log_error("modules", "module %s refused: %s", path, why);
        tv_mod_gen_refuse(build, file, why);
    }
    else
        log_loaded(m);
    tv_mod_module_unref(m); /* the generation holds its own reference */
    return rc;
}

int tv_mod_load_dir(tv_mod_registry_t *r, const char *dir)
{
    struct dirent **list = NULL;
    tv_mod_registry_lock_load(r);
    int n = scandir(dir, &list, is_module_file, by_name), rc = TV_EUNAVAIL;
    if (n < 0 && errno != ENOENT) {
        tv_log_error("modules", "cannot read module dir %s: %s; keeping the modules loaded",
                     dir, strerror(errno));
        goto out;
    }
    if (n < 0) {
        tv_log_info("modules", "no module dir %s: no modules", dir);
        n = 0;
    }
    tv_mod_gen_t *g = tv_mod_gen_new(tv_mod_registry_next_id(r));
    if (!g) {
        rc = TV_ENOMEM;
        goto out;
    }
    g->dir = strdup(dir); /* for the console; NULL (no memory) only hides it there */
    int refused = 0;
    for (int i = 0; i < n; i++)
        refused += load_one(g, dir, list[i]->d_name) != TV_OK;
    tv_mod_gen_seal(g);
    tv_mod_builtin_warn_shadowed(r, g);
    rc = (int)g->nmods;
    tv_log_info("modules", "generation %llu: %d module(s) loaded, %d refused, from %s",
                (unsigned long long)g->id, rc, refused, dir);
    tv_mod_registry_publish(r, g);
out:
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    tv_mod_registry_unlock_load(r);
    return rc;
}
