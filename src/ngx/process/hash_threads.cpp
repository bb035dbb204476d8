// The hashing threads' CPUs (hash_threads.h).
#include "process/hash_threads.h"

#if (NGX_HAVE_SCHED_SETAFFINITY)
#include <pthread.h>
#include <sched.h>

namespace {

cpu_set_t master_cpus;
bool master_cpus_known = false;

}  // namespace

void ngx_http_registry_cache_note_master_cpus() noexcept {
    // Read once: a reload's master is the same process, already unpinned.
    if (master_cpus_known) return;
    CPU_ZERO(&master_cpus);
    master_cpus_known = sched_getaffinity(0, sizeof(master_cpus), &master_cpus) == 0;
}

void ngx_http_registry_cache_unpin_hash_thread() noexcept {
    thread_local bool unpinned = false;
    if (unpinned || !master_cpus_known) return;
    unpinned = true;
    // A failure leaves the thread where nginx put it: slower, never wrong.
    (void)pthread_setaffinity_np(pthread_self(), sizeof(master_cpus), &master_cpus);
}

#else

void ngx_http_registry_cache_note_master_cpus() noexcept {}
void ngx_http_registry_cache_unpin_hash_thread() noexcept {}

#endif
