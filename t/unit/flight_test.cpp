// The single-flight table: one leader per key, followers see its outcome, nothing sticks.
#include <gtest/gtest.h>

#include "registry_cache/flight.h"

#include <string>
#include <vector>

namespace registry_cache {
namespace {

class Flight : public ::testing::Test {
protected:
    FlightTable table{};
    const std::uint64_t key = flight_key("demo/app", "sha256:aa");
};

TEST_F(Flight, KeysDifferByRepositoryAndDigestAndAreNeverZero) {
    EXPECT_NE(key, flight_key("demo/other", "sha256:aa"));
    EXPECT_NE(key, flight_key("demo/app", "sha256:ab"));
    EXPECT_NE(flight_key("a", "b"), flight_key("a\0b", ""));
    EXPECT_NE(key, 0u);
}

TEST_F(Flight, OneLeaderTheRestFollow) {
    const Claimed first = claim(table, key, 100, 5);
    EXPECT_EQ(first.role, Claim::leader);
    EXPECT_NE(first.lead, 0u);
    EXPECT_EQ(claim(table, key, 100, 5).role, Claim::follower);
    EXPECT_EQ(claim(table, key, 101, 5).lead, 0u);
    EXPECT_EQ(look(table, key, 101), FlightState::in_flight);
    EXPECT_EQ(claim(table, flight_key("demo/app", "sha256:bb"), 100, 5).role, Claim::leader);
}

TEST_F(Flight, FollowersSeeTheOutcomeUntilItLingersOut) {
    const Claimed leader = claim(table, key, 100, 5);
    land(table, key, leader.lead, FlightState::recorded, 101, 2);
    EXPECT_EQ(look(table, key, 102), FlightState::recorded);
    EXPECT_EQ(claim(table, key, 102, 5).role, Claim::follower);
    EXPECT_EQ(look(table, key, 103), FlightState::none);
    EXPECT_EQ(claim(table, key, 103, 5).role, Claim::leader);
}

// A flight that recorded nothing frees its slot at once (its followers go upstream as they
// would for a free one), so that failing requests cannot keep the table full.
TEST_F(Flight, NothingRecordedFreesTheSlotAtOnce) {
    for (std::size_t i = 0; i < flight_probe; ++i) {
        const std::uint64_t k = 7 + i * flight_slots;
        land(table, k, claim(table, k, 100, 5).lead, FlightState::not_recorded, 100, 2);
        EXPECT_EQ(look(table, k, 100), FlightState::none);
    }
    EXPECT_EQ(claim(table, 7 + flight_probe * flight_slots, 100, 5).role, Claim::leader);
    EXPECT_EQ(claim(table, key, 100, 5).role, Claim::leader);
}

TEST_F(Flight, AnAbandonedFlightIsLedAgainByTheFirstWhoLooksAndFollowedByTheRest) {
    const Claimed first = claim(table, key, 100, 5);
    land(table, key, first.lead, FlightState::abandoned, 101, 2);
    EXPECT_EQ(look(table, key, 101), FlightState::abandoned);
    const Claimed second = claim(table, key, 101, 5);
    EXPECT_EQ(second.role, Claim::leader);
    EXPECT_NE(second.lead, first.lead);
    EXPECT_EQ(look(table, key, 101), FlightState::in_flight);
    EXPECT_EQ(claim(table, key, 101, 5).role, Claim::follower);
    land(table, key, first.lead, FlightState::recorded, 102, 2);  // the first leader: not its flight now
    EXPECT_EQ(look(table, key, 102), FlightState::in_flight);
    land(table, key, second.lead, FlightState::recorded, 102, 2);
    EXPECT_EQ(look(table, key, 102), FlightState::recorded);
}

TEST_F(Flight, OnlyItsLeadLandsAFlight) {
    claim(table, key, 100, 5);
    land(table, key, 0, FlightState::recorded, 101, 2);
    EXPECT_EQ(look(table, key, 101), FlightState::in_flight);
}

TEST_F(Flight, AFlightNeverLandsInFlight) {
    land(table, key, claim(table, key, 100, 5).lead, FlightState::in_flight, 101, 2);
    EXPECT_EQ(look(table, key, 101), FlightState::none);
    EXPECT_EQ(claim(table, key, 101, 5).role, Claim::leader);
}

TEST_F(Flight, ALeaderThatNeverLandsExpires) {
    const Claimed old = claim(table, key, 100, 5);
    EXPECT_EQ(look(table, key, 104), FlightState::in_flight);
    EXPECT_EQ(look(table, key, 105), FlightState::none);
    EXPECT_EQ(claim(table, key, 105, 5).role, Claim::leader);
    land(table, key, old.lead, FlightState::recorded, 105, 2);  // the old leader, too late: not its flight
    EXPECT_EQ(look(table, key, 105), FlightState::in_flight);
}

// A transfer outlives its flight, and a request of the same worker leads the key again: the
// first one's late landing must not tell the second one's followers that it is done (with a
// pid for a leader, both were the same leader, and the new flight was closed early).
TEST_F(Flight, ALateLandingLeavesTheNextFlightOfTheSameProcessAlone) {
    const Claimed old = claim(table, key, 100, 5);
    const Claimed next = claim(table, key, 105, 5);
    ASSERT_EQ(next.role, Claim::leader);
    land(table, key, old.lead, FlightState::not_recorded, 106, 2);
    EXPECT_EQ(look(table, key, 106), FlightState::in_flight);
    EXPECT_EQ(claim(table, key, 106, 5).role, Claim::follower);
}

TEST_F(Flight, AFullTableSaysSo) {
    for (std::size_t i = 0; i < flight_slots; ++i) {
        ASSERT_EQ(claim(table, 1000 + i, 100, 5).role, Claim::leader);
    }
    const Claimed none = claim(table, key, 100, 5);
    EXPECT_EQ(none.role, Claim::full);
    EXPECT_EQ(none.lead, 0u);
    EXPECT_EQ(claim(table, key, 105, 5).role, Claim::leader);  // the others expired
}

// A fleet's rollout: 160 different blobs in flight at once (each for its whole transfer),
// spread as flight keys are; each has its leader, and its followers find it.
TEST_F(Flight, ManyFlightsAtOnceEachLead) {
    std::vector<std::uint64_t> leads;
    for (int i = 0; i < 160; ++i) {
        const Claimed c = claim(table, flight_key("fleet/app", "sha256:" + std::to_string(i)), 100, 120);
        if (c.role == Claim::leader) leads.push_back(c.lead);
    }
    ASSERT_EQ(leads.size(), 160u);
    for (int i = 0; i < 160; ++i) {
        const std::uint64_t k = flight_key("fleet/app", "sha256:" + std::to_string(i));
        EXPECT_EQ(claim(table, k, 101, 120).role, Claim::follower) << i;
        land(table, k, leads[static_cast<std::size_t>(i)], FlightState::recorded, 102, 2);
        EXPECT_EQ(look(table, k, 102), FlightState::recorded) << i;
    }
}

// Keys whose homes are one slot: flight_probe of them lead, the next is told the table is
// full near its home, and a key at another home is not.
TEST_F(Flight, KeysOfOneHomeShareItsProbe) {
    for (std::size_t i = 0; i < flight_probe; ++i) {
        ASSERT_EQ(claim(table, 7 + i * flight_slots, 100, 5).role, Claim::leader);
    }
    EXPECT_EQ(claim(table, 7 + flight_probe * flight_slots, 100, 5).role, Claim::full);
    EXPECT_EQ(look(table, 7 + (flight_probe - 1) * flight_slots, 100), FlightState::in_flight);
    EXPECT_EQ(claim(table, 7 + flight_probe, 100, 5).role, Claim::leader);
}

}  // namespace
}  // namespace registry_cache
