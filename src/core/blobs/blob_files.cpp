#include "registry_cache/blobs/blob_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

namespace registry_cache {
namespace {

void set_error(std::string& error, const char* what, const std::string& path, int err) {
    error = std::string(what) + " \"" + path + "\" failed: " + std::strerror(err);
}

// mkdir that takes an existing directory as success.
bool make_dir(const std::string& path, std::string& error) {
    if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) {
        struct stat st;
        if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return true;
        set_error(error, "mkdir()", path, errno == 0 || errno == EEXIST ? ENOTDIR : errno);
        return false;
    }
    set_error(error, "mkdir()", path, errno);
    return false;
}

// Names of temporary files are unique within the process; across processes the pid is.
std::atomic<std::uint64_t> next_temp{0};

}  // namespace

TempBody::~TempBody() { discard(); }

TempBody::TempBody(TempBody&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {
    other.path_.clear();
}

TempBody& TempBody::operator=(TempBody&& other) noexcept {
    if (this != &other) {
        discard();
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::move(other.path_);
        other.path_.clear();
    }
    return *this;
}

void TempBody::discard() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (!path_.empty()) {
        ::unlink(path_.c_str());
        path_.clear();
    }
}

BlobFiles::BlobFiles(std::string directory)
    : blobs_(std::move(directory) + "/blobs"), tmp_(blobs_ + "/tmp") {}

bool BlobFiles::prepare(std::string& error) const {
    return make_dir(blobs_, error) && make_dir(tmp_, error);
}

std::string BlobFiles::path_of(const Digest& digest) const {
    if (!is_cacheable(digest.algorithm) || digest.encoded.size() != encoded_hex_length(digest.algorithm)) {
        return {};
    }
    std::string path = blobs_;
    path += '/';
    path += algorithm_name(digest.algorithm);
    path += '/';
    path.append(digest.encoded.substr(0, 2));
    path += '/';
    path.append(digest.encoded);
    return path;
}

bool BlobFiles::create(TempBody& out, std::string& error) const {
    out.discard();
    const std::string prefix = tmp_ + "/" + std::to_string(::getpid()) + ".";
    for (int attempt = 0; attempt < 16; ++attempt) {
        std::string path = prefix + std::to_string(next_temp.fetch_add(1, std::memory_order_relaxed));
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            out.fd_ = fd;
            out.path_ = std::move(path);
            return true;
        }
        // A file of a dead process of the same pid: take the next name.
        if (errno != EEXIST) {
            set_error(error, "open()", path, errno);
            return false;
        }
    }
    set_error(error, "open()", prefix + "*", EEXIST);
    return false;
}

bool BlobFiles::publish(TempBody& body, const Digest& digest, std::string& error) const {
    const std::string target = path_of(digest);
    if (target.empty() || !body.open()) {
        error = "publish: not a stored digest, or no temporary body";
        body.discard();
        return false;
    }
    if (::close(std::exchange(body.fd_, -1)) != 0) {
        set_error(error, "close()", body.path_, errno);
        body.discard();
        return false;
    }
    // <blobs>/<algorithm>/<two hex>: made on first use.
    const std::string shard = target.substr(0, target.rfind('/'));
    const std::string algorithm = shard.substr(0, shard.rfind('/'));
    if (!make_dir(algorithm, error) || !make_dir(shard, error)) {
        body.discard();
        return false;
    }
    if (::rename(body.path_.c_str(), target.c_str()) != 0) {
        set_error(error, "rename()", body.path_, errno);
        body.discard();
        return false;
    }
    body.path_.clear();  // it is the digest's file now: nothing to remove
    return true;
}

void BlobFiles::remove(const Digest& digest) const noexcept {
    try {
        const std::string path = path_of(digest);
        if (!path.empty()) ::unlink(path.c_str());
    } catch (...) {
        // Out of memory: the file stays, without a record; a later GET replaces it.
    }
}

bool BlobFiles::for_each_body(
    const std::function<void(const std::string&, const std::string&, std::uint64_t)>& visit,
    std::string& error) const {
    for (const DigestAlgorithm algorithm : {DigestAlgorithm::sha256, DigestAlgorithm::sha384, DigestAlgorithm::sha512}) {
        const std::string name(algorithm_name(algorithm));
        const std::string top = blobs_ + "/" + name;
        DIR* shards = ::opendir(top.c_str());
        if (shards == nullptr) {
            if (errno != ENOENT) {
                set_error(error, "opendir()", top, errno);
                return false;
            }
            continue;
        }
        while (const dirent* shard = ::readdir(shards)) {
            if (shard->d_name[0] == '.') continue;
            const std::string dir = top + "/" + shard->d_name;
            DIR* files = ::opendir(dir.c_str());
            if (files == nullptr) continue;
            while (const dirent* file = ::readdir(files)) {
                if (file->d_name[0] == '.') continue;
                const std::string path = dir + "/" + file->d_name;
                struct stat st;
                if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
                const std::string digest = name + ":" + file->d_name;
                const DigestParse parsed = parse_digest(digest);
                // A file not named as a digest of its directory is nobody's: it goes too.
                visit(path, parsed.status == DigestStatus::ok && parsed.digest.algorithm == algorithm ? digest : "",
                      static_cast<std::uint64_t>(st.st_size));
            }
            ::closedir(files);
        }
        ::closedir(shards);
    }
    return true;
}

SweepResult BlobFiles::sweep_temporary(std::string& error) const {
    SweepResult result;
    DIR* dir = ::opendir(tmp_.c_str());
    if (dir == nullptr) {
        if (errno != ENOENT) set_error(error, "opendir()", tmp_, errno);
        return result;
    }
    while (const dirent* entry = ::readdir(dir)) {
        if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
        const std::string path = tmp_ + "/" + entry->d_name;
        struct stat st;
        if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (::unlink(path.c_str()) == 0) {
            result.files += 1;
            result.bytes += static_cast<std::uint64_t>(st.st_size);
        } else if (error.empty()) {
            set_error(error, "unlink()", path, errno);
        }
    }
    ::closedir(dir);
    return result;
}

}  // namespace registry_cache
