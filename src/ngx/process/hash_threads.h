// Where the threads that hash bodies run (hash_threads.cpp). worker_cpu_affinity pins a
// worker, and nginx's thread pools, started in the worker, inherit the pin: a worker hashing a
// 1 GiB layer would then take that hashing from its own event loop's CPU, which offloading it
// to a thread was meant to spare. So the thread that hashes runs on the CPUs the master was
// given (its cgroup's, taskset's), wherever the scheduler finds room.
#pragma once

#include "nginx_headers.h"

// In the master, before workers are pinned (init_module): the CPUs it may run on.
void ngx_http_registry_cache_note_master_cpus() noexcept;
// First thing in a thread task that hashes: the thread runs on the master's CPUs from then on
// (once per thread; nothing where the system has no per-thread affinity).
void ngx_http_registry_cache_unpin_hash_thread() noexcept;
