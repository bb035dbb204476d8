// Single flight: when many requests miss on the same (repository, digest) at once, one of
// them (the leader) asks the upstream and the others (followers) wait for its outcome, as
// nginx's proxy_cache_lock does for its cache. The table lives in shared memory so that
// followers in every worker see the leader of any worker; callers hold the zone's lock
// around every call. Plain data, no pointers: it is mapped at different addresses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace registry_cache {

enum class FlightState : std::uint8_t {
    none,          // nobody is asking the upstream: ask it yourself
    in_flight,     // the leader is asking: wait
    recorded,      // the leader's answer was committed: look the store up again
    not_recorded,  // the leader learned nothing: ask the upstream yourself
    // The leader's client left before the upstream's answer came (its question went with
    // it): the first follower to look leads again and the rest follow it, so that a client
    // that gives up does not send all of its followers upstream at once.
    abandoned
};

struct FlightSlot {
    std::uint64_t key;      // flight_key(); 0 is never a key
    std::int64_t expires;   // seconds; an expired slot is free
    std::uint64_t lead;     // which claim leads it (Claimed::lead): only that one lands it
    FlightState state;
};

// A key lives in one of the `flight_probe` slots from its home (key % flight_slots): a claim,
// a look and a landing each read those alone, so that the table can hold the flights of a
// fleet's rollout (a body's flight lasts its whole transfer) at the cost of a scan of 32.
inline constexpr std::size_t flight_slots = 256;
inline constexpr std::size_t flight_probe = 32;

struct FlightTable {
    FlightSlot slots[flight_slots];
    std::uint64_t leads;  // the last lead given; each claim that leads takes the next
};

enum class Claim {
    leader,    // the caller asks the upstream and must land() the flight
    follower,  // someone else asks: wait for the outcome
    full       // no free slot near the key's home: the caller asks the upstream without a flight
};

// A leader's hold on its flight. A process may lead the same key again once its first flight
// expired (a transfer longer than the flight's time, say), so the leader is the claim, not
// the process: a landing that comes after its flight was taken over lands nothing.
struct Claimed {
    Claim role;
    std::uint64_t lead;  // non-zero when role is leader: what land() takes
};

// What a leader keeps until it lands: its flight's key and its claim's lead.
struct FlightLead {
    std::uint64_t key = 0;   // 0: no flight
    std::uint64_t lead = 0;
};

// A non-zero 64-bit FNV-1a of "repository\0question": the question a flight asks upstream
// (a digest, or what the caller names: "revalidate tag 1.0", "manifest <digest> ...").
std::uint64_t flight_key(std::string_view repository, std::string_view question) noexcept;

// Joins the flight of `key`, or starts it. A flight that lands no answer by `now + ttl`
// (its leader died, say) expires and may be started again.
Claimed claim(FlightTable& table, std::uint64_t key, std::int64_t now, std::int64_t ttl) noexcept;

FlightState look(const FlightTable& table, std::uint64_t key, std::int64_t now) noexcept;

// The leader's outcome (recorded, not_recorded or abandoned); followers see it until
// `now + linger`, then the slot is free again (at once for not_recorded, which followers
// read as they read a free slot). `lead`: what the leader's claim gave.
void land(FlightTable& table, std::uint64_t key, std::uint64_t lead, FlightState outcome,
          std::int64_t now, std::int64_t linger) noexcept;

}  // namespace registry_cache
