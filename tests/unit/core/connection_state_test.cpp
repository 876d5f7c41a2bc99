#include "steadyws/core/connection_state.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace steadyws {
namespace {

using namespace std::chrono_literals;
using S = State;

// The legal moves, listed the way issue 2 and the header state them (not derived from the code).
const std::set<std::pair<State, State>>& legal_pairs() {
  static const std::set<std::pair<State, State>> pairs{
      {S::connecting, S::connected},    {S::connecting, S::error},
      {S::connecting, S::disconnected}, {S::connected, S::disconnected},
      {S::connected, S::error},         {S::disconnected, S::reconnecting},
      {S::error, S::reconnecting},      {S::reconnecting, S::connected},
      {S::reconnecting, S::error},      {S::reconnecting, S::disconnected},
      {S::disconnected, S::connecting}, {S::error, S::connecting},
      {S::closed, S::connecting},       {S::connecting, S::closed},
      {S::connected, S::closed},        {S::disconnected, S::closed},
      {S::reconnecting, S::closed},     {S::error, S::closed},
  };
  return pairs;
}

TEST(ConnectionState, NamesAreTheWireNames) {
  EXPECT_EQ(to_string(S::connecting), "connecting");
  EXPECT_EQ(to_string(S::connected), "connected");
  EXPECT_EQ(to_string(S::disconnected), "disconnected");
  EXPECT_EQ(to_string(S::reconnecting), "reconnecting");
  EXPECT_EQ(to_string(S::error), "error");
  EXPECT_EQ(to_string(S::closed), "closed");
  EXPECT_EQ(to_string(TransitionError::illegal_transition), "illegal_transition");
}

TEST(ConnectionState, NamesRoundTrip) {
  for (State s : kAllStates) {
    EXPECT_EQ(state_from_string(to_string(s)), s);
  }
  EXPECT_FALSE(state_from_string("Connected").has_value());
  EXPECT_FALSE(state_from_string("").has_value());
}

TEST(ConnectionState, StartsInConnectingByDefault) {
  ConnectionStateMachine m;
  EXPECT_EQ(m.state(), S::connecting);
  EXPECT_FALSE(m.last_transition().has_value());
  EXPECT_EQ(ConnectionStateMachine(S::closed).state(), S::closed);
}

// Every one of the 36 (from, to) pairs, on a fresh machine started in `from`.
TEST(ConnectionState, EveryPairFollowsTheTable) {
  const TimePoint t0{};
  int legal = 0;
  for (State from : kAllStates) {
    for (State to : kAllStates) {
      const bool expected = legal_pairs().count({from, to}) == 1;
      legal += expected ? 1 : 0;
      SCOPED_TRACE(std::string(to_string(from)) + " -> " + std::string(to_string(to)));
      EXPECT_EQ(is_legal_transition(from, to), expected);

      ConnectionStateMachine m(from);
      EXPECT_EQ(m.can_transition(to), expected);
      int heard = 0;
      m.on_transition([&](const Transition&) { ++heard; });
      const auto r = m.transition(to, "table", t0 + 5s);
      if (expected) {
        ASSERT_TRUE(ok(r));
        const auto& t = std::get<Transition>(r);
        EXPECT_EQ(t.from, from);
        EXPECT_EQ(t.to, to);
        EXPECT_EQ(t.reason, "table");
        EXPECT_EQ(t.at, t0 + 5s);
        EXPECT_EQ(m.state(), to);
        EXPECT_EQ(heard, 1);
      } else {
        ASSERT_FALSE(ok(r));
        EXPECT_EQ(std::get<TransitionError>(r), TransitionError::illegal_transition);
        EXPECT_EQ(m.state(), from);  // unchanged
        EXPECT_EQ(heard, 0);         // nobody hears a refused move
        EXPECT_FALSE(m.last_transition().has_value());
      }
    }
  }
  EXPECT_EQ(legal, 18);
}

TEST(ConnectionState, SameStateIsIllegal) {
  for (State s : kAllStates) {
    ConnectionStateMachine m(s);
    EXPECT_FALSE(m.can_transition(s)) << to_string(s);
    EXPECT_FALSE(ok(m.transition(s, "again", TimePoint{})));
  }
}

TEST(ConnectionState, ClosedOnlyLeadsToConnecting) {
  ConnectionStateMachine m(S::closed);
  for (State to : kAllStates) {
    EXPECT_EQ(m.can_transition(to), to == S::connecting) << to_string(to);
  }
}

TEST(ConnectionState, FullReconnectCycleIsHeardInOrder) {
  const TimePoint t0{};
  ConnectionStateMachine m;
  std::vector<Transition> heard;
  m.on_transition([&](const Transition& t) { heard.push_back(t); });

  ASSERT_TRUE(ok(m.transition(S::connected, "handshake done", t0 + 10ms)));
  ASSERT_TRUE(ok(m.transition(S::disconnected, "read: eof", t0 + 60s)));
  ASSERT_TRUE(ok(m.transition(S::reconnecting, "attempt 1 in 1000 ms", t0 + 60s)));
  ASSERT_TRUE(ok(m.transition(S::error, "connect refused", t0 + 61s)));
  ASSERT_TRUE(ok(m.transition(S::reconnecting, "attempt 2 in 2000 ms", t0 + 61s)));
  ASSERT_TRUE(ok(m.transition(S::connected, "handshake done", t0 + 63s)));
  ASSERT_TRUE(ok(m.transition(S::closed, "close()", t0 + 90s)));
  EXPECT_FALSE(ok(m.transition(S::reconnecting, "late timer", t0 + 91s)));
  ASSERT_TRUE(ok(m.transition(S::connecting, "connect()", t0 + 100s)));

  const std::vector<std::pair<State, State>> expected{
      {S::connecting, S::connected},      {S::connected, S::disconnected},
      {S::disconnected, S::reconnecting}, {S::reconnecting, S::error},
      {S::error, S::reconnecting},        {S::reconnecting, S::connected},
      {S::connected, S::closed},          {S::closed, S::connecting},
  };
  ASSERT_EQ(heard.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(heard[i].from, expected[i].first) << i;
    EXPECT_EQ(heard[i].to, expected[i].second) << i;
  }
  EXPECT_EQ(heard[1].reason, "read: eof");
  EXPECT_EQ(heard[6].at, t0 + 90s);
  ASSERT_TRUE(m.last_transition().has_value());
  EXPECT_EQ(m.last_transition()->to, S::connecting);
}

TEST(ConnectionState, EveryListenerHearsInRegistrationOrder) {
  ConnectionStateMachine m;
  std::vector<int> order;
  m.on_transition([&](const Transition&) { order.push_back(1); });
  m.on_transition([&](const Transition&) { order.push_back(2); });
  m.on_transition([&](const Transition&) { order.push_back(3); });
  ASSERT_TRUE(ok(m.transition(S::connected, "ok", TimePoint{})));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(ConnectionState, NestedTransitionFromListenerIsDeliveredInOrder) {
  const TimePoint t0{};
  ConnectionStateMachine m;
  std::vector<std::string> log;
  m.on_transition([&](const Transition& t) {
    log.push_back("a:" + std::string(to_string(t.to)));
    if (t.to == S::disconnected) {
      // The shell reacting to a drop by starting the backoff, from inside a listener.
      EXPECT_TRUE(ok(m.transition(S::reconnecting, "backoff", t.at)));
      EXPECT_EQ(m.state(), S::reconnecting);
    }
  });
  m.on_transition([&](const Transition& t) { log.push_back("b:" + std::string(to_string(t.to))); });
  ASSERT_TRUE(ok(m.transition(S::disconnected, "dropped", t0)));
  EXPECT_EQ(m.state(), S::reconnecting);
  EXPECT_EQ(log, (std::vector<std::string>{"a:disconnected", "b:disconnected", "a:reconnecting",
                                           "b:reconnecting"}));
}

TEST(ConnectionState, ListenerAddedDuringDeliveryHearsTheNextOne) {
  ConnectionStateMachine m;
  int late_heard = 0;
  m.on_transition([&](const Transition& t) {
    if (t.to == S::connected) {
      m.on_transition([&](const Transition&) { ++late_heard; });
    }
  });
  ASSERT_TRUE(ok(m.transition(S::connected, "ok", TimePoint{})));
  EXPECT_EQ(late_heard, 0);
  ASSERT_TRUE(ok(m.transition(S::closed, "bye", TimePoint{})));
  EXPECT_EQ(late_heard, 1);
}

TEST(ConnectionState, RefusedMoveInsideListenerChangesNothing) {
  ConnectionStateMachine m;
  TransitionResult inner = Transition{};
  m.on_transition([&](const Transition& t) {
    if (t.to == S::connected) {
      inner = m.transition(S::reconnecting, "not from connected", t.at);
    }
  });
  ASSERT_TRUE(ok(m.transition(S::connected, "ok", TimePoint{})));
  EXPECT_FALSE(ok(inner));
  EXPECT_EQ(m.state(), S::connected);
}

TEST(ConnectionState, ThrowingListenerLeavesMachineUsable) {
  ConnectionStateMachine m;
  bool should_throw = true;
  int heard = 0;
  m.on_transition([&](const Transition&) {
    if (should_throw) {
      throw std::runtime_error("listener bug");
    }
  });
  m.on_transition([&](const Transition&) { ++heard; });
  EXPECT_THROW(m.transition(S::connected, "ok", TimePoint{}), std::runtime_error);
  EXPECT_EQ(m.state(), S::connected);
  should_throw = false;
  ASSERT_TRUE(ok(m.transition(S::closed, "bye", TimePoint{})));
  EXPECT_EQ(heard, 1);  // the throw skipped the first delivery only
}

}  // namespace
}  // namespace steadyws
