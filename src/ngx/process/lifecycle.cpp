// The store's life across nginx's processes. LMDB environments must not cross fork():
// the master opens each cache once at configuration time to create and validate it, and
// closes it; every worker opens its own in init_process and closes it in exit_process.
#include "process/process.h"
#include "process/hash_threads.h"
#include "process/writer.h"

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
    // Reader slots. A serving worker holds one; the master takes one for the moment of its
    // validation; a worker told to exit gives its slot back within exit_watch_interval (see
    // watch_for_exit) and from then on takes one only while a read runs. So old workers kept
    // alive by long transfers hold none, and the table must cover the workers of the
    // generations that overlap within that interval: a burst of reloads (config management
    // reloading once per changed file), a worker whose event loop is stuck on a slow disk.
    // 256 generations of the configured workers, plus one slot per generation for the
    // master or a tool such as mdb_stat: 512 slots for one worker, 4,352 for 16. A slot is 64
    // bytes of lock.mdb (272 KiB for 16 workers), and LMDB touches and scans slots only up
    // to the most ever in use at once, so a large table costs nothing until it is needed.
    // LMDB sizes lock.mdb when it is opened with no other process using it (nginx's start),
    // and never shrinks it; a reload cannot grow a table that a running worker has open.
    constexpr ngx_int_t generations = 256;
    ngx_int_t workers = ccf->worker_processes > 0 ? ccf->worker_processes : 1;
    options.max_readers = static_cast<unsigned>(ngx_max(126, generations * (workers + 1)));
    return options;
}

// Workers drop root: the files the master creates must be theirs.
void give_to_workers(ngx_cycle_t *cycle, const std::string &path, bool blobs) {
    auto *ccf = reinterpret_cast<ngx_core_conf_t *>(ngx_get_conf(cycle->conf_ctx, ngx_core_module));
    if (geteuid() != 0 || ccf->user == static_cast<ngx_uid_t>(NGX_CONF_UNSET_UINT)) {
        return;
    }
    for (const char *name : {"", "/data.mdb", "/lock.mdb", "/blobs", "/blobs/tmp"}) {
        if (!blobs && ngx_strncmp(name, "/blobs", 6) == 0) {
            continue;
        }
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
                  "registry cache: \"%V\" is damaged (%s): moved \"%s\" aside to \"%s\", "
                  "starting an empty cache",
                  &cache->path, why.c_str(), data.c_str(), aside.c_str());
    return true;
}

// The directories of blob bodies, and at start (never at a reload, while old workers may
// still be writing) the removal of what a crash left: files half written, and files renamed
// into place whose record was never committed (or was dropped), which nothing would serve
// and the cap would not count.
ngx_int_t prepare_blobs(ngx_cycle_t *cycle, ngx_http_registry_cache_t *cache, const std::string &path,
                        registry_cache::Store &store) {
    registry_cache::BlobFiles files(path);
    std::string error;
    if (!files.prepare(error)) {
        ngx_log_error(refusal_level(cycle), cycle->log, 0, "registry_cache_path \"%V\": %s", &cache->path,
                      error.c_str());
        return NGX_ERROR;
    }
    if (!ngx_is_init_cycle(cycle->old_cycle)) {
        return NGX_OK;
    }
    const registry_cache::SweepResult swept = files.sweep_temporary(error);
    if (swept.files > 0) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "registry cache: \"%V\": removed %uL unfinished blob bodies (%uL bytes)", &cache->path,
                      swept.files, swept.bytes);
    }
    const registry_cache::SweepResult orphans = files.sweep_unrecorded(
        [&store](const std::string &digest, std::uint64_t size) {
            if (digest.empty()) {
                return false;  // not named as a digest: nobody's
            }
            registry_cache::BodyRecord record;
            switch (store.lookup_body_record(registry_cache::parse_digest(digest).digest, record)) {
                case registry_cache::LookupStatus::hit: return record.size == size;
                case registry_cache::LookupStatus::miss: return false;
                case registry_cache::LookupStatus::error: break;
            }
            return true;  // a store that cannot say keeps everything
        },
        error);
    if (orphans.files > 0) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "registry cache: \"%V\": removed %uL blob bodies without a record (%uL bytes)", &cache->path,
                      orphans.files, orphans.bytes);
    }
    if (!error.empty()) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0, "registry cache: \"%V\": %s", &cache->path, error.c_str());
    }
    return NGX_OK;
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
    if (cache->blobs_max_size > 0 && prepare_blobs(cycle, cache, path, *store) != NGX_OK) {
        return refuse(cycle);
    }
    store.reset();  // the master holds no environment across fork()
    give_to_workers(cycle, path, cache->blobs_max_size > 0);
    return NGX_OK;
}

void flush_handler(ngx_event_t *ev) noexcept {
    ngx_http_registry_cache_flush(static_cast<ngx_http_registry_cache_t *>(ev->data), ev->log);
}

// A worker told to exit (a reload, a binary upgrade, `nginx -s quit`) stops accepting but
// lives on until its last transfer ends, which for a layer pull over a slow link can be long.
// Holding its reader slot all that time would let old workers fill LMDB's reader table after
// enough reloads, and new workers would then fail to open the store (MDB_READERS_FULL).
// nginx calls no module when a worker starts exiting, so each worker looks once a second:
// the timer is cancelable, so it never keeps an exiting worker waiting, and it stops once
// the slots are given back. Reads of the exiting worker (a request already in progress)
// still work, each taking a slot for its own duration; writes take no slot.
constexpr ngx_msec_t exit_watch_interval = 1000;

ngx_event_t exit_watch;  // one per process: workers have no reload of their own

void exit_watch_handler(ngx_event_t *ev) noexcept {
    // ngx_quit or ngx_terminate: the signal arrived during this event loop turn, and the
    // worker turns exiting right after it.
    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        ngx_add_timer(ev, exit_watch_interval);
        return;
    }
    for_each_cache(static_cast<ngx_cycle_t *>(ev->data), [ev](ngx_http_registry_cache_t *c) noexcept {
        if (c->worker != nullptr && c->worker->store != nullptr) {
            c->worker->store->release_reader();
            ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ev->log, 0,
                           "registry cache: \"%V\": exiting, reader slot given back", &c->path);
        }
        return NGX_OK;
    });
}

void watch_for_exit(ngx_cycle_t *cycle) noexcept {
    exit_watch.handler = exit_watch_handler;
    exit_watch.data = cycle;
    exit_watch.log = cycle->log;
    exit_watch.cancelable = 1;
    ngx_add_timer(&exit_watch, exit_watch_interval);
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
    if (cache->blobs_max_size > 0) {
        w->blobs.reset(new (std::nothrow) registry_cache::BlobFiles(path_of(cache)));
    }
    w->store = registry_cache::Store::open(options_of(cycle, cache), error);
    if (w->store == nullptr) {
        // The worker still serves: every request goes upstream and is counted as an error.
        ngx_log_error(NGX_LOG_CRIT, cycle->log, 0,
                      "registry cache: \"%V\" cannot be opened, passing all requests on: %s",
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
    ngx_http_registry_cache_note_master_cpus();
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
        if (for_each_cache(cycle, [cycle](ngx_http_registry_cache_t *c) { return open_in_worker(cycle, c); }) != NGX_OK) {
            return NGX_ERROR;
        }
        // Single-process mode never exits gracefully (it leaves at once on quit): no watch.
        ngx_http_registry_cache_main_conf_t *rcmf = main_conf(cycle);
        if (ngx_process == NGX_PROCESS_WORKER && rcmf != nullptr && rcmf->caches.nelts > 0) {
            watch_for_exit(cycle);
        }
        return NGX_OK;
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "registry cache: %s", e.what());
        return NGX_ERROR;
    }
}

void ngx_http_registry_cache_exit_process(ngx_cycle_t *cycle) noexcept {
    if (exit_watch.timer_set) {
        ngx_del_timer(&exit_watch);
    }
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
