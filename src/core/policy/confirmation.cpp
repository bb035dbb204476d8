#include "registry_cache/policy/confirmation.h"

namespace registry_cache {

bool is_redirect(int status) noexcept {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool confirms_held(bool blob, const HeadAnswer &answer, std::string_view held, long long held_size) noexcept {
    if (answer.status == 200) {
        if (answer.digest == held) return true;
        return blob && answer.digest.empty() && answer.after_redirect && held_size >= 0 &&
               answer.content_length == held_size;
    }
    // A permanent redirect says the URL moved, not where the registry keeps the blob.
    return blob && (answer.status == 302 || answer.status == 303 || answer.status == 307);
}

}  // namespace registry_cache
