#include "registry_cache/hash_job.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace registry_cache {

void HashJob::add_memory(const void* data, std::size_t size) {
    pieces_.push_back({static_cast<const unsigned char*>(data), -1, 0, size});
    bytes_ += size;
}

void HashJob::add_file(int fd, std::uint64_t offset, std::uint64_t size) {
    pieces_.push_back({nullptr, fd, offset, size});
    bytes_ += size;
}

void HashJob::clear() noexcept {
    pieces_.clear();
    bytes_ = 0;
    read_error_ = 0;
    copied_ = 0;
    copy_error_ = 0;
}

bool HashJob::run(Hasher& hasher, unsigned char* scratch, std::size_t scratch_size) noexcept {
    for (const Piece& p : pieces_) {
        bool ok = p.data != nullptr ? hasher.update(p.data, p.size)
                                    : hash_file(hasher, p, scratch, scratch_size);
        if (!ok) return false;
        if (p.data != nullptr) copy(p.data, p.size);
    }
    return true;
}

void HashJob::copy(const unsigned char* data, std::size_t size) noexcept {
    while (copy_fd_ >= 0 && size > 0) {
        const ssize_t n = ::pwrite(copy_fd_, data, size, static_cast<off_t>(copy_offset_ + copied_));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            copy_error_ = n < 0 ? errno : ENOSPC;
            copy_fd_ = -1;
            return;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
        copied_ += static_cast<std::uint64_t>(n);
    }
}

bool HashJob::hash_file(Hasher& hasher, const Piece& p, unsigned char* scratch,
                        std::size_t scratch_size) noexcept {
    for (std::uint64_t done = 0; done < p.size;) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(scratch_size, p.size - done));
        ssize_t got = ::pread(p.fd, scratch, want, static_cast<off_t>(p.offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            read_error_ = got < 0 ? errno : 0;
            return false;
        }
        if (!hasher.update(scratch, static_cast<std::size_t>(got))) return false;
        copy(scratch, static_cast<std::size_t>(got));
        done += static_cast<std::uint64_t>(got);
    }
    return true;
}

}  // namespace registry_cache
