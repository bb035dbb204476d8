// The facade the nginx glue uses: one Environment and, in it, the blob-link table. What a
// Store adds to them is the batch: validation before the write lock, eviction when the map
// nears max_size, one transaction per batch.
#include "registry_cache/store.h"

#include <cerrno>
#include <new>
#include <utility>

#include "registry_cache/keys.h"
#include "registry_cache/hasher.h"
#include "registry_cache/store/blob_bodies.h"
#include "registry_cache/store/blob_links.h"
#include "registry_cache/store/environment.h"
#include "registry_cache/store/manifests.h"
#include "registry_cache/store/tags.h"
#include "registry_cache/store/upstream_answers.h"
#include "store_impl.h"

namespace registry_cache {

using store::Environment;
using store::set_error;
using store::set_lmdb_error;


namespace {

// What a link record says, into a LookupResult or a ManifestLookup.
template <typename Result>
void fill(Result& result, const LinkRecord& record) noexcept {
    result.descriptor.size = record.size;
    result.descriptor.stored_at = record.stored_at;
    result.descriptor.media_type = record.media_type;
    result.link.scope = record.scope;
    result.link.stored_at = record.stored_at;
}

// One read of a link table in the recycled read transaction; on a hit, what the record says
// goes into `result` (a LookupResult or a ManifestLookup). Returns the commit it read under
// (0 when the read could not begin).
template <typename Result, typename Read>
std::uint64_t read_link(Environment& env, Result& result, std::string* error, Read&& read) noexcept {
    store::ReadScope scope = env.read();
    if (scope.get() == nullptr) {
        result.status = LookupStatus::error;
        if (error != nullptr) set_lmdb_error(*error, "mdb_txn_renew", scope.rc());
        return 0;
    }
    LinkRecord record;
    result.status = read(scope.get(), record);
    if (result.status == LookupStatus::hit) fill(result, record);
    return scope.commit();
}

}  // namespace

Store::Store(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

Store::~Store() = default;

std::unique_ptr<Store> Store::open(const StoreOptions& options, std::string& error,
                                   bool* damaged) noexcept {
    bool ignored = false;
    bool& damage = damaged != nullptr ? *damaged : ignored;
    damage = false;
    std::unique_ptr<Impl> impl(new (std::nothrow) Impl);
    if (!impl) {
        set_error(error, "registry cache store", "out of memory");
        return nullptr;
    }
    store::EnvironmentOptions env_options;
    try {
        env_options.directory = options.directory;
    } catch (const std::bad_alloc&) {
        set_error(error, "registry cache store", "out of memory");
        return nullptr;
    }
    env_options.map_size = options.map_size;
    env_options.max_readers = options.max_readers;
    env_options.read_only = options.read_only;
    impl->env = Environment::open(env_options, error, &damage);
    if (!impl->env) return nullptr;

    {
        int rc;
        store::WriteTxn txn = impl->env->begin_setup(rc, error);
        if (rc != MDB_SUCCESS) return nullptr;
        if ((rc = impl->links.open(*impl->env, txn, error)) != MDB_SUCCESS ||
            (rc = impl->manifests.open(*impl->env, txn, error)) != MDB_SUCCESS ||
            (rc = impl->tags.open(*impl->env, txn, error)) != MDB_SUCCESS ||
            (rc = impl->upstream_answers.open(*impl->env, txn, error)) != MDB_SUCCESS ||
            (rc = impl->bodies.open(*impl->env, txn, error)) != MDB_SUCCESS) {
            damage = store::is_damage(rc);
            return nullptr;
        }
        // The table handles become usable by other transactions only once this one commits.
        if ((rc = txn.commit()) != MDB_SUCCESS) {
            set_lmdb_error(error, "mdb_txn_commit", rc);
            return nullptr;
        }
    }
    if (impl->env->take_reader(error) != MDB_SUCCESS) return nullptr;

    std::unique_ptr<Store> store(new (std::nothrow) Store(std::move(impl)));
    if (!store) set_error(error, "registry cache store", "out of memory");
    return store;
}

LookupResult Store::lookup(std::string_view repository, const Digest& digest,
                           std::string* error) noexcept {
    LookupResult result;
    // Keys that cannot be built name nothing the cache could hold: not cacheable is a miss.
    const Key link = link_key(repository, digest);
    if (link.empty()) return result;

    // One record: this repository's link, which carries all a hit sends.
    read_link(*impl_->env, result, error, [&](MDB_txn* txn, LinkRecord& record) {
        return impl_->links.read(txn, link.view(), record, error);
    });
    return result;
}

ManifestLookup Store::lookup_manifest(std::string_view repository, const Digest& digest,
                                     std::string* error) noexcept {
    // The hex alone names the digest where its length is its algorithm's (each algorithm's
    // is of its own length); anything else is read, never kept.
    const bool keepable = digest.algorithm != DigestAlgorithm::other &&
                          digest.encoded.size() == encoded_hex_length(digest.algorithm);
    if (const ManifestLookup* kept =
            keepable ? impl_->recent_manifests.find(impl_->env->last_commit(), repository, digest.encoded) : nullptr) {
        return *kept;
    }
    ManifestLookup result;
    const std::uint64_t commit = read_link(*impl_->env, result, error, [&](MDB_txn* txn, LinkRecord& record) {
        return impl_->manifests.read(txn, repository, digest, record, result.body, error);
    });
    if (keepable && result.status != LookupStatus::error) {
        impl_->recent_manifests.keep(commit, repository, digest.encoded, result, result.body.size());
    }
    return result;
}

TaggedLookup Store::lookup_tag(std::string_view repository, std::string_view tag,
                              std::string* error) noexcept {
    if (const TaggedLookup* kept = impl_->recent_tags.find(impl_->env->last_commit(), repository, tag)) {
        return *kept;
    }
    TaggedLookup result;
    store::ReadScope scope = impl_->env->read();
    if (scope.get() == nullptr) {
        result.status = LookupStatus::error;
        if (error != nullptr) set_lmdb_error(*error, "mdb_txn_renew", scope.rc());
        return result;
    }
    result.status = impl_->tags.read(scope.get(), repository, tag, result.tag, error);
    if (result.status != LookupStatus::hit) return result;
    result.tag_found = true;
    const Digest digest = parse_digest(result.tag.digest.view()).digest;
    LinkRecord record;
    result.manifest.status =
        impl_->manifests.read(scope.get(), repository, digest, record, result.manifest.body, error);
    if (result.manifest.status == LookupStatus::hit) fill(result.manifest, record);
    result.status = result.manifest.status;
    if (result.status != LookupStatus::error) {
        impl_->recent_tags.keep(scope.commit(), repository, tag, result, result.manifest.body.size());
    }
    return result;
}

BodyLookup Store::lookup_blob_body(std::string_view repository, const Digest& digest,
                                   std::string* error) noexcept {
    BodyLookup result;
    const Key link = link_key(repository, digest);
    if (link.empty()) return result;
    store::ReadScope scope = impl_->env->read();
    if (scope.get() == nullptr) {
        result.status = LookupStatus::error;
        if (error != nullptr) set_lmdb_error(*error, "mdb_txn_renew", scope.rc());
        return result;
    }
    LinkRecord record;
    result.status = impl_->links.read(scope.get(), link.view(), record, error);
    if (result.status != LookupStatus::hit) return result;
    fill(result, record);
    result.body_status = impl_->bodies.read(scope.get(), content_key_in(link, repository), result.body, error);
    // A damaged body record is the store's sickness, as a damaged link is.
    if (result.body_status == LookupStatus::error) result.status = LookupStatus::error;
    return result;
}

bool Store::blob_body_totals(std::uint64_t& bytes, std::uint64_t& bodies, std::string& error) noexcept {
    store::ReadScope scope = impl_->env->read();
    if (scope.get() == nullptr) {
        set_lmdb_error(error, "mdb_txn_renew", scope.rc());
        return false;
    }
    return impl_->bodies.totals(scope.get(), bytes, bodies, error);
}

LookupStatus Store::lookup_body_record(const Digest& digest, BodyRecord& out, std::string* error) noexcept {
    store::ReadScope scope = impl_->env->read();
    if (scope.get() == nullptr) {
        if (error != nullptr) set_lmdb_error(*error, "mdb_txn_renew", scope.rc());
        return LookupStatus::error;
    }
    return impl_->bodies.read(scope.get(), content_key(digest).view(), out, error);
}

bool Store::evict_blob_bodies(std::uint64_t target, std::vector<std::string>& removed,
                              std::string& error) noexcept {
    try {
        return impl_->bodies.evict_to(*impl_->env, target, removed, error) == MDB_SUCCESS;
    } catch (const std::bad_alloc&) {
        removed.clear();
        set_error(error, "registry cache store eviction", "out of memory");
        return false;
    }
}

LookupStatus Store::lookup_ping(std::string_view host, PingRecord& out, std::string* error) noexcept {
    store::ReadScope scope = impl_->env->read();
    if (scope.get() == nullptr) {
        if (error != nullptr) set_lmdb_error(*error, "mdb_txn_renew", scope.rc());
        return LookupStatus::error;
    }
    try {
        return impl_->upstream_answers.read_ping(scope.get(), host, out, error);
    } catch (...) {
        if (error != nullptr) set_error(*error, "registry cache ping lookup", "out of memory");
        return LookupStatus::error;
    }
}

namespace {

// What a manifest record must hold: the bytes its digest names, at the declared size. The
// glue verified them as they streamed; they are checked again here, so that the store alone
// guarantees that no body is kept under a digest it does not hash to.
bool is_sound_manifest(const StoreWrite& w, const Digest& digest) noexcept {
    if (w.body.empty() || w.body.size() != w.descriptor.size) return false;
    Hasher hasher;
    if (!hasher.start(digest.algorithm) || !hasher.update(w.body.data(), w.body.size())) {
        return false;
    }
    try {
        return hasher.finish() == w.digest;
    } catch (...) {
        return false;
    }
}

}  // namespace

bool Store::commit(const std::vector<StoreWrite>& batch, std::string& error,
                   std::uint64_t* evicted, std::uint64_t* unchanged,
                   std::uint64_t* unchanged_manifests) noexcept {
    std::uint64_t kept_as_it_was = 0, manifests_kept_as_they_were = 0;
    if (unchanged != nullptr) *unchanged = 0;
    if (unchanged_manifests != nullptr) *unchanged_manifests = 0;
    if (batch.empty()) return true;

    // Everything is validated before the write lock is taken: a bad write fails the batch
    // without making other writers wait, and nothing that would later read back as damaged
    // (an invalid media type, an unknown scope) reaches the file.
    for (const StoreWrite& w : batch) {
        if (w.object == StoreWrite::Object::ping) {
            if (w.kind != StoreWrite::Kind::record || !is_ping_host(w.repository) ||
                !is_replayable_ping(w.ping.status, w.ping.www_authenticate, w.ping.api_version)) {
                set_error(error, "registry cache store commit", "invalid upstream answer");
                return false;
            }
            continue;
        }
        if (w.object == StoreWrite::Object::blob_body) {
            const DigestParse parsed = parse_digest(w.digest);
            if (parsed.status != DigestStatus::ok || content_key(parsed.digest).empty()) {
                set_error(error, "registry cache store commit", "invalid digest of a body");
                return false;
            }
            continue;
        }
        if (w.object == StoreWrite::Object::tag) {
            if (tag_key(w.repository, w.tag).empty()) {
                set_error(error, "registry cache store commit", "invalid repository or tag");
                return false;
            }
            DigestText target;
            if (w.kind == StoreWrite::Kind::record &&
                (!target.assign(w.digest) || !is_valid_media_type(w.descriptor.media_type.view()) ||
                 (w.link.scope != LinkScope::public_access && w.link.scope != LinkScope::credentialed))) {
                set_error(error, "registry cache store commit", "invalid tag record");
                return false;
            }
            continue;
        }
        const DigestParse parsed = parse_digest(w.digest);
        if (parsed.status != DigestStatus::ok || link_key(w.repository, parsed.digest).empty()) {
            set_error(error, "registry cache store commit", "invalid repository or digest");
            return false;
        }
        if (w.kind == StoreWrite::Kind::record) {
            if (!is_valid_media_type(w.descriptor.media_type.view())) {
                set_error(error, "registry cache store commit", "invalid media type");
                return false;
            }
            if (w.link.scope != LinkScope::public_access &&
                w.link.scope != LinkScope::credentialed) {
                set_error(error, "registry cache store commit", "invalid link scope");
                return false;
            }
            if (w.object == StoreWrite::Object::manifest && !is_sound_manifest(w, parsed.digest)) {
                set_error(error, "registry cache store commit",
                          "a manifest body that is not what its digest names");
                return false;
            }
        }
    }

    // Room is made before the map is full: in a full map even deletes fail, since LMDB
    // copies every page it changes.
    std::uint64_t count = 0;
    std::string evict_error;
    if (impl_->env->nearly_full() && impl_->evict(count, evict_error) && evicted != nullptr) {
        *evicted = count;
    }
    int rc = impl_->write(batch, error, kept_as_it_was, manifests_kept_as_they_were);
    if (rc == MDB_MAP_FULL && impl_->evict(count, evict_error) && count > 0) {
        if (evicted != nullptr) *evicted += count;
        error.clear();
        rc = impl_->write(batch, error, kept_as_it_was, manifests_kept_as_they_were);
    }
    if (rc != MDB_SUCCESS && !evict_error.empty()) {
        // Why no room could be made says more than the write's own failure.
        try {
            error += "; evicting: " + evict_error;
        } catch (...) {
        }
    }
    if (rc == MDB_SUCCESS && unchanged != nullptr) *unchanged = kept_as_it_was;
    if (rc == MDB_SUCCESS && unchanged_manifests != nullptr) {
        *unchanged_manifests = manifests_kept_as_they_were;
    }
    return rc == MDB_SUCCESS;
}

bool Store::Impl::evict(std::uint64_t& count, std::string& error) noexcept {
    std::uint64_t blobs = 0, manifest_links = 0, tag_records = 0;
    const int blob_rc = links.evict_oldest(*env, blobs, error);
    const int manifest_rc = manifests.evict_oldest(*env, manifest_links, error);
    const int tag_rc = tags.evict_oldest(*env, tag_records, error);
    count = blobs + manifest_links + tag_records;
    return blob_rc == MDB_SUCCESS || manifest_rc == MDB_SUCCESS || tag_rc == MDB_SUCCESS;
}

// One write transaction for the batch; an LMDB code (MDB_SUCCESS on success), `error` set
// otherwise. The batch was validated by Store::commit.
int Store::Impl::write(const std::vector<StoreWrite>& batch, std::string& error,
                       std::uint64_t& unchanged, std::uint64_t& unchanged_manifests) noexcept {
    unchanged = 0;
    unchanged_manifests = 0;
    int rc;
    store::WriteTxn txn = env->begin_write(rc, error);
    if (rc != MDB_SUCCESS) return rc;
    try {
        for (const StoreWrite& w : batch) {
            bool kept = true;
            switch (w.object) {
                case StoreWrite::Object::blob: rc = links.apply(txn.get(), w, error, kept); break;
                case StoreWrite::Object::manifest:
                    rc = manifests.apply(txn.get(), w, error, kept);
                    // A manifest the upstream deleted takes the tags naming it along.
                    if (rc == MDB_SUCCESS && w.kind == StoreWrite::Kind::clear_link) {
                        rc = tags.forget_pointing_to(txn.get(), w.repository, w.digest, error);
                    }
                    break;
                case StoreWrite::Object::tag: rc = tags.apply(txn.get(), w, error, kept); break;
                case StoreWrite::Object::ping: rc = upstream_answers.apply(txn.get(), w, error); break;
                case StoreWrite::Object::blob_body: rc = bodies.apply(txn.get(), w, error); break;
            }
            if (rc != MDB_SUCCESS) return rc;
            unchanged += !kept && w.object == StoreWrite::Object::blob ? 1 : 0;
            unchanged_manifests += !kept && w.object == StoreWrite::Object::manifest ? 1 : 0;
        }
    } catch (const std::bad_alloc&) {
        set_error(error, "registry cache store commit", "out of memory");
        return ENOMEM;
    } catch (...) {
        set_error(error, "registry cache store commit", "unexpected exception");
        return EINVAL;
    }
    if ((rc = txn.commit()) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_txn_commit", rc);
    }
    return rc;
}

int Store::Impl::purge_in(MDB_txn* txn, std::string_view repository, const PurgeTarget& target, PurgeCount& count,
                          std::vector<std::string>& contents, std::string& error) {
    bool gone = false;
    int rc = MDB_SUCCESS;
    switch (target.kind) {
        case PurgeTarget::Kind::blob: {
            const Key link = link_key(repository, target.digest);
            if (link.empty()) return MDB_SUCCESS;
            if ((rc = links.forget(txn, link.view(), gone, error)) == MDB_SUCCESS && gone) {
                ++count.blob_links;
                contents.emplace_back(content_key_in(link, repository));
            }
            return rc;
        }
        case PurgeTarget::Kind::manifest: {
            const Key link = link_key(repository, target.digest);
            if (link.empty()) return MDB_SUCCESS;
            if ((rc = manifests.forget(txn, link.view(), gone, error)) != MDB_SUCCESS) return rc;
            count.manifest_links += gone ? 1 : 0;
            // Tags that name it go too (they would answer with a manifest no longer held).
            return tags.forget_pointing_to(txn, repository, target.reference, error, &count.tags);
        }
        case PurgeTarget::Kind::tag: {
            const Key key = tag_key(repository, target.reference);
            if (key.empty()) return MDB_SUCCESS;
            if ((rc = tags.forget(txn, key.view(), gone, error)) == MDB_SUCCESS && gone) ++count.tags;
            return rc;
        }
        case PurgeTarget::Kind::repository: {
            // Every record of the repository sorts right after "repository \0".
            std::string prefix(repository);
            prefix.push_back('\0');
            if ((rc = links.forget_repository(txn, prefix, contents, count.blob_links, error)) != MDB_SUCCESS ||
                (rc = manifests.forget_repository(txn, prefix, count.manifest_links, error)) != MDB_SUCCESS) {
                return rc;
            }
            return tags.forget_repository(txn, prefix, count.tags, error);
        }
    }
    return rc;
}

bool Store::purge(const std::vector<std::string>& repositories, const PurgeTarget& target, PurgeCount& count,
                  std::vector<std::string>& removed_bodies, std::string& error) noexcept {
    count = PurgeCount{};
    removed_bodies.clear();
    int rc;
    store::WriteTxn txn = impl_->env->begin_write(rc, error);
    if (rc != MDB_SUCCESS) return false;
    try {
        std::uint64_t manifest_bodies_before = 0, manifest_bodies_after = 0;
        if ((rc = impl_->manifests.bodies_held(txn.get(), manifest_bodies_before, error)) != MDB_SUCCESS) return false;
        std::vector<std::string> contents;
        for (const std::string& repository : repositories) {
            if ((rc = impl_->purge_in(txn.get(), repository, target, count, contents, error)) != MDB_SUCCESS) {
                return false;
            }
        }
        if ((rc = impl_->manifests.bodies_held(txn.get(), manifest_bodies_after, error)) != MDB_SUCCESS) return false;
        count.manifest_bodies = manifest_bodies_before - manifest_bodies_after;
        // A body goes once no link of any repository, in any namespace, names its digest. Only
        // digests whose body is held are worth the pass over every link that tells (most
        // purges and notified deletes name none, and then cost no pass at all).
        std::vector<std::string> held;
        for (std::string& content : contents) {
            BodyRecord record;
            switch (impl_->bodies.read(txn.get(), content, record, &error)) {
                case LookupStatus::hit:
                    held.push_back(std::move(content));
                    break;
                case LookupStatus::miss:
                    break;
                case LookupStatus::error:
                    return false;
            }
        }
        contents = std::move(held);
        if ((rc = impl_->links.keep_unlinked(txn.get(), contents, error)) != MDB_SUCCESS) return false;
        for (const std::string& content : contents) {
            bool gone = false;
            if ((rc = impl_->bodies.forget(txn.get(), content, gone, error)) != MDB_SUCCESS) return false;
            if (!gone) continue;
            char text[max_digest_length];
            const std::size_t length = digest_text_of_content_key(content, text);
            removed_bodies.emplace_back(text, length);
            ++count.blob_bodies;
        }
    } catch (const std::bad_alloc&) {
        set_error(error, "registry cache store purge", "out of memory");
        return false;
    }
    if ((rc = txn.commit()) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_txn_commit", rc);
        count = PurgeCount{};
        removed_bodies.clear();
        return false;
    }
    return true;
}

bool Store::stats(StoreStats& out, std::string& error) noexcept {
    store::ReadScope read = impl_->env->read();
    if (read.get() == nullptr) {
        set_lmdb_error(error, "mdb_txn_renew", read.rc());
        return false;
    }
    std::uint64_t links = 0, manifest_links = 0, manifest_bodies = 0, tags = 0, used = 0, size = 0;
    std::uint64_t blob_bodies = 0, blob_body_bytes = 0;
    if (!impl_->links.count(read.get(), links, error) ||
        !impl_->manifests.count(read.get(), manifest_links, manifest_bodies, error) ||
        !impl_->tags.count(read.get(), tags, error) ||
        !impl_->bodies.totals(read.get(), blob_body_bytes, blob_bodies, error) ||
        !impl_->env->map_usage(used, size, error)) {
        return false;
    }
    out.links = links;
    out.manifest_links = manifest_links;
    out.manifest_bodies = manifest_bodies;
    out.tags = tags;
    out.blob_bodies = blob_bodies;
    out.blob_body_bytes = blob_body_bytes;
    out.map_used = used;
    out.map_size = size;
    return true;
}

void Store::release_reader() noexcept { impl_->env->release_reader(); }

int Store::clear_stale_readers() noexcept { return impl_->env->clear_stale_readers(); }

}  // namespace registry_cache
