// verify: every record of every table decodes; every blob body recorded has its file, of the
// recorded size and (--hash) hashing to its name; every manifest body hashes to its digest.
// The scan reads; --fix then removes, in one write transaction per table, what was found
// (a body's file once its record went). The scan is a snapshot: a record nginx changed since
// is judged again before it is removed (a missing or short file is looked at once more).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include "commands.h"
#include "output.h"
#include "registry_cache/blobs/blob_files.h"
#include "registry_cache/digest.h"
#include "registry_cache/hasher.h"

namespace registry_cache::cli {
namespace {

struct Problem {
    StoreTable table;
    std::string key;
    std::string repository;
    std::string reference;
    std::string what;
    std::string file;  // a blob body's, to remove with its record
};

// The digest of a file's bytes ("algorithm:hex"), or empty with `error` naming the call.
std::string hash_file(const std::string& path, DigestAlgorithm algorithm, std::string& error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error = "open(" + path + "): " + std::strerror(errno);
        return {};
    }
    Hasher hasher;
    std::vector<char> buffer(1 << 20);
    bool ok = hasher.start(algorithm);
    ssize_t n;
    while (ok && (n = ::read(fd, buffer.data(), buffer.size())) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            error = "read(" + path + "): " + std::strerror(errno);
            ::close(fd);
            return {};
        }
        ok = hasher.update(buffer.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (!ok) {
        error = "hashing " + path + " failed";
        return {};
    }
    return hasher.finish();
}

// What is wrong with the file of a recorded body, or empty; `error` for a failure to look.
std::string judge_file(const std::string& path, const BodyRecord& body, std::string_view digest, bool hash,
                       std::string& error) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return "file missing";
        error = "stat(" + path + "): " + std::strerror(errno);
        return {};
    }
    if (static_cast<std::uint64_t>(st.st_size) != body.size) {
        return "file of " + std::to_string(st.st_size) + " bytes, recorded " + std::to_string(body.size);
    }
    if (!hash) return {};
    const std::string actual = hash_file(path, parse_digest(digest).digest.algorithm, error);
    if (actual.empty()) return {};
    return actual == digest ? std::string{} : "file hashes to " + actual;
}

}  // namespace

int run_verify(const Invocation& call, Store& store) {
    const BlobFiles files(call.path);
    std::vector<Problem> problems;
    std::map<std::string, std::uint64_t> checked;
    std::uint64_t unknown = 0;
    std::string error, look_error;
    for (const StoreTable table : {StoreTable::blob_links, StoreTable::manifest_links, StoreTable::tags,
                                   StoreTable::blob_bodies, StoreTable::manifest_bodies}) {
        const bool walked = store.walk(table, {}, [&](const StoredRecord& r) {
            ++checked[table_name(table)];
            Problem p{table, std::string(r.key), std::string(r.repository), std::string(r.reference), {}, {}};
            if (r.status == DecodeStatus::unknown_version) {
                ++unknown;  // a newer build's record: a miss to this one, not damage
                return true;
            }
            if (r.status == DecodeStatus::damaged) {
                p.what = r.reference.empty() ? "damaged key" : "damaged record";
            } else if (table == StoreTable::manifest_bodies) {
                if (digest_of(parse_digest(r.reference).digest.algorithm, r.manifest) != r.reference) {
                    p.what = "manifest body does not hash to its digest";
                }
            } else if (table == StoreTable::blob_bodies) {
                p.file = files.path_of(parse_digest(r.reference).digest);
                p.what = judge_file(p.file, r.body, r.reference, call.hash, look_error);
                if (!look_error.empty()) return false;
            }
            if (!p.what.empty()) problems.push_back(std::move(p));
            return true;
        }, error);
        if (!look_error.empty()) {
            report_error(call, look_error);
            return exit_store_error;
        }
        if (!walked) {
            report_error(call, error);
            return exit_store_error;
        }
    }

    std::uint64_t fixed = 0;
    if (call.fix && !problems.empty()) {
        std::map<StoreTable, std::vector<std::string>> keys;
        for (const Problem& p : problems) keys[p.table].push_back(p.key);
        for (const auto& [table, table_keys] : keys) {
            std::uint64_t forgotten = 0;
            if (!store.forget_records(table, table_keys, forgotten, error)) {
                report_error(call, error);
                return exit_store_error;
            }
            fixed += forgotten;
        }
        // The record went first: nginx no longer answers from the file, whose removal follows.
        for (const Problem& p : problems) {
            if (!p.file.empty() && ::unlink(p.file.c_str()) != 0 && errno != ENOENT) {
                report_error(call, "unlink(" + p.file + "): " + std::strerror(errno));
                return exit_store_error;
            }
        }
    }

    if (call.json) {
        Json json;
        json.open_object().open_object("checked");
        for (const auto& [table, n] : checked) json.field(table, n);
        json.close_object().field("unknown_version", unknown).field("hashed", call.hash).open_array("problems");
        for (const Problem& p : problems) {
            json.open_object().field("table", table_name(p.table));
            if (!p.repository.empty()) json.field("repository", readable_repository(p.repository));
            json.field("reference", p.reference).field("problem", p.what);
            if (!p.file.empty()) json.field("file", p.file);
            json.close_object();
        }
        json.close_array().field("fixed", fixed);
        std::printf("%s\n", json.close_object().text().c_str());
    } else {
        for (const Problem& p : problems) {
            std::printf("%s: %s%s%s: %s\n", table_name(p.table),
                        p.repository.empty() ? "" : (readable_repository(p.repository) + " ").c_str(),
                        p.reference.c_str(), p.file.empty() ? "" : (" (" + p.file + ")").c_str(), p.what.c_str());
        }
        std::uint64_t total = 0;
        for (const auto& [table, n] : checked) total += n;
        std::printf("%llu records checked%s, %zu problems%s\n", static_cast<unsigned long long>(total),
                    call.hash ? " (blob files hashed)" : "", problems.size(),
                    call.fix ? (", " + std::to_string(fixed) + " records removed").c_str() : "");
    }
    return problems.empty() ? exit_ok : exit_found_nothing;
}

}  // namespace registry_cache::cli
