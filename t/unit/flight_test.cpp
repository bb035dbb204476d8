// The single-flight table: one leader per key, followers see its outcome, nothing sticks.
#include <gtest/gtest.h>

#include "registry_cache/flight.h"

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
    EXPECT_EQ(claim(table, key, 10, 100, 5), Claim::leader);
    EXPECT_EQ(claim(table, key, 11, 100, 5), Claim::follower);
    EXPECT_EQ(claim(table, key, 10, 101, 5), Claim::follower);
    EXPECT_EQ(look(table, key, 101), FlightState::in_flight);
    EXPECT_EQ(claim(table, flight_key("demo/app", "sha256:bb"), 11, 100, 5), Claim::leader);
}

TEST_F(Flight, FollowersSeeTheOutcomeUntilItLingersOut) {
    claim(table, key, 10, 100, 5);
    land(table, key, 10, FlightState::recorded, 101, 2);
    EXPECT_EQ(look(table, key, 102), FlightState::recorded);
    EXPECT_EQ(claim(table, key, 12, 102, 5), Claim::follower);
    EXPECT_EQ(look(table, key, 103), FlightState::none);
    EXPECT_EQ(claim(table, key, 12, 103, 5), Claim::leader);
}

TEST_F(Flight, NothingRecordedLetsTheNextMissLead) {
    claim(table, key, 10, 100, 5);
    land(table, key, 10, FlightState::not_recorded, 100, 2);
    EXPECT_EQ(look(table, key, 100), FlightState::not_recorded);
    EXPECT_EQ(claim(table, key, 11, 100, 5), Claim::leader);
}

TEST_F(Flight, AnAbandonedFlightIsLedAgainByTheFirstWhoLooksAndFollowedByTheRest) {
    claim(table, key, 10, 100, 5);
    land(table, key, 10, FlightState::abandoned, 101, 2);
    EXPECT_EQ(look(table, key, 101), FlightState::abandoned);
    EXPECT_EQ(claim(table, key, 11, 101, 5), Claim::leader);
    EXPECT_EQ(look(table, key, 101), FlightState::in_flight);
    EXPECT_EQ(claim(table, key, 12, 101, 5), Claim::follower);
    land(table, key, 10, FlightState::recorded, 102, 2);  // the first leader: not its flight now
    EXPECT_EQ(look(table, key, 102), FlightState::in_flight);
    land(table, key, 11, FlightState::recorded, 102, 2);
    EXPECT_EQ(look(table, key, 102), FlightState::recorded);
}

TEST_F(Flight, AFlightNeverLandsInFlight) {
    claim(table, key, 10, 100, 5);
    land(table, key, 10, FlightState::in_flight, 101, 2);
    EXPECT_EQ(look(table, key, 101), FlightState::not_recorded);
}

TEST_F(Flight, ALeaderThatNeverLandsExpires) {
    claim(table, key, 10, 100, 5);
    EXPECT_EQ(look(table, key, 104), FlightState::in_flight);
    EXPECT_EQ(look(table, key, 105), FlightState::none);
    EXPECT_EQ(claim(table, key, 11, 105, 5), Claim::leader);
    land(table, key, 10, FlightState::recorded, 105, 2);  // the old leader, too late: not its flight
    EXPECT_EQ(look(table, key, 105), FlightState::in_flight);
}

TEST_F(Flight, AFullTableSaysSo) {
    for (std::size_t i = 0; i < flight_slots; ++i) {
        ASSERT_EQ(claim(table, 1000 + i, 1, 100, 5), Claim::leader);
    }
    EXPECT_EQ(claim(table, key, 1, 100, 5), Claim::full);
    EXPECT_EQ(claim(table, key, 1, 105, 5), Claim::leader);  // the others expired
}

// A fleet's rollout: 160 different blobs in flight at once (each for its whole transfer),
// spread as flight keys are; each has its leader, and its followers find it.
TEST_F(Flight, ManyFlightsAtOnceEachLead) {
    std::size_t led = 0;
    for (int i = 0; i < 160; ++i) {
        const std::uint64_t k = flight_key("fleet/app", "sha256:" + std::to_string(i));
        led += claim(table, k, 1, 100, 120) == Claim::leader;
    }
    EXPECT_EQ(led, 160u);
    for (int i = 0; i < 160; ++i) {
        const std::uint64_t k = flight_key("fleet/app", "sha256:" + std::to_string(i));
        EXPECT_EQ(claim(table, k, 2, 101, 120), Claim::follower) << i;
        land(table, k, 1, FlightState::recorded, 102, 2);
        EXPECT_EQ(look(table, k, 102), FlightState::recorded) << i;
    }
}

// Keys whose homes are one slot: flight_probe of them lead, the next is told the table is
// full near its home, and a key at another home is not.
TEST_F(Flight, KeysOfOneHomeShareItsProbe) {
    for (std::size_t i = 0; i < flight_probe; ++i) {
        ASSERT_EQ(claim(table, 7 + i * flight_slots, 1, 100, 5), Claim::leader);
    }
    EXPECT_EQ(claim(table, 7 + flight_probe * flight_slots, 1, 100, 5), Claim::full);
    EXPECT_EQ(look(table, 7 + (flight_probe - 1) * flight_slots, 100), FlightState::in_flight);
    EXPECT_EQ(claim(table, 7 + flight_probe, 1, 100, 5), Claim::leader);
}

}  // namespace
}  // namespace registry_cache
