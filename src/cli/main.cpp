// registry-cache: an operator's look into a cache directory (registry_cache_path) while nginx
// runs, and the purge and repair it may make. LMDB lets this process read beside the workers
// (a reader slot of the same lock file) and write between their writes (one writer at a
// time, across processes); the map size is left as the file says, never changed here.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "commands.h"

namespace {

using namespace registry_cache;
using namespace registry_cache::cli;

const char* const usage_text =
    "usage: registry-cache [--json] <command> <path> [arguments]\n"
    "  stats  <path>                        entries, map and blob bytes, oldest entry\n"
    "  ls     <path> [repository]           the repositories, or one repository's records\n"
    "  show   <path> <repository> <digest|tag>\n"
    "  purge  <path> <repository> [digest|tag]   forgets, as the purge location does (writes)\n"
    "  verify <path> [--hash] [--fix]       records decode, blob files present, of their size\n"
    "                                       (--hash: and of their digest; --fix: removes what is not)\n"
    "  a repository kept under a namespace: --namespace <ns> and/or --host <host> (ls, show, purge)\n"
    "exit: 0 ok, 1 problems found or nothing matched, 2 usage, 3 store or system error\n";

int usage(const char* why) {
    if (why != nullptr) std::fprintf(stderr, "registry-cache: %s\n", why);
    std::fputs(usage_text, stderr);
    return exit_usage;
}

}  // namespace

int main(int argc, char** argv) {
    Invocation call;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--json") {
            call.json = true;
        } else if (arg == "--hash") {
            call.hash = true;
        } else if (arg == "--fix") {
            call.fix = true;
        } else if (arg == "--namespace") {
            if (++i == argc) return usage("--namespace needs a value");
            call.ns = argv[i];
        } else if (arg == "--host") {
            if (++i == argc) return usage("--host needs a value");
            call.host = argv[i];
        } else if (arg == "-h" || arg == "--help") {
            std::fputs(usage_text, stdout);
            return exit_ok;
        } else if (arg.size() > 1 && arg[0] == '-') {
            return usage(("unknown option " + std::string(arg)).c_str());
        } else {
            positional.emplace_back(arg);
        }
    }
    if (positional.size() < 2) return usage(nullptr);
    call.command = positional[0];
    call.path = positional[1];
    call.args.assign(positional.begin() + 2, positional.end());

    std::size_t min_args = 0, max_args = 0;
    bool writes = false;
    int (*run)(const Invocation&, Store&) = nullptr;
    if (call.command == "stats") {
        run = run_stats;
    } else if (call.command == "ls") {
        run = run_ls, max_args = 1;
    } else if (call.command == "show") {
        run = run_show, min_args = max_args = 2;
    } else if (call.command == "purge") {
        run = run_purge, min_args = 1, max_args = 2, writes = true;
    } else if (call.command == "verify") {
        run = run_verify, writes = call.fix;
    } else {
        return usage(("unknown command " + call.command).c_str());
    }
    if (call.args.size() < min_args || call.args.size() > max_args) return usage("wrong number of arguments");
    if ((call.hash || call.fix) && call.command != "verify") return usage("--hash and --fix are verify's");
    if ((!call.ns.empty() || !call.host.empty()) && call.command != "ls" && call.command != "show" && call.command != "purge") {
        return usage("--namespace and --host are for ls, show and purge");
    }

    // The store is never created here: a path without data.mdb is an error, not a new cache.
    struct stat data;
    const std::string data_path = call.path + "/data.mdb";
    if (::stat(data_path.c_str(), &data) != 0) {
        report_error(call, "stat(" + data_path + "): " + std::strerror(errno));
        return exit_store_error;
    }
    StoreOptions options;
    options.directory = call.path;
    options.map_size = 0;  // the file's own: a running nginx's max_size stays as it is
    options.read_only = !writes;
    std::string error;
    std::unique_ptr<Store> store = Store::open(options, error);
    if (!store) {
        report_error(call, error);
        return exit_store_error;
    }
    try {
        return run(call, *store);
    } catch (const std::exception& e) {
        report_error(call, e.what());
        return exit_store_error;
    }
}
