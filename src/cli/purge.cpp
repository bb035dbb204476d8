// purge: what the purge location does (purge.h, Store::purge), from a shell: the records in
// one write transaction between nginx's own, then the files of the bodies no link names.
// A digest is purged both as a blob and as a manifest: a shell names no /blobs/ or /manifests/.
#include <cstdio>

#include "commands.h"
#include "output.h"
#include "registry_cache/blobs/blob_files.h"
#include "registry_cache/digest.h"
#include "registry_cache/purge.h"
#include "registry_cache/reference.h"

namespace registry_cache::cli {

int run_purge(const Invocation& call, Store& store) {
    const std::string repository = stored_repository(call, call.args[0]);
    if (repository.empty()) return exit_usage;
    std::vector<PurgeTarget> targets(1);
    targets[0].name = call.args[0];
    if (call.args.size() == 2) {
        const std::string& reference = call.args[1];
        targets[0].reference = reference;
        const DigestParse parsed = parse_digest(reference);
        if (parsed.status == DigestStatus::ok && is_cacheable(parsed.digest.algorithm)) {
            targets[0].kind = PurgeTarget::Kind::blob;
            targets[0].digest = parsed.digest;
            targets.push_back(targets[0]);
            targets[1].kind = PurgeTarget::Kind::manifest;
        } else if (is_valid_tag(reference)) {
            targets[0].kind = PurgeTarget::Kind::tag;
        } else {
            std::fprintf(stderr, "registry-cache: neither a digest nor a tag: %s\n", reference.c_str());
            return exit_usage;
        }
    }
    PurgeCount count;
    const BlobFiles files(call.path);
    for (const PurgeTarget& target : targets) {
        PurgeCount one;
        std::vector<std::string> bodies;
        std::string error;
        if (!store.purge({repository}, target, one, bodies, error)) {
            report_error(call, error);
            return exit_store_error;
        }
        count += one;
        // The files after the records, as the purge location does: a file left without its
        // record is swept at the next start, a record without its file is a miss.
        for (const std::string& digest : bodies) files.remove(parse_digest(digest).digest);
    }
    if (call.json) {
        std::printf("%s\n", render_purge_count(count).c_str());
    } else {
        std::printf("purged from %s: %llu blob links, %llu manifest links, %llu tags, %llu blob bodies, "
                    "%llu manifest bodies\n",
                    readable_repository(repository).c_str(), static_cast<unsigned long long>(count.blob_links),
                    static_cast<unsigned long long>(count.manifest_links), static_cast<unsigned long long>(count.tags),
                    static_cast<unsigned long long>(count.blob_bodies),
                    static_cast<unsigned long long>(count.manifest_bodies));
    }
    return count.total() + count.blob_bodies != 0 ? exit_ok : exit_found_nothing;
}

}  // namespace registry_cache::cli
