#include "registry_cache/policy/confirmation.h"

namespace registry_cache {

bool is_redirect(int status) noexcept {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool confirms_held(bool blob, int status, std::string_view answered_digest, std::string_view held) noexcept {
    if (status == 200) {
        return answered_digest == held || (blob && answered_digest.empty());
    }
    // A permanent redirect says the URL moved, not where the registry keeps the blob.
    return blob && (status == 302 || status == 303 || status == 307);
}

}  // namespace registry_cache
