#include "registry_cache/media_types.h"

#include <array>

namespace registry_cache {
namespace {

// Stored in records: append only, never reorder or remove (a code read back must mean what
// it meant when written). Code k is entry k - 1.
constexpr std::array<std::string_view, 16> table = {
    // distribution answers every blob HEAD with this one.
    "application/octet-stream",
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.empty.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
};

}  // namespace

std::uint8_t known_media_type_code(std::string_view text) noexcept {
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (table[i] == text) return static_cast<std::uint8_t>(i + 1);
    }
    return 0;
}

std::string_view known_media_type(std::uint8_t code) noexcept {
    if (code == 0 || code > table.size()) return {};
    return table[code - 1];
}

}  // namespace registry_cache
