#include "registry_cache/policy/body_check.h"

#include "registry_cache/digest.h"

namespace registry_cache {
namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool equals_lowercase(std::string_view s, std::string_view lower) noexcept {
    if (s.size() != lower.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower[i]) return false;
    }
    return true;
}

// The digest the body must hash to, or empty when nothing names one the cache can check.
std::string_view expected_digest(const Route& route, std::string_view docker_content_digest) noexcept {
    if (route.kind != RouteKind::blob && route.kind != RouteKind::manifest) return {};
    if (route.by_digest) {
        // The URL decides, whatever Docker-Content-Digest claims.
        return is_cacheable(route.digest.algorithm) ? route.reference : std::string_view{};
    }
    // A manifest by tag: the upstream says which digest it is sending; hold it to that.
    DigestParse claimed = parse_digest(docker_content_digest);
    return claimed.status == DigestStatus::ok && is_cacheable(claimed.digest.algorithm)
               ? docker_content_digest
               : std::string_view{};
}

}  // namespace

bool changes_bytes(std::string_view content_encoding) noexcept {
    while (!content_encoding.empty()) {
        std::size_t comma = content_encoding.find(',');
        std::string_view coding = trim(content_encoding.substr(0, comma));
        content_encoding = comma == std::string_view::npos ? std::string_view{}
                                                           : content_encoding.substr(comma + 1);
        if (!coding.empty() && !equals_lowercase(coding, "identity")) return true;
    }
    return false;
}

StatusChange status_change(int upstream, int outgoing, bool client_asked_range) noexcept {
    if (outgoing == 0 || outgoing == upstream) return StatusChange::none;
    if (outgoing < 200 || outgoing > 299 || outgoing == 204 ||
        (outgoing == 206 && client_asked_range)) {
        return StatusChange::no_whole_body;
    }
    return StatusChange::reshaped;
}

std::string_view describe(BodyCheck check) noexcept {
    switch (check) {
        case BodyCheck::pass: return "passed";
        case BodyCheck::verify: return "verified";
        case BodyCheck::refuse_encoded:
            return "the upstream's body is encoded (Content-Encoding), so it cannot be checked "
                   "against its digest";
        case BodyCheck::refuse_unframed:
            return "this client's protocol could not tell a body that fails verification from a "
                   "complete one; use HTTP/1.1 or HTTP/2";
        case BodyCheck::refuse_reshaped:
            return "a filter of the location changed the upstream's status (slice?), so the body "
                   "cannot be checked against its digest";
    }
    return "";
}

BodyPlan plan_body(const Route& route, const BodyExchange& exchange) noexcept {
    BodyPlan plan;
    // 204 has no body; 1xx, 3xx and errors are not the object.
    if (exchange.method != Method::get || exchange.status < 200 || exchange.status > 299 ||
        exchange.status == 204 || (exchange.status == 206 && exchange.client_asked_range)) {
        return plan;
    }
    plan.expected = expected_digest(route, exchange.docker_content_digest);
    if (plan.expected.empty()) return plan;
    switch (status_change(exchange.status, exchange.outgoing_status, exchange.client_asked_range)) {
        case StatusChange::none:
            break;
        case StatusChange::no_whole_body:
            plan.expected = {};  // nothing to judge
            return plan;
        case StatusChange::reshaped:
            plan.check = BodyCheck::refuse_reshaped;
            return plan;
    }
    if (exchange.encoded) {
        plan.check = BodyCheck::refuse_encoded;
    } else if (exchange.framing == ClientFraming::sees_no_cut ||
               (exchange.framing == ClientFraming::sees_cut_with_length && exchange.content_length < 0)) {
        plan.check = BodyCheck::refuse_unframed;
    } else {
        plan.check = BodyCheck::verify;
        plan.teaches = exchange.status == 200;
    }
    return plan;
}

}  // namespace registry_cache
