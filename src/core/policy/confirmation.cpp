#include "registry_cache/policy/confirmation.h"

namespace registry_cache {

bool is_redirect(int status) noexcept {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool confirms_held(bool blob, const HeadAnswer &answer, std::string_view held, long long held_size) noexcept {
    // A redirect not followed says where to look, not what is there: a registry sends a
    // session that ran out to its login page so too.
    if (answer.status != 200) return false;
    if (answer.digest == held) return true;
    return blob && answer.digest.empty() && answer.after_redirect && held_size >= 0 &&
           answer.content_length == held_size;
}

}  // namespace registry_cache
