// Blob bodies on the edge's disk: one file per digest under the cache directory, written where
// no reader looks and made visible by one rename once its bytes are verified, so that no
// moment exists at which a partial or unverified body could be served (issue 11: the store
// of blob bodies; the glue that writes and serves them builds on this).
//
//   <directory>/blobs/<algorithm>/<first two hex digits>/<hex>   a body, named by its digest
//   <directory>/blobs/tmp/<pid>.<n>                                a body being written
//
// Part of the core: POSIX calls, no nginx, no LMDB (the records of what is stored live in the
// LMDB environment beside it).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "registry_cache/digest.h"

#include <unistd.h>

namespace registry_cache {

// A body being written: its file is removed when this goes, unless it was published.
class TempBody {
public:
    TempBody() noexcept = default;
    ~TempBody();
    TempBody(TempBody&& other) noexcept;
    TempBody& operator=(TempBody&& other) noexcept;
    TempBody(const TempBody&) = delete;
    TempBody& operator=(const TempBody&) = delete;

    int fd() const noexcept { return fd_; }
    const std::string& path() const noexcept { return path_; }
    bool open() const noexcept { return fd_ >= 0; }
    // Closes and removes the file (a mismatch, a short body, an abort, a write error).
    void discard() noexcept;

private:
    friend class BlobFiles;
    int fd_ = -1;
    std::string path_;
};

struct SweepResult {
    std::uint64_t files = 0;  // temporary files removed
    std::uint64_t bytes = 0;  // and their size
};

class BlobFiles {
public:
    explicit BlobFiles(std::string directory);

    // Creates blobs/ and blobs/tmp/ (mode 0700) when absent. False with `error` naming the
    // path and the system's reason.
    bool prepare(std::string& error) const;

    // Where the body of `digest` lives; empty for a digest the cache does not store.
    std::string path_of(const Digest& digest) const;

    // A new, empty temporary file (created exclusively, mode 0600, close-on-exec).
    bool create(TempBody& out, std::string& error) const;

    // Makes `body` the file of `digest`: closed, then renamed into place in one step (the
    // two-digit directory is made when absent). An existing file of the digest is replaced:
    // both hold the bytes the digest names. On failure the temporary file is removed.
    bool publish(TempBody& body, const Digest& digest, std::string& error) const;

    // Removes the file of `digest` (its record was forgotten); none there is no failure.
    void remove(const Digest& digest) const noexcept;

    // Removes every body file for which `keep(digest, size)` says no (a file a crash left
    // between its rename and its record, or one whose record was dropped). Like the sweep of
    // temporary files, for a moment when nothing writes.
    template <typename Keep>
    SweepResult sweep_unrecorded(Keep&& keep, std::string& error) const;

    // Removes every temporary file: what a crash or a killed worker left half written. Run
    // where nothing writes (the master, before workers start).
    SweepResult sweep_temporary(std::string& error) const;

private:
    // Calls `visit(path, digest text, size)` for each body file (regular files named as a
    // digest of their directory's algorithm); false when a directory could not be read.
    bool for_each_body(const std::function<void(const std::string&, const std::string&, std::uint64_t)>& visit,
                       std::string& error) const;

    std::string blobs_;  // <directory>/blobs
    std::string tmp_;    // <directory>/blobs/tmp
};

template <typename Keep>
SweepResult BlobFiles::sweep_unrecorded(Keep&& keep, std::string& error) const {
    SweepResult result;
    for_each_body(
        [&](const std::string& path, const std::string& digest, std::uint64_t size) {
            if (keep(digest, size)) return;
            if (::unlink(path.c_str()) == 0) {
                result.files += 1;
                result.bytes += size;
            }
        },
        error);
    return result;
}

}  // namespace registry_cache
