#include "registry_cache/auth/json.h"

#include <cerrno>
#include <cstdlib>

namespace registry_cache::json {

namespace {

class Reader {
public:
    explicit Reader(std::string_view text) : s_(text) {}

    bool document(Value& out) {
        skip_space();
        if (!value(out, 0)) return false;
        skip_space();
        return pos_ == s_.size() || fail("text after the value");
    }

    std::string error;

private:
    bool fail(const char* why) {
        error = std::string(why) + " at byte " + std::to_string(pos_);
        return false;
    }

    void skip_space() noexcept {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
            ++pos_;
        }
    }

    bool literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return fail("an invalid literal");
        pos_ += word.size();
        return true;
    }

    bool value(Value& out, std::size_t depth) {
        if (pos_ >= s_.size()) return fail("a missing value");
        switch (s_[pos_]) {
            case '{': return object(out, depth + 1);
            case '[': return array(out, depth + 1);
            case '"': out.type = Type::string; return string(out.text);
            case 't': out.type = Type::boolean; out.boolean = true; return literal("true");
            case 'f': out.type = Type::boolean; out.boolean = false; return literal("false");
            case 'n': out.type = Type::null; return literal("null");
            default: out.type = Type::number; return number(out.text);
        }
    }

    bool object(Value& out, std::size_t depth) {
        if (depth > max_depth) return fail("nesting too deep");
        out.type = Type::object;
        ++pos_;
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == '}') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_space();
            if (pos_ >= s_.size() || s_[pos_] != '"') return fail("an object key that is not a string");
            std::string key;
            if (!string(key)) return false;
            // (a bound, too, on the quadratic search for duplicates)
            if (out.members.size() >= max_members) return fail("too many object members");
            if (out.find(key) != nullptr) return fail("a duplicate object key");
            skip_space();
            if (pos_ >= s_.size() || s_[pos_] != ':') return fail("a missing ':'");
            ++pos_;
            skip_space();
            out.members.emplace_back(std::move(key), Value{});
            if (!value(out.members.back().second, depth)) return false;
            skip_space();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == '}') {
                ++pos_;
                return true;
            }
            return fail("a missing ',' or '}'");
        }
    }

    bool array(Value& out, std::size_t depth) {
        if (depth > max_depth) return fail("nesting too deep");
        out.type = Type::array;
        ++pos_;
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == ']') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_space();
            out.items.emplace_back();
            if (!value(out.items.back(), depth)) return false;
            skip_space();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == ']') {
                ++pos_;
                return true;
            }
            return fail("a missing ',' or ']'");
        }
    }

    static bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

    bool number(std::string& out) {
        const std::size_t start = pos_;
        if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
        if (pos_ >= s_.size() || !digit(s_[pos_])) return fail("an invalid value");
        if (s_[pos_] == '0') {
            ++pos_;
        } else {
            while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
        }
        if (pos_ < s_.size() && s_[pos_] == '.') {
            ++pos_;
            if (pos_ >= s_.size() || !digit(s_[pos_])) return fail("a number without digits after '.'");
            while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
            if (pos_ >= s_.size() || !digit(s_[pos_])) return fail("a number without exponent digits");
            while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
        }
        out.assign(s_.substr(start, pos_ - start));
        return true;
    }

    static void put_utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    bool hex4(std::uint32_t& out) {
        if (s_.size() - pos_ < 4) return fail("a short \\u escape");
        out = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = s_[pos_++];
            out <<= 4;
            if (c >= '0' && c <= '9') out |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') out |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') out |= static_cast<std::uint32_t>(c - 'A' + 10);
            else return fail("an invalid \\u escape");
        }
        return true;
    }

    // One UTF-8 sequence starting at pos_, copied; false for an invalid one (overlong,
    // surrogates, beyond U+10FFFF, cut short).
    bool utf8(std::string& out) {
        const auto b0 = static_cast<unsigned char>(s_[pos_]);
        std::size_t n;
        std::uint32_t cp;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            n = 1;
            cp = b0 & 0x1F;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            n = 2;
            cp = b0 & 0x0F;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            n = 3;
            cp = b0 & 0x07;
        } else {
            return fail("invalid UTF-8");
        }
        if (s_.size() - pos_ <= n) return fail("invalid UTF-8");
        for (std::size_t i = 1; i <= n; ++i) {
            const auto b = static_cast<unsigned char>(s_[pos_ + i]);
            if ((b & 0xC0) != 0x80) return fail("invalid UTF-8");
            cp = (cp << 6) | (b & 0x3F);
        }
        const std::uint32_t least[] = {0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return fail("invalid UTF-8");
        out.append(s_.substr(pos_, n + 1));
        pos_ += n + 1;
        return true;
    }

    bool string(std::string& out) {
        ++pos_;  // the opening quote
        for (;;) {
            if (pos_ >= s_.size()) return fail("an unterminated string");
            const auto c = static_cast<unsigned char>(s_[pos_]);
            if (c == '"') {
                ++pos_;
                return true;
            }
            if (c < 0x20) return fail("a control character in a string");
            if (c >= 0x80) {
                if (!utf8(out)) return false;
                continue;
            }
            if (c != '\\') {
                out += static_cast<char>(c);
                ++pos_;
                continue;
            }
            if (++pos_ >= s_.size()) return fail("an unterminated escape");
            const char e = s_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    std::uint32_t cp = 0;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("a lone low surrogate");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        std::uint32_t low = 0;
                        if (s_.substr(pos_, 2) != "\\u") return fail("a lone high surrogate");
                        pos_ += 2;
                        if (!hex4(low)) return false;
                        if (low < 0xDC00 || low > 0xDFFF) return fail("a lone high surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    put_utf8(out, cp);
                    break;
                }
                default: return fail("an invalid escape");
            }
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

}  // namespace

const Value* Value::find(std::string_view key) const noexcept {
    if (type != Type::object) return nullptr;
    for (const auto& m : members) {
        if (m.first == key) return &m.second;
    }
    return nullptr;
}

bool Value::as_int64(std::int64_t& out) const noexcept {
    if (type != Type::number || text.empty() || text.size() > 20) return false;
    for (std::size_t i = text[0] == '-' ? 1 : 0; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
    }
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || end != text.c_str() + text.size()) return false;
    out = v;
    return true;
}

bool parse(std::string_view text, Value& out, std::string& error) {
    Reader reader(text);
    out = Value{};
    if (reader.document(out)) return true;
    error = reader.error;
    return false;
}

}  // namespace registry_cache::json
