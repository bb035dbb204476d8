#include "registry_cache/flight.h"

namespace registry_cache {
namespace {

bool is_live(const FlightSlot& s, std::int64_t now) noexcept {
    return s.key != 0 && s.expires > now;
}

// The slots where `key` may live, in order: flight_probe of them from its home.
template <class Table, class Visit>
auto* each_near(Table& table, std::uint64_t key, Visit visit) noexcept {
    const std::size_t home = static_cast<std::size_t>(key % flight_slots);
    for (std::size_t i = 0; i < flight_probe; ++i) {
        auto& s = table.slots[(home + i) % flight_slots];
        if (visit(s)) return &s;
    }
    return static_cast<decltype(&table.slots[0])>(nullptr);
}

FlightSlot* find(FlightTable& table, std::uint64_t key, std::int64_t now) noexcept {
    return each_near(table, key, [&](const FlightSlot& s) { return s.key == key && is_live(s, now); });
}

}  // namespace

std::uint64_t flight_key(std::string_view repository, std::string_view question) noexcept {
    std::uint64_t h = 14695981039346656037ull;
    auto mix = [&h](unsigned char c) {
        h ^= c;
        h *= 1099511628211ull;
    };
    for (char c : repository) mix(static_cast<unsigned char>(c));
    mix(0);
    for (char c : question) mix(static_cast<unsigned char>(c));
    return h == 0 ? 1 : h;
}

Claimed claim(FlightTable& table, std::uint64_t key, std::int64_t now, std::int64_t ttl) noexcept {
    FlightSlot* s = find(table, key, now);
    // A landed flight without a record, or abandoned, leaves the next to start a new one.
    if (s != nullptr && (s->state == FlightState::in_flight || s->state == FlightState::recorded)) {
        return {Claim::follower, 0};
    }
    if (s == nullptr) {
        s = each_near(table, key, [&](const FlightSlot& slot) { return !is_live(slot, now); });
        if (s == nullptr) return {Claim::full, 0};
    }
    if (++table.leads == 0) ++table.leads;  // 0 is no lead
    *s = FlightSlot{key, now + ttl, table.leads, FlightState::in_flight};
    return {Claim::leader, table.leads};
}

FlightState look(const FlightTable& table, std::uint64_t key, std::int64_t now) noexcept {
    const FlightSlot* s = each_near(table, key, [&](const FlightSlot& s) { return s.key == key && is_live(s, now); });
    return s != nullptr ? s->state : FlightState::none;
}

void land(FlightTable& table, std::uint64_t key, std::uint64_t lead, FlightState outcome,
          std::int64_t now, std::int64_t linger) noexcept {
    FlightSlot* s = find(table, key, now);
    // Only the leader lands its flight; a flight that expired and was restarted by
    // another claim (of any process, this one too) is not this one's to land. A flight
    // lands as an outcome, never in flight again (its followers would wait for nobody).
    if (s == nullptr || lead == 0 || s->lead != lead || s->state != FlightState::in_flight) return;
    if (outcome == FlightState::in_flight || outcome == FlightState::none) outcome = FlightState::not_recorded;
    s->state = outcome;
    // Nothing recorded frees the slot at once: its followers read a free slot as they read
    // not_recorded (each asks for itself), and requests that fail (a name nobody holds) then
    // cannot keep the table full.
    s->expires = outcome == FlightState::not_recorded ? now : now + linger;
}

}  // namespace registry_cache
