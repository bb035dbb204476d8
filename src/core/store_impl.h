// What a Store holds (private to the core): its Environment and the tables in it, shared by
// store.cpp (lookups, writes, purges) and store_walk.cpp (what an operator's tool reads).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "registry_cache/store.h"
#include "registry_cache/store/blob_bodies.h"
#include "registry_cache/store/blob_links.h"
#include "registry_cache/store/environment.h"
#include "registry_cache/store/manifests.h"
#include "registry_cache/store/recent_reads.h"
#include "registry_cache/store/tags.h"
#include "registry_cache/store/upstream_answers.h"

namespace registry_cache {

using store::Environment;

struct Store::Impl {
    std::unique_ptr<Environment> env;
    store::BlobLinks links;
    store::Manifests manifests;
    store::Tags tags;
    store::UpstreamAnswers upstream_answers;
    store::BlobBodies bodies;
    // Manifest and tag lookups answered again while nothing is committed.
    store::RecentReads<ManifestLookup> recent_manifests;
    store::RecentReads<TaggedLookup> recent_tags;

    // The handle of one of the tables an operator's tool walks.
    MDB_dbi dbi_of(StoreTable table) const noexcept;
    // Evicts from every table of links; true when something went.
    bool evict(std::uint64_t& count, std::string& error) noexcept;
    int write(const std::vector<StoreWrite>& batch, std::string& error,
              std::uint64_t& unchanged, std::uint64_t& unchanged_manifests) noexcept;
    // One repository's part of a purge, in `txn`; the content keys of the blob links that
    // went are added to `contents`.
    int purge_in(MDB_txn* txn, std::string_view repository, const PurgeTarget& target, PurgeCount& count,
                 std::vector<std::string>& contents, std::string& error);
};

}  // namespace registry_cache
