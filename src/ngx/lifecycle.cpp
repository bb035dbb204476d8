// The store's life across nginx's processes. LMDB environments must not cross fork():
// the master opens each cache once at configuration time to create and validate it, and
// closes it; every worker opens its own in init_process and closes it in exit_process.
#include "ngx_registry_cache.h"

#include <new>
#include <string>

namespace {

ngx_http_registry_cache_main_conf_t *main_conf(ngx_cycle_t *cycle) noexcept {
    auto *ctx = reinterpret_cast<ngx_http_conf_ctx_t *>(cycle->conf_ctx[ngx_http_module.index]);
    if (ctx == nullptr) {
        return nullptr;  // no http block
    }
    return static_cast<ngx_http_registry_cache_main_conf_t *>(
        ctx->main_conf[ngx_http_registry_cache_module.ctx_index]);
}

template <typename F>
ngx_int_t for_each_cache(ngx_cycle_t *cycle, F f) {
    ngx_http_registry_cache_main_conf_t *rcmf = main_conf(cycle);
    if (rcmf == nullptr) {
        return NGX_OK;
    }
    auto **caches = static_cast<ngx_http_registry_cache_t **>(rcmf->caches.elts);
    for (ngx_uint_t i = 0; i < rcmf->caches.nelts; i++) {
        if (f(caches[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }
    return NGX_OK;
}

std::string path_of(const ngx_http_registry_cache_t *cache) {
    return std::string(ngx_http_registry_cache_view(cache->path));
}

registry_cache::StoreOptions options_of(ngx_cycle_t *cycle, const ngx_http_registry_cache_t *cache) {
    auto *ccf = reinterpret_cast<ngx_core_conf_t *>(ngx_get_conf(cycle->conf_ctx, ngx_core_module));
    registry_cache::StoreOptions options;
    options.directory = path_of(cache);
    options.map_size = static_cast<std::uint64_t>(ngx_align(cache->max_size, ngx_pagesize));
    // Each worker holds one reader slot; during a reload the old workers still hold theirs.
    ngx_int_t workers = ccf->worker_processes > 0 ? ccf->worker_processes : 1;
    options.max_readers = static_cast<unsigned>(ngx_max(126, 2 * workers + 16));
    return options;
}

// Workers drop root: the files the master creates must be theirs.
void give_to_workers(ngx_cycle_t *cycle, const std::string &path) {
    auto *ccf = reinterpret_cast<ngx_core_conf_t *>(ngx_get_conf(cycle->conf_ctx, ngx_core_module));
    if (geteuid() != 0 || ccf->user == static_cast<ngx_uid_t>(NGX_CONF_UNSET_UINT)) {
        return;
    }
    for (const char *name : {"", "/data.mdb", "/lock.mdb"}) {
        std::string file = path + name;
        if (chown(file.c_str(), ccf->user, static_cast<gid_t>(-1)) == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno, "chown(\"%s\", %d) failed",
                          file.c_str(), static_cast<int>(ccf->user));
        }
    }
}

// At start a cache that cannot be used stops nginx. On a reload, failing would make the
// master exit and orphan its workers: the failure is logged, and the new workers pass every
// request upstream if they cannot open the store either.
ngx_int_t refuse(ngx_cycle_t *cycle) noexcept {
    return ngx_is_init_cycle(cycle->old_cycle) ? NGX_ERROR : NGX_OK;
}

ngx_uint_t refusal_level(ngx_cycle_t *cycle) noexcept {
    return ngx_is_init_cycle(cycle->old_cycle) ? NGX_LOG_EMERG : NGX_LOG_CRIT;
}

// A cache file that is not a sound LMDB environment (damaged, truncated, foreign) is moved
// aside, kept for a post-mortem, and the cache starts empty: a cache can always be refilled,
// and refusing to start, or crashing on it later, would take the edge down for it.
bool move_aside(ngx_cycle_t *cycle, const ngx_http_registry_cache_t *cache,
                const std::string &path, const std::string &why) {
    std::string data = path + "/data.mdb";
    std::string aside = data + ".damaged-" + std::to_string(static_cast<long long>(ngx_time()));
    if (ngx_rename_file(data.c_str(), aside.c_str()) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, cycle->log, ngx_errno,
                      ngx_rename_file_n " \"%s\" to \"%s\" failed", data.c_str(), aside.c_str());
        return false;
    }
    // The lock file describes the old environment's readers: it goes with it.
    std::string lock = path + "/lock.mdb";
    if (ngx_delete_file(lock.c_str()) == NGX_FILE_ERROR && ngx_errno != NGX_ENOENT) {
        ngx_log_error(NGX_LOG_CRIT, cycle->log, ngx_errno, ngx_delete_file_n " \"%s\" failed",
                      lock.c_str());
    }
    ngx_log_error(NGX_LOG_CRIT, cycle->log, 0,
                  "registry cache \"%V\" is damaged (%s): moved \"%s\" aside to \"%s\", "
                  "starting an empty cache",
                  &cache->path, why.c_str(), data.c_str(), aside.c_str());
    return true;
}

ngx_int_t validate(ngx_cycle_t *cycle, ngx_http_registry_cache_t *cache) {
    std::string path = path_of(cache);
    // Parents are made traversable (workers that dropped root must reach the cache); the
    // cache directory itself is theirs alone.
    std::string dirs = path.substr(0, path.rfind('/') + 1);
    ngx_err_t err = ngx_create_full_path(reinterpret_cast<u_char *>(dirs.data()), 0755);
    if (err == 0 && ngx_create_dir(path.c_str(), 0700) == NGX_FILE_ERROR && ngx_errno != NGX_EEXIST) {
        err = ngx_errno;
    }
    if (err != 0) {
        ngx_log_error(refusal_level(cycle), cycle->log, err,
                      ngx_create_dir_n " \"%V\" for registry_cache_path failed", &cache->path);
        return refuse(cycle);
    }
    std::string error;
    bool damaged = false;
    auto store = registry_cache::Store::open(options_of(cycle, cache), error, &damaged);
    if (store == nullptr && damaged && move_aside(cycle, cache, path, error)) {
        store = registry_cache::Store::open(options_of(cycle, cache), error);
    }
    if (store == nullptr) {
        ngx_log_error(refusal_level(cycle), cycle->log, 0, "registry_cache_path \"%V\": %s",
                      &cache->path, error.c_str());
        return refuse(cycle);
    }
    store.reset();  // the master holds no environment across fork()
    give_to_workers(cycle, path);
    return NGX_OK;
}

void flush_handler(ngx_event_t *ev) noexcept {
    ngx_http_registry_cache_flush(static_cast<ngx_http_registry_cache_t *>(ev->data), ev->log);
}

ngx_int_t open_in_worker(ngx_cycle_t *cycle, ngx_http_registry_cache_t *cache) {
    auto *w = new (std::nothrow) ngx_http_registry_cache_worker_t{};
    if (w == nullptr) {
        return NGX_ERROR;
    }
    w->flush.handler = flush_handler;
    w->flush.data = cache;
    w->flush.log = cycle->log;
    // A pending flush must not hold a gracefully exiting worker: exit_process flushes.
    w->flush.cancelable = 1;
    cache->worker = w;

    std::string error;
    w->store = registry_cache::Store::open(options_of(cycle, cache), error);
    if (w->store == nullptr) {
        // The worker still serves: every request goes upstream and is counted as an error.
        ngx_log_error(NGX_LOG_CRIT, cycle->log, 0,
                      "registry cache \"%V\" cannot be opened, passing all requests on: %s",
                      &cache->path, error.c_str());
    }
    return NGX_OK;
}

// Single-process mode (master_process off) reloads in the process that already holds the
// stores, and runs no init_process afterwards. LMDB forbids opening an environment twice in
// one process (closing either drops the other's locks), so the open stores move from the
// old configuration's caches to the new ones of the same path.
void adopt_open_stores(ngx_cycle_t *cycle) {
    ngx_http_registry_cache_main_conf_t *old = main_conf(cycle->old_cycle);
    if (old == nullptr) {
        return;
    }
    auto **olds = static_cast<ngx_http_registry_cache_t **>(old->caches.elts);
    for_each_cache(cycle, [&](ngx_http_registry_cache_t *c) -> ngx_int_t {
        for (ngx_uint_t i = 0; i < old->caches.nelts; i++) {
            ngx_http_registry_cache_worker_t *w = olds[i]->worker;
            if (w != nullptr && ngx_http_registry_cache_view(olds[i]->path) == ngx_http_registry_cache_view(c->path)) {
                ngx_http_registry_cache_flush(olds[i], cycle->log);
                w->flush.data = c;
                c->worker = w;
                olds[i]->worker = nullptr;
            }
        }
        // A cache the old configuration did not have is opened as a worker would.
        if (c->worker == nullptr && validate(cycle, c) == NGX_OK) {
            return open_in_worker(cycle, c);
        }
        return NGX_OK;
    });
}

}  // namespace

ngx_int_t ngx_http_registry_cache_init_module(ngx_cycle_t *cycle) noexcept {
    try {
        if (ngx_process == NGX_PROCESS_SINGLE && !ngx_is_init_cycle(cycle->old_cycle)) {
            adopt_open_stores(cycle);
            return NGX_OK;
        }
        return for_each_cache(cycle, [cycle](ngx_http_registry_cache_t *c) { return validate(cycle, c); });
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "registry cache: %s", e.what());
        return NGX_ERROR;
    }
}

ngx_int_t ngx_http_registry_cache_init_process(ngx_cycle_t *cycle) noexcept {
    // Only processes that serve requests hold a store: the cache manager and loader would
    // take reader slots, and the loader exits without exit_process.
    if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE) {
        return NGX_OK;
    }
    try {
        return for_each_cache(cycle, [cycle](ngx_http_registry_cache_t *c) { return open_in_worker(cycle, c); });
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "registry cache: %s", e.what());
        return NGX_ERROR;
    }
}

void ngx_http_registry_cache_exit_process(ngx_cycle_t *cycle) noexcept {
    // Nothing in here throws: flush() and the destructors are noexcept.
    for_each_cache(cycle, [cycle](ngx_http_registry_cache_t *c) noexcept {
        ngx_http_registry_cache_flush(c, cycle->log);
        if (c->worker != nullptr && c->worker->flush.posted) {
            ngx_delete_posted_event(&c->worker->flush);
        }
        delete c->worker;
        c->worker = nullptr;
        return NGX_OK;
    });
}

void ngx_http_registry_cache_log_store_error(ngx_http_registry_cache_t *cache, ngx_log_t *log,
                                             const char *what, const std::string &error) noexcept {
    ngx_http_registry_cache_worker_t *w = cache->worker;
    if (w != nullptr) {
        if (w->last_error_log == ngx_time()) {
            return;
        }
        w->last_error_log = ngx_time();
    }
    ngx_log_error(NGX_LOG_ERR, log, 0, "registry cache \"%V\": %s failed: %s", &cache->path, what,
                  error.c_str());
}
