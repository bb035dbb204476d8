// A batch of a body's bytes to hash, in order, that can run on any thread: each piece is in
// memory or in a file. File pieces are read with pread() on the descriptor alone, so the
// thread shares no state of the file (offsets) with the event loop that owns it. A job may
// also copy what it hashes into a file (a blob body being stored), at the offset it is told:
// a failed write stops the copy, never the hash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "registry_cache/hasher.h"

namespace registry_cache {

class HashJob {
public:
    void add_memory(const void* data, std::size_t size);
    void add_file(int fd, std::uint64_t offset, std::uint64_t size);
    // Clears the pieces (and what the last run copied); the copy's file is kept.
    void clear() noexcept;

    // Copies every byte hashed from now on into `fd` at `offset` onwards (pwrite); -1: none.
    void copy_to(int fd, std::uint64_t offset) noexcept {
        copy_fd_ = fd;
        copy_offset_ = offset;
    }
    // After run(): bytes copied, and the errno of a failed write (0: none; ENOSPC for a
    // write that wrote nothing). A failed copy copies no more.
    std::uint64_t copied() const noexcept { return copied_; }
    int copy_error() const noexcept { return copy_error_; }

    bool empty() const noexcept { return pieces_.empty(); }
    std::uint64_t bytes() const noexcept { return bytes_; }

    // Feeds every piece to `hasher`; false when a read or OpenSSL failed. `scratch` holds
    // file reads. What failed is in read_error(): an errno, or 0 for OpenSSL or a file
    // that ended before its piece did.
    bool run(Hasher& hasher, unsigned char* scratch, std::size_t scratch_size) noexcept;
    int read_error() const noexcept { return read_error_; }

private:
    struct Piece {
        const unsigned char* data;  // null: in the file
        int fd;
        std::uint64_t offset;
        std::uint64_t size;
    };
    bool hash_file(Hasher& hasher, const Piece& p, unsigned char* scratch,
                   std::size_t scratch_size) noexcept;
    void copy(const unsigned char* data, std::size_t size) noexcept;

    std::vector<Piece> pieces_;
    std::uint64_t bytes_ = 0;
    int read_error_ = 0;
    int copy_fd_ = -1;
    std::uint64_t copy_offset_ = 0;
    std::uint64_t copied_ = 0;
    int copy_error_ = 0;
};

}  // namespace registry_cache
