// The commands of registry-cache, each on an open Store of one cache directory. Each prints
// its answer (JSON or lines) on stdout, its errors on stderr naming the path and the call
// that failed, and returns the process's exit code.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "registry_cache/store.h"

namespace registry_cache::cli {

// What a script can tell apart (README: "registry-cache").
enum Exit : int {
    exit_ok = 0,
    exit_found_nothing = 1,  // verify: problems found; show, purge, ls <repo>: nothing matched
    exit_usage = 2,          // a command line, name, digest, tag or namespace that is not valid
    exit_store_error = 3     // the store could not be opened or read, a system call failed
};

struct Invocation {
    std::string command;
    std::string path;                // the cache directory (registry_cache_path)
    std::vector<std::string> args;   // after the path
    std::string ns;                  // --namespace
    std::string host;                // --host
    bool json = false;               // --json
    bool hash = false;               // verify --hash
    bool fix = false;                // verify --fix
};

// Prints "registry-cache: <path>: <what>" on stderr.
void report_error(const Invocation& call, const std::string& what);

// The repository as the store keeps it (in call.ns); empty, with the error reported, when the
// name or the namespace is not valid.
std::string stored_repository(const Invocation& call, const std::string& name);

int run_stats(const Invocation& call, Store& store);
int run_ls(const Invocation& call, Store& store);
int run_show(const Invocation& call, Store& store);
int run_purge(const Invocation& call, Store& store);
int run_verify(const Invocation& call, Store& store);

}  // namespace registry_cache::cli
