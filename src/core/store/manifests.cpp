#include "registry_cache/store/manifests.h"
#include "read_record.h"

#include <cstring>
#include <memory>
#include <new>

#include "registry_cache/keys.h"
#include "registry_cache/store/link_table.h"

namespace registry_cache {

bool ManifestBytes::assign(std::string_view bytes) noexcept {
    try {
        bytes_ = std::make_shared<const std::string>(bytes.data(), bytes.size());
        return true;
    } catch (const std::bad_alloc&) {
        bytes_.reset();
        return false;
    }
}

}  // namespace registry_cache

namespace registry_cache::store {
namespace {

constexpr unsigned char body_version = 1;
constexpr std::size_t body_header = 1 + 4;  // version, links

// The body and its count of links, when the record is one this code wrote.
bool parse_body(std::string_view record, std::uint32_t& links, std::string_view& body) noexcept {
    if (record.size() <= body_header || static_cast<unsigned char>(record[0]) != body_version) {
        return false;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(record.data()) + 1;
    links = static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
            static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
    body = record.substr(body_header);
    return links != 0;
}

std::string body_record(std::uint32_t links, std::string_view body) {
    std::string out;
    out.reserve(body_header + body.size());
    out.push_back(static_cast<char>(body_version));
    for (int shift = 0; shift < 32; shift += 8) {
        out.push_back(static_cast<char>((links >> shift) & 0xff));
    }
    out.append(body.data(), body.size());
    return out;
}

// A link key is "repository \0 content key": the content key is what follows the first NUL.
// The content key a manifest link names (past its repository and any namespace).
MDB_val content_of_link(const MDB_val& link) noexcept {
    const std::string_view content =
        content_key_of_link(std::string_view(static_cast<const char*>(link.mv_data), link.mv_size));
    return MDB_val{content.size(), const_cast<char*>(content.data())};
}

}  // namespace

bool Manifests::decode_body(std::string_view record, std::uint32_t& links, std::string_view& body) noexcept {
    return parse_body(record, links, body);
}

int Manifests::open(Environment& env, WriteTxn& txn, std::string& error) noexcept {
    const int rc = env.open_table(txn, links_table, links_, error);
    if (rc != MDB_SUCCESS) return rc;
    return env.open_table(txn, bodies_table, bodies_, error);
}

LookupStatus Manifests::read(MDB_txn* txn, std::string_view repository, const Digest& digest,
                             LinkRecord& link, ManifestBytes& body,
                             std::string* error) const noexcept {
    // One key built: the body's is the link's tail (keys.h).
    const Key link_k = link_key(repository, digest);
    if (link_k.empty()) return LookupStatus::miss;
    LinkRecord record;
    const LookupStatus linked = read_record(txn, links_, link_k.view(), links_table, record, error,
                                            [](std::string_view bytes, LinkRecord& r) { return decode(bytes, r); });
    if (linked != LookupStatus::hit) return linked;

    MDB_val key = to_val(content_key_in(link_k, repository));
    MDB_val value;
    int rc = mdb_get(txn, bodies_, &key, &value);
    if (rc == MDB_NOTFOUND) return LookupStatus::miss;
    if (rc != MDB_SUCCESS) {
        if (error != nullptr) set_lmdb_error(*error, "mdb_get(manifest_bodies)", rc);
        return LookupStatus::error;
    }
    std::uint32_t links = 0;
    std::string_view bytes;
    if (!parse_body(to_view(value), links, bytes) || bytes.size() != record.size) {
        if (error != nullptr) set_error(*error, bodies_table, "damaged record");
        return LookupStatus::error;
    }
    if (!body.assign(bytes)) {
        if (error != nullptr) set_error(*error, "registry cache manifest lookup", "out of memory");
        return LookupStatus::error;
    }
    link = record;
    return LookupStatus::hit;
}

int Manifests::hold(MDB_txn* txn, const MDB_val& content, int delta, std::string_view body,
                    std::string& error) const {
    MDB_val key = content;
    MDB_val value;
    int rc = mdb_get(txn, bodies_, &key, &value);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        set_lmdb_error(error, "mdb_get(manifest_bodies)", rc);
        return rc;
    }
    std::uint32_t links = 0;
    std::string_view held;
    const bool present = rc == MDB_SUCCESS && parse_body(to_view(value), links, held);
    std::string record;
    if (present) {
        if (delta < 0 && links <= 1) {
            if ((rc = mdb_del(txn, bodies_, &key, nullptr)) != MDB_SUCCESS) {
                set_lmdb_error(error, "mdb_del(manifest_bodies)", rc);
            }
            return rc;
        }
        if (delta == 0) return MDB_SUCCESS;
        record = body_record(delta > 0 ? links + 1 : links - 1, held);
    } else if (delta < 0 || body.empty()) {
        // Nothing to give back, or nothing to put: a record this code cannot read goes.
        if (rc == MDB_SUCCESS && (rc = mdb_del(txn, bodies_, &key, nullptr)) != MDB_SUCCESS) {
            set_lmdb_error(error, "mdb_del(manifest_bodies)", rc);
            return rc;
        }
        return MDB_SUCCESS;
    } else {
        record = body_record(1, body);
    }
    MDB_val put = to_val(record);
    if ((rc = mdb_put(txn, bodies_, &key, &put, 0)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_put(manifest_bodies)", rc);
    }
    return rc;
}

int Manifests::apply(MDB_txn* txn, const StoreWrite& w, std::string& error, bool& kept) const {
    kept = true;
    const Digest digest = parse_digest(w.digest).digest;
    const Key link = link_key(w.repository, digest);
    MDB_val link_k = to_val(link.view());
    const MDB_val content_k = to_val(content_key_in(link, w.repository));

    MDB_val existing;
    int rc = mdb_get(txn, links_, &link_k, &existing);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        set_lmdb_error(error, "mdb_get(manifest_links)", rc);
        return rc;
    }
    const bool linked = rc == MDB_SUCCESS;

    if (w.kind == StoreWrite::Kind::clear_link) {
        if (!linked) return MDB_SUCCESS;
        if ((rc = mdb_del(txn, links_, &link_k, nullptr)) != MDB_SUCCESS) {
            set_lmdb_error(error, "mdb_del(manifest_links)", rc);
            return rc;
        }
        return hold(txn, content_k, -1, {}, error);
    }

    bool keep_public = false;
    if ((rc = keeps_public_link(txn, links_, links_table, link_k, w, keep_public, error)) != MDB_SUCCESS) {
        return rc;
    }
    if (keep_public) {
        kept = false;
        return MDB_SUCCESS;
    }
    // A new link holds the body once more; an existing one already holds it (and puts it
    // back if it went missing).
    if ((rc = hold(txn, content_k, linked ? 0 : 1, w.body, error)) != MDB_SUCCESS) return rc;
    return put_link_record(txn, links_, links_table, link_k, w, error);
}

int Manifests::evict_oldest(Environment& env, std::uint64_t& evicted,
                            std::string& error) const noexcept {
    return evict_oldest_tenth(env, links_, links_table, evicted, error,
                              [this](MDB_txn* txn, const MDB_val& link, std::string& e) {
                                  return hold(txn, content_of_link(link), -1, {}, e);
                              });
}

bool Manifests::count(MDB_txn* txn, std::uint64_t& links, std::uint64_t& bodies,
                      std::string& error) const noexcept {
    MDB_stat st;
    int rc = mdb_stat(txn, links_, &st);
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_stat(manifest_links)", rc);
        return false;
    }
    links = st.ms_entries;
    if ((rc = mdb_stat(txn, bodies_, &st)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_stat(manifest_bodies)", rc);
        return false;
    }
    bodies = st.ms_entries;
    return true;
}

int Manifests::forget(MDB_txn* txn, std::string_view key, bool& gone, std::string& error) const noexcept {
    return delete_key(
        txn, links_, links_table, key,
        [this](MDB_txn* t, const MDB_val& link, std::string& e) { return hold(t, content_of_link(link), -1, {}, e); },
        gone, error);
}

int Manifests::forget_repository(MDB_txn* txn, std::string_view prefix, std::uint64_t& count,
                                 std::string& error) const noexcept {
    return delete_with_prefix(
        txn, links_, links_table, prefix,
        [this](MDB_txn* t, const MDB_val& link, std::string& e) { return hold(t, content_of_link(link), -1, {}, e); },
        count, error);
}

int Manifests::bodies_held(MDB_txn* txn, std::uint64_t& bodies, std::string& error) const noexcept {
    MDB_stat st;
    const int rc = mdb_stat(txn, bodies_, &st);
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_stat(manifest_bodies)", rc);
        return rc;
    }
    bodies = st.ms_entries;
    return MDB_SUCCESS;
}

}  // namespace registry_cache::store

