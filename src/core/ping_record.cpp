#include "registry_cache/ping_record.h"

#include "record_bytes.h"
#include "registry_cache/upstream_namespace.h"

namespace registry_cache {
namespace {

bool printable(std::string_view value) noexcept {
    for (const char c : value) {
        if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
}

constexpr std::size_t challenge_at = 1 + 2 + 8 + 2;

}  // namespace

bool is_ping_host(std::string_view stored) noexcept {
    std::string_view ns, host;
    if (!split_namespace(stored, ns, host)) return false;
    if (host.empty() || host.size() > max_ping_host) return false;
    for (const char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                        c == ':' || c == '[' || c == ']';
        if (!ok) return false;
    }
    return true;
}

bool is_replayable_ping(int status, std::string_view www_authenticate,
                        std::string_view api_version) noexcept {
    return (status == 200 || status == 401) && www_authenticate.size() <= max_ping_challenge &&
           api_version.size() <= max_ping_api_version && printable(www_authenticate) &&
           printable(api_version);
}

bool same_answer(const PingRecord& a, const PingRecord& b) noexcept {
    return a.status == b.status && a.www_authenticate == b.www_authenticate &&
           a.api_version == b.api_version;
}

std::string encode(const PingRecord& record) {
    if (!is_replayable_ping(record.status, record.www_authenticate, record.api_version)) return {};
    std::string out;
    out.reserve(challenge_at + record.www_authenticate.size() + 1 + record.api_version.size());
    out.push_back(static_cast<char>(ping_record_version));
    out.push_back(static_cast<char>(record.status & 0xff));
    out.push_back(static_cast<char>(record.status >> 8));
    record_bytes::put_u64(out, record.stored_at);
    out.push_back(static_cast<char>(record.www_authenticate.size() & 0xff));
    out.push_back(static_cast<char>(record.www_authenticate.size() >> 8));
    out += record.www_authenticate;
    out.push_back(static_cast<char>(record.api_version.size()));
    out += record.api_version;
    return out;
}

DecodeStatus decode(std::string_view bytes, PingRecord& out) {
    if (bytes.empty()) return DecodeStatus::damaged;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    if (p[0] != ping_record_version) return DecodeStatus::unknown_version;
    if (bytes.size() < challenge_at + 1) return DecodeStatus::damaged;
    const int status = p[1] | (p[2] << 8);
    const std::size_t challenge = p[11] | (static_cast<std::size_t>(p[12]) << 8);
    if (bytes.size() < challenge_at + challenge + 1) return DecodeStatus::damaged;
    const std::size_t version = p[challenge_at + challenge];
    if (bytes.size() != challenge_at + challenge + 1 + version) return DecodeStatus::damaged;
    const std::string_view www_authenticate = bytes.substr(challenge_at, challenge);
    const std::string_view api_version = bytes.substr(challenge_at + challenge + 1, version);
    if (!is_replayable_ping(status, www_authenticate, api_version)) return DecodeStatus::damaged;
    PingRecord record;
    record.status = status;
    record.stored_at = record_bytes::get_u64(p + 3);
    record.www_authenticate.assign(www_authenticate);
    record.api_version.assign(api_version);
    out = std::move(record);
    return DecodeStatus::ok;
}

}  // namespace registry_cache
