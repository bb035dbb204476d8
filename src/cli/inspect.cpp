// stats, ls and show: reads only, each table walked in one read transaction (a snapshot that
// nginx's writers go on beside; it pins pages only while the walk runs).
#include <ftw.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <map>
#include <string>

#include "commands.h"
#include "output.h"
#include "registry_cache/digest.h"
#include "registry_cache/reference.h"

namespace registry_cache::cli {
namespace {

constexpr StoreTable link_tables[] = {StoreTable::blob_links, StoreTable::manifest_links, StoreTable::tags};

// Bytes of the regular files under blobs/ (bodies, and any being written).
std::uint64_t blob_file_bytes_total = 0;
int add_file(const char*, const struct stat* st, int type, struct FTW*) {
    if (type == FTW_F) blob_file_bytes_total += static_cast<std::uint64_t>(st->st_size);
    return 0;
}

bool blob_file_bytes(const std::string& path, std::uint64_t& bytes, std::string& error) {
    blob_file_bytes_total = 0;
    const std::string blobs = path + "/blobs";
    struct stat st;
    if (::stat(blobs.c_str(), &st) != 0) {  // a cache that keeps no bodies has none
        bytes = 0;
        return true;
    }
    if (nftw(blobs.c_str(), add_file, 16, FTW_PHYS) != 0) {
        error = "nftw(" + blobs + "): " + std::strerror(errno);
        return false;
    }
    bytes = blob_file_bytes_total;
    return true;
}

std::uint64_t stored_at(const StoredRecord& r) noexcept {
    switch (r.table) {
        case StoreTable::tags: return r.tag.stored_at;
        case StoreTable::blob_bodies: return r.body.stored_at;
        default: return r.link.stored_at;
    }
}

const char* kind_of(StoreTable table) noexcept {
    switch (table) {
        case StoreTable::blob_links: return "blob";
        case StoreTable::manifest_links: return "manifest";
        case StoreTable::tags: return "tag";
        default: return table_name(table);
    }
}

void repository_json(Json& json, std::string_view stored) {
    std::string_view ns, name;
    if (repository_parts(stored, ns, name)) {
        const std::size_t space = ns.find(' ');
        json.field("namespace", ns.substr(0, space)).field("name", name);
        if (space != std::string_view::npos) json.field("host", ns.substr(space + 1));
    } else {
        json.field("namespace", "").field("name", stored);
    }
}

// One link or tag record, as ls <repository> and show print it.
void record_json(Json& json, const StoredRecord& r) {
    json.open_object().field("kind", kind_of(r.table)).field("reference", r.reference);
    if (r.status != DecodeStatus::ok) {
        json.field("status", r.status == DecodeStatus::damaged ? "damaged" : "unknown version").close_object();
        return;
    }
    if (r.table == StoreTable::tags) {
        json.field("digest", r.tag.digest.view()).field("media_type", r.tag.media_type.view());
        json.field("scope", scope_name(r.tag.scope));
    } else {
        json.field("size", r.link.size).field("media_type", r.link.media_type.view());
        json.field("scope", scope_name(r.link.scope));
    }
    json.field("stored_at", stored_at(r)).field("stored", rfc3339(stored_at(r))).close_object();
}

void record_line(const StoredRecord& r) {
    if (r.status != DecodeStatus::ok) {
        std::printf("%-8s %s  (%s)\n", kind_of(r.table), std::string(r.reference).c_str(),
                    r.status == DecodeStatus::damaged ? "damaged" : "unknown version");
    } else if (r.table == StoreTable::tags) {
        std::printf("%-8s %-24s -> %s  %s  %s  %s\n", "tag", std::string(r.reference).c_str(),
                    std::string(r.tag.digest.view()).c_str(), std::string(r.tag.media_type.view()).c_str(),
                    scope_name(r.tag.scope), rfc3339(r.tag.stored_at).c_str());
    } else {
        std::printf("%-8s %s  %12llu  %s  %s  %s\n", kind_of(r.table), std::string(r.reference).c_str(),
                    static_cast<unsigned long long>(r.link.size), std::string(r.link.media_type.view()).c_str(),
                    scope_name(r.link.scope), rfc3339(r.link.stored_at).c_str());
    }
}

}  // namespace

int run_stats(const Invocation& call, Store& store) {
    StoreStats stats;
    std::string error;
    if (!store.stats(stats, error)) {
        report_error(call, error);
        return exit_store_error;
    }
    std::uint64_t oldest = 0;
    bool any = false;
    for (const StoreTable table : {StoreTable::blob_links, StoreTable::manifest_links, StoreTable::tags,
                                   StoreTable::blob_bodies}) {
        const bool walked = store.walk(table, {}, [&](const StoredRecord& r) {
            if (r.status == DecodeStatus::ok && (!any || stored_at(r) < oldest)) oldest = stored_at(r), any = true;
            return true;
        }, error);
        if (!walked) {
            report_error(call, error);
            return exit_store_error;
        }
    }
    std::uint64_t file_bytes = 0;
    if (!blob_file_bytes(call.path, file_bytes, error)) {
        report_error(call, error);
        return exit_store_error;
    }
    if (call.json) {
        Json json;
        json.open_object().open_object("entries");
        json.field("blob_links", stats.links).field("manifest_links", stats.manifest_links);
        json.field("manifest_bodies", stats.manifest_bodies).field("tags", stats.tags);
        json.field("blob_bodies", stats.blob_bodies).close_object();
        json.field("map_used", stats.map_used).field("map_size", stats.map_size);
        json.field("blob_body_bytes", stats.blob_body_bytes).field("blob_file_bytes", file_bytes);
        if (any) {
            json.field("oldest_stored_at", oldest).field("oldest", rfc3339(oldest));
        } else {
            json.null_field("oldest_stored_at").null_field("oldest");
        }
        std::printf("%s\n", json.close_object().text().c_str());
        return exit_ok;
    }
    std::printf("blob links       %llu\nmanifest links   %llu\nmanifest bodies  %llu\ntags             %llu\n"
                "blob bodies      %llu\n",
                static_cast<unsigned long long>(stats.links), static_cast<unsigned long long>(stats.manifest_links),
                static_cast<unsigned long long>(stats.manifest_bodies), static_cast<unsigned long long>(stats.tags),
                static_cast<unsigned long long>(stats.blob_bodies));
    std::printf("map              %llu of %llu bytes\nblob bodies      %llu bytes recorded, %llu bytes of files\n",
                static_cast<unsigned long long>(stats.map_used), static_cast<unsigned long long>(stats.map_size),
                static_cast<unsigned long long>(stats.blob_body_bytes), static_cast<unsigned long long>(file_bytes));
    std::printf("oldest entry     %s\n", any ? rfc3339(oldest).c_str() : "none");
    return exit_ok;
}

namespace {

struct RepositorySummary {
    std::uint64_t blobs = 0, manifests = 0, tags = 0, blob_bytes = 0, newest = 0;
};

int list_repositories(const Invocation& call, Store& store) {
    std::map<std::string, RepositorySummary> repositories;
    std::string error;
    for (const StoreTable table : link_tables) {
        const bool walked = store.walk(table, {}, [&](const StoredRecord& r) {
            if (r.repository.empty()) return true;  // a damaged key: verify's to report
            RepositorySummary& s = repositories[std::string(r.repository)];
            (table == StoreTable::blob_links ? s.blobs : table == StoreTable::tags ? s.tags : s.manifests) += 1;
            if (r.status != DecodeStatus::ok) return true;
            if (table == StoreTable::blob_links) s.blob_bytes += r.link.size;
            s.newest = std::max(s.newest, stored_at(r));
            return true;
        }, error);
        if (!walked) {
            report_error(call, error);
            return exit_store_error;
        }
    }
    Json json;
    json.open_object().open_array("repositories");
    for (const auto& [stored, s] : repositories) {
        if (call.json) {
            json.open_object();
            repository_json(json, stored);
            json.field("blob_links", s.blobs).field("manifest_links", s.manifests).field("tags", s.tags);
            json.field("blob_bytes", s.blob_bytes).field("newest", rfc3339(s.newest)).close_object();
        } else {
            std::printf("%s  blobs %llu (%llu bytes)  manifests %llu  tags %llu  newest %s\n",
                        readable_repository(stored).c_str(), static_cast<unsigned long long>(s.blobs),
                        static_cast<unsigned long long>(s.blob_bytes), static_cast<unsigned long long>(s.manifests),
                        static_cast<unsigned long long>(s.tags), rfc3339(s.newest).c_str());
        }
    }
    if (call.json) std::printf("%s\n", json.close_array().close_object().text().c_str());
    return exit_ok;
}

}  // namespace

int run_ls(const Invocation& call, Store& store) {
    if (call.args.empty()) return list_repositories(call, store);
    const std::string repository = stored_repository(call, call.args[0]);
    if (repository.empty()) return exit_usage;
    Json json;
    json.open_object();
    repository_json(json, repository);
    std::uint64_t found = 0;
    std::string error;
    for (const StoreTable table : link_tables) {
        json.open_array(table_name(table));
        const bool walked = store.walk(table, repository, [&](const StoredRecord& r) {
            ++found;
            call.json ? record_json(json, r) : record_line(r);
            return true;
        }, error);
        if (!walked) {
            report_error(call, error);
            return exit_store_error;
        }
        json.close_array();
    }
    if (call.json) std::printf("%s\n", json.close_object().text().c_str());
    return found > 0 ? exit_ok : exit_found_nothing;
}

int run_show(const Invocation& call, Store& store) {
    const std::string repository = stored_repository(call, call.args[0]);
    if (repository.empty()) return exit_usage;
    const std::string& reference = call.args[1];
    const DigestParse parsed = parse_digest(reference);
    const bool by_digest = parsed.status == DigestStatus::ok && is_cacheable(parsed.digest.algorithm);
    if (!by_digest && !is_valid_tag(reference)) {
        std::fprintf(stderr, "registry-cache: neither a digest nor a tag: %s\n", reference.c_str());
        return exit_usage;
    }
    Json json;
    json.open_object();
    repository_json(json, repository);
    json.field("reference", reference).open_array("records");
    std::uint64_t found = 0;
    std::string error;
    // A digest: its blob and manifest links and the tags naming it; a tag: the tag and the
    // manifest link it names.
    std::string tagged;
    for (const StoreTable table : {StoreTable::tags, StoreTable::blob_links, StoreTable::manifest_links}) {
        const bool walked = store.walk(table, repository, [&](const StoredRecord& r) {
            const bool match = table == StoreTable::tags
                                   ? (by_digest ? r.status == DecodeStatus::ok && r.tag.digest.view() == reference
                                                : r.reference == reference)
                                   : r.reference == (by_digest ? reference : tagged);
            if (!match) return true;
            if (table == StoreTable::tags && !by_digest && r.status == DecodeStatus::ok) {
                tagged = std::string(r.tag.digest.view());
            }
            ++found;
            call.json ? record_json(json, r) : record_line(r);
            return true;
        }, error);
        if (!walked) {
            report_error(call, error);
            return exit_store_error;
        }
    }
    json.close_array();
    // The body of a blob, held once per digest whatever repository links it.
    if (by_digest) {
        BodyRecord body;
        const LookupStatus held = store.lookup_body_record(parsed.digest, body, &error);
        if (held == LookupStatus::error) {
            report_error(call, error);
            return exit_store_error;
        }
        if (held == LookupStatus::hit) {
            json.open_object("blob_body").field("size", body.size).field("stored", rfc3339(body.stored_at));
            json.close_object();
            if (!call.json) {
                std::printf("body     %s  %12llu  kept on disk  %s\n", reference.c_str(),
                            static_cast<unsigned long long>(body.size), rfc3339(body.stored_at).c_str());
            }
        } else {
            json.null_field("blob_body");
        }
    }
    if (call.json) std::printf("%s\n", json.close_object().text().c_str());
    if (found == 0 && !call.json) {
        std::fprintf(stderr, "registry-cache: %s: nothing of %s in %s\n", call.path.c_str(), reference.c_str(),
                     readable_repository(repository).c_str());
    }
    return found > 0 ? exit_ok : exit_found_nothing;
}

}  // namespace registry_cache::cli
