// RFC 3339 date-times, read (rfc3339.h). No timegm(): the core stays free of the C library's
// time zone state, and a day that does not exist is refused, not rolled over.
#include "registry_cache/rfc3339.h"

namespace registry_cache {
namespace {

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) noexcept {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

bool leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
std::int64_t days_from_civil(int y, int m, int d) noexcept {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;
    const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

}  // namespace

bool parse_rfc3339(std::string_view s, std::int64_t& seconds, std::int32_t* nanoseconds) noexcept {
    int year, month, day, hour, minute, second;
    if (s.size() < 20 || !digits(s, 0, 4, year) || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
        !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, hour) || s[13] != ':' ||
        !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second)) {
        return false;
    }
    static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1 ||
        day > month_days[month - 1] + (month == 2 && leap(year) ? 1 : 0) || hour > 23 || minute > 59 || second > 60) {
        return false;
    }
    std::size_t at = 19;
    std::int32_t fraction = 0;
    if (s[at] == '.') {
        std::size_t n = 0;
        for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, ++n) {
            if (n < 9) fraction = fraction * 10 + (s[at] - '0');
        }
        if (n == 0) return false;
        for (; n < 9; ++n) fraction *= 10;
    }
    std::int64_t offset = 0;  // seconds east of UTC
    if (at + 1 == s.size() && (s[at] == 'Z' || s[at] == 'z')) {
        ++at;
    } else {
        int oh, om;
        if (at + 6 != s.size() || (s[at] != '+' && s[at] != '-') || !digits(s, at + 1, 2, oh) || s[at + 3] != ':' ||
            !digits(s, at + 4, 2, om) || oh > 23 || om > 59) {
            return false;
        }
        offset = (s[at] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    }
    seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    if (nanoseconds != nullptr) *nanoseconds = fraction;
    return true;
}

}  // namespace registry_cache
