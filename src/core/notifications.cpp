// Distribution's webhook envelope, read (notifications.h).
#include "registry_cache/notifications.h"

#include <limits>

#include "registry_cache/auth/json.h"
#include "registry_cache/deletions.h"
#include "registry_cache/digest.h"
#include "registry_cache/keys.h"
#include "registry_cache/reference.h"

namespace registry_cache {
namespace {

using json::Type;
using json::Value;

std::string_view text_of(const Value* v) noexcept {
    return v != nullptr && v->is_string() ? std::string_view(v->text) : std::string_view{};
}

bool printable(std::string_view s) noexcept {
    for (const char c : s) {
        if (c < '!' || c > '~') return false;
    }
    return true;
}

bool cacheable_digest(std::string_view text) noexcept {
    const DigestParse parsed = parse_digest(text);
    return parsed.status == DigestStatus::ok && !content_key(parsed.digest).empty();
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) noexcept {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
std::int64_t days_from_civil(int y, int m, int d) noexcept {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;
    const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

// What one event asks of the cache: false when nothing (`skip` set when it was invalid).
bool read_event(const Value& event, RegistryEvent& out, bool& skip) {
    skip = false;
    const Value* target = event.find("target");
    if (event.type != Type::object || target == nullptr || target->type != Type::object) {
        skip = true;
        return false;
    }
    const std::string_view action = text_of(event.find("action"));
    const std::string_view repository = text_of(target->find("repository"));
    const std::string_view digest = text_of(target->find("digest"));
    const std::string_view tag = text_of(target->find("tag"));
    const std::string_view url = text_of(target->find("url"));
    if (action != "delete" && action != "push" && action != "mount") return false;  // pull, and what may come
    if (!is_valid_name(repository) || (!digest.empty() && !cacheable_digest(digest)) ||
        (!tag.empty() && !is_valid_tag(tag))) {
        skip = true;
        return false;
    }
    out = RegistryEvent{};
    out.repository.assign(repository);
    if (!parse_event_time(text_of(event.find("timestamp")), out.at)) {
        out.at = action == "delete" ? deleted_at_unknown : pushed_at_unknown;
    }
    if (const Value* request = event.find("request")) {
        const std::string_view host = text_of(request->find("host"));
        if (printable(host)) out.host.assign(host);
    }
    if (action == "delete") {
        if (!tag.empty()) {
            out.action = RegistryEvent::Action::forget_tag;
            out.reference.assign(tag);
        } else if (!digest.empty()) {
            out.action = RegistryEvent::Action::forget_digest;
            out.reference.assign(digest);
        } else {
            out.action = RegistryEvent::Action::forget_repository;
        }
        return true;
    }
    // A push or a mount: of a manifest under a tag (the tag moved), or of a blob.
    if (!tag.empty()) {
        out.action = RegistryEvent::Action::forget_tag;
        out.reference.assign(tag);
        return true;
    }
    std::int64_t size = 0;
    const std::string_view media_type = text_of(target->find("mediaType"));
    const Value* size_value = target->find("size");
    const bool blob = url.find("/blobs/") != std::string_view::npos;
    if (!blob || digest.empty()) return false;  // a manifest by digest: nothing held goes stale
    if (size_value == nullptr || !size_value->as_int64(size) || size <= 0 || media_type.empty() ||
        media_type.size() > 255 || !printable(media_type)) {
        skip = true;
        return false;
    }
    out.action = RegistryEvent::Action::learn_blob;
    out.reference.assign(digest);
    out.media_type.assign(media_type);
    out.size = static_cast<std::uint64_t>(size);
    return true;
}

}  // namespace

bool parse_event_time(std::string_view s, std::int64_t& nanoseconds) noexcept {
    int year, month, day, hour, minute, second;
    if (s.size() < 20 || !digits(s, 0, 4, year) || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
        !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, hour) || s[13] != ':' ||
        !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second)) {
        return false;
    }
    static constexpr int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1970 || year > 2261 || month < 1 || month > 12 || day < 1 || day > month_days[month - 1] ||
        hour > 23 || minute > 59 || second > 60) {
        return false;
    }
    std::size_t at = 19;
    std::int64_t fraction = 0;
    if (s[at] == '.') {
        std::size_t n = 0;
        for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, ++n) {
            if (n >= 9) return false;
            fraction = fraction * 10 + (s[at] - '0');
        }
        if (n == 0) return false;
        for (; n < 9; ++n) fraction *= 10;
    }
    std::int64_t offset = 0;  // seconds east of UTC
    if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
        ++at;
    } else {
        int oh, om;
        if (at + 6 != s.size() || (s[at] != '+' && s[at] != '-') || !digits(s, at + 1, 2, oh) || s[at + 3] != ':' ||
            !digits(s, at + 4, 2, om) || oh > 23 || om > 59) {
            return false;
        }
        offset = (s[at] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        at += 6;
    }
    if (at != s.size()) return false;
    const std::int64_t seconds =
        days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    // Within what nanoseconds since the epoch hold.
    if (seconds < 0 || seconds > std::numeric_limits<std::int64_t>::max() / 1000000000 - 1) return false;
    nanoseconds = seconds * 1000000000 + fraction;
    return true;
}

bool read_registry_events(std::string_view text, std::vector<RegistryEvent>& out, std::size_t& skipped,
                          std::string& why) {
    out.clear();
    skipped = 0;
    Value doc;
    if (!json::parse(text, doc, why)) return false;
    const Value* events = doc.find("events");
    if (doc.type != Type::object || events == nullptr || events->type != Type::array) {
        why = "no \"events\" array";
        return false;
    }
    for (const Value& event : events->items) {
        RegistryEvent read;
        bool skip = false;
        if (read_event(event, read, skip)) {
            out.push_back(std::move(read));
        } else if (skip) {
            ++skipped;
        }
    }
    return true;
}

}  // namespace registry_cache
