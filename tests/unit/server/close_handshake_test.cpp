#include "server/close_handshake.hpp"

#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace steadyws::server {

// Names in failure messages instead of numbers (found by ADL from the nested enums).
void PrintTo(CloseHandshake::State s, std::ostream* os) {
  *os << to_string(s);
}
void PrintTo(CloseHandshake::Step s, std::ostream* os) {
  *os << to_string(s);
}

namespace {

using State = CloseHandshake::State;
using Step = CloseHandshake::Step;
using Kind = CloseHandshake::Kind;

const State kAllStates[] = {State::open,          State::closing,       State::close_sent,
                            State::closing_hard,  State::closing_drain, State::draining,
                            State::closing_final, State::closed,        State::finished};

// A handshake brought to `s` by the shortest path the session takes there.
CloseHandshake reach(State s) {
  CloseHandshake h;
  switch (s) {
    case State::open:
      break;
    case State::closing:
      h.begin(Kind::graceful);
      break;
    case State::close_sent:
      h.begin(Kind::graceful);
      h.on_close_written();
      break;
    case State::closing_hard:
      h.begin(Kind::hard);
      break;
    case State::closing_drain:
      h.begin(Kind::drain);
      break;
    case State::draining:
      h.begin(Kind::drain);
      h.on_close_written();
      break;
    case State::closing_final:
      h.on_peer_close();
      break;
    case State::closed:
      h.abort();
      break;
    case State::finished:
      h.finish();
      break;
  }
  return h;
}

enum class Event {
  begin_graceful,
  begin_hard,
  begin_drain,
  peer_close,
  frame_error,
  written,
  abort
};

std::string name(Event e) {
  switch (e) {
    case Event::begin_graceful:
      return "begin(graceful)";
    case Event::begin_hard:
      return "begin(hard)";
    case Event::begin_drain:
      return "begin(drain)";
    case Event::peer_close:
      return "on_peer_close";
    case Event::frame_error:
      return "on_frame_error";
    case Event::written:
      return "on_close_written";
    case Event::abort:
      return "abort";
  }
  return "?";
}

Step apply(CloseHandshake& h, Event e) {
  switch (e) {
    case Event::begin_graceful:
      return h.begin(Kind::graceful);
    case Event::begin_hard:
      return h.begin(Kind::hard);
    case Event::begin_drain:
      return h.begin(Kind::drain);
    case Event::peer_close:
      return h.on_peer_close();
    case Event::frame_error:
      return h.on_frame_error();
    case Event::written:
      return h.on_close_written();
    case Event::abort:
      return h.abort();
  }
  return Step::none;
}

TEST(CloseHandshake, ReachHelperGetsEveryState) {
  for (const State s : kAllStates)
    EXPECT_EQ(reach(s).state(), s);
}

TEST(CloseHandshake, StartsOpenWithInputParsed) {
  const CloseHandshake h;
  EXPECT_EQ(h.state(), State::open);
  EXPECT_FALSE(h.is_closing());
  EXPECT_FALSE(h.discards_input());
  EXPECT_FALSE(h.is_finished());
}

TEST(CloseHandshake, OnlyOpenIsNotClosing) {
  for (const State s : kAllStates)
    EXPECT_EQ(reach(s).is_closing(), s != State::open) << to_string(s);
}

TEST(CloseHandshake, InputIsParsedUntilThePeersCloseCanNoLongerMatter) {
  // Parsed while the peer's close is awaited, or in a hard close (data is dropped, but the
  // peer's frames still count as activity); dropped once nothing after it may be framed.
  struct Case {
    State state;
    bool discards;
  };
  const Case cases[] = {
      {State::open, false},         {State::closing, false},      {State::close_sent, false},
      {State::closing_hard, false}, {State::closing_drain, true}, {State::draining, true},
      {State::closing_final, true}, {State::closed, true},        {State::finished, true}};
  for (const auto& c : cases)
    EXPECT_EQ(reach(c.state).discards_input(), c.discards) << to_string(c.state);
}

// Every event in every state: the whole transition table.
TEST(CloseHandshake, TransitionTable) {
  struct Row {
    State from;
    Event event;
    Step step;
    State to;
  };
  const Row rows[] = {
      // open: a close we start, theirs, unparsable input, a cut.
      {State::open, Event::begin_graceful, Step::send_close, State::closing},
      {State::open, Event::begin_hard, Step::send_close, State::closing_hard},
      {State::open, Event::begin_drain, Step::send_close, State::closing_drain},
      {State::open, Event::peer_close, Step::echo_close, State::closing_final},
      {State::open, Event::frame_error, Step::send_close, State::closing_drain},
      {State::open, Event::written, Step::none, State::open},
      {State::open, Event::abort, Step::close_socket, State::closed},
      // closing: ours queued, theirs awaited.
      {State::closing, Event::begin_graceful, Step::none, State::closing},
      {State::closing, Event::begin_hard, Step::none, State::closing},
      {State::closing, Event::begin_drain, Step::none, State::closing},
      {State::closing, Event::peer_close, Step::none, State::closing_final},
      {State::closing, Event::frame_error, Step::none, State::closing_drain},
      {State::closing, Event::written, Step::none, State::close_sent},
      {State::closing, Event::abort, Step::close_socket, State::closed},
      // close_sent: ours written, theirs awaited.
      {State::close_sent, Event::begin_graceful, Step::none, State::close_sent},
      {State::close_sent, Event::begin_hard, Step::none, State::close_sent},
      {State::close_sent, Event::begin_drain, Step::none, State::close_sent},
      {State::close_sent, Event::peer_close, Step::close_socket, State::closed},
      {State::close_sent, Event::frame_error, Step::shutdown_send, State::draining},
      {State::close_sent, Event::written, Step::none, State::close_sent},
      {State::close_sent, Event::abort, Step::close_socket, State::closed},
      // closing_hard: the socket closes once ours is written.
      {State::closing_hard, Event::begin_graceful, Step::none, State::closing_hard},
      {State::closing_hard, Event::begin_hard, Step::none, State::closing_hard},
      {State::closing_hard, Event::begin_drain, Step::none, State::closing_hard},
      {State::closing_hard, Event::peer_close, Step::none, State::closing_final},
      {State::closing_hard, Event::frame_error, Step::none, State::closing_final},
      {State::closing_hard, Event::written, Step::close_socket, State::closed},
      {State::closing_hard, Event::abort, Step::close_socket, State::closed},
      // closing_drain: once ours is written, our send side is shut.
      {State::closing_drain, Event::begin_graceful, Step::none, State::closing_drain},
      {State::closing_drain, Event::begin_hard, Step::none, State::closing_drain},
      {State::closing_drain, Event::begin_drain, Step::none, State::closing_drain},
      {State::closing_drain, Event::peer_close, Step::none, State::closing_final},
      {State::closing_drain, Event::frame_error, Step::none, State::closing_drain},
      {State::closing_drain, Event::written, Step::shutdown_send, State::draining},
      {State::closing_drain, Event::abort, Step::close_socket, State::closed},
      // draining: reading the input away until EOF (or the deadline's abort).
      {State::draining, Event::begin_graceful, Step::none, State::draining},
      {State::draining, Event::begin_hard, Step::none, State::draining},
      {State::draining, Event::begin_drain, Step::none, State::draining},
      {State::draining, Event::peer_close, Step::close_socket, State::closed},
      {State::draining, Event::frame_error, Step::none, State::draining},
      {State::draining, Event::written, Step::none, State::draining},
      {State::draining, Event::abort, Step::close_socket, State::closed},
      // closing_final: the last frame is queued; the socket closes once it is written.
      {State::closing_final, Event::begin_graceful, Step::none, State::closing_final},
      {State::closing_final, Event::begin_hard, Step::none, State::closing_final},
      {State::closing_final, Event::begin_drain, Step::none, State::closing_final},
      {State::closing_final, Event::peer_close, Step::none, State::closing_final},
      {State::closing_final, Event::frame_error, Step::none, State::closing_final},
      {State::closing_final, Event::written, Step::close_socket, State::closed},
      {State::closing_final, Event::abort, Step::close_socket, State::closed},
      // closed: nothing but another (harmless) close of the socket.
      {State::closed, Event::begin_graceful, Step::none, State::closed},
      {State::closed, Event::begin_hard, Step::none, State::closed},
      {State::closed, Event::begin_drain, Step::none, State::closed},
      {State::closed, Event::peer_close, Step::none, State::closed},
      {State::closed, Event::frame_error, Step::none, State::closed},
      {State::closed, Event::written, Step::none, State::closed},
      {State::closed, Event::abort, Step::close_socket, State::closed},
      // finished: nothing at all.
      {State::finished, Event::begin_graceful, Step::none, State::finished},
      {State::finished, Event::begin_hard, Step::none, State::finished},
      {State::finished, Event::begin_drain, Step::none, State::finished},
      {State::finished, Event::peer_close, Step::none, State::finished},
      {State::finished, Event::frame_error, Step::none, State::finished},
      {State::finished, Event::written, Step::none, State::finished},
      {State::finished, Event::abort, Step::none, State::finished},
  };
  EXPECT_EQ(std::size(rows), std::size(kAllStates) * 7) << "one row per state and event";
  for (const auto& r : rows) {
    CloseHandshake h = reach(r.from);
    EXPECT_EQ(apply(h, r.event), r.step) << to_string(r.from) << " + " << name(r.event);
    EXPECT_EQ(h.state(), r.to) << to_string(r.from) << " + " << name(r.event);
  }
}

// The paths the session takes, event by event.

TEST(CloseHandshake, GracefulCloseEndsWithThePeersClose) {
  CloseHandshake h;
  EXPECT_EQ(h.begin(Kind::graceful), Step::send_close);  // 1001, 1003, 1008, 4003
  EXPECT_TRUE(h.is_closing());
  EXPECT_FALSE(h.discards_input());  // reading on, for the peer's close
  EXPECT_EQ(h.on_close_written(), Step::none);
  EXPECT_EQ(h.state(), State::close_sent);
  EXPECT_FALSE(h.discards_input());
  EXPECT_EQ(h.on_peer_close(), Step::close_socket);
  EXPECT_EQ(h.state(), State::closed);
  EXPECT_TRUE(h.discards_input());
  EXPECT_TRUE(h.finish());
  EXPECT_TRUE(h.is_finished());
}

TEST(CloseHandshake, PeerCloseWhileOursIsInFlightClosesOnceOursIsWritten) {
  CloseHandshake h;
  h.begin(Kind::graceful);
  EXPECT_EQ(h.on_peer_close(), Step::none);  // ours is still queued: no echo, no close yet
  EXPECT_EQ(h.state(), State::closing_final);
  EXPECT_TRUE(h.discards_input());  // nothing may follow their close frame
  EXPECT_EQ(h.on_close_written(), Step::close_socket);
  EXPECT_EQ(h.state(), State::closed);
}

TEST(CloseHandshake, PeerClosingFirstIsEchoedThenTheSocketCloses) {
  CloseHandshake h;
  EXPECT_EQ(h.on_peer_close(), Step::echo_close);
  EXPECT_TRUE(h.is_closing());
  EXPECT_TRUE(h.discards_input());
  EXPECT_EQ(h.begin(Kind::graceful), Step::none);  // e.g. a drain arriving meanwhile
  EXPECT_EQ(h.on_close_written(), Step::close_socket);
  EXPECT_EQ(h.state(), State::closed);
}

TEST(CloseHandshake, HardCloseClosesTheSocketOnceOursIsWritten) {
  CloseHandshake h;
  EXPECT_EQ(h.begin(Kind::hard), Step::send_close);  // 4000, 1011
  EXPECT_FALSE(h.discards_input());
  EXPECT_EQ(h.on_close_written(), Step::close_socket);
  EXPECT_EQ(h.state(), State::closed);
}

TEST(CloseHandshake, PeerCloseDuringAHardCloseStopsTheInputButNotTheWait) {
  CloseHandshake h;
  h.begin(Kind::hard);
  EXPECT_EQ(h.on_peer_close(), Step::none);
  EXPECT_TRUE(h.discards_input());
  EXPECT_EQ(h.on_close_written(), Step::close_socket);
}

TEST(CloseHandshake, DrainShutsTheSendSideAfterOursAndReadsInputAway) {
  CloseHandshake h;
  EXPECT_EQ(h.begin(Kind::drain), Step::send_close);  // 4001
  EXPECT_TRUE(h.discards_input());
  EXPECT_EQ(h.on_close_written(), Step::shutdown_send);
  EXPECT_EQ(h.state(), State::draining);
  EXPECT_TRUE(h.discards_input());
  EXPECT_EQ(h.abort(), Step::close_socket);  // the 1 s deadline (or EOF: finish)
  EXPECT_EQ(h.state(), State::closed);
}

TEST(CloseHandshake, FrameErrorWhenOpenSendsOurCloseThenDrains) {
  CloseHandshake h;
  EXPECT_EQ(h.on_frame_error(), Step::send_close);  // 1002, 1007, 1009
  EXPECT_TRUE(h.discards_input());
  EXPECT_EQ(h.on_close_written(), Step::shutdown_send);
  EXPECT_EQ(h.state(), State::draining);
}

TEST(CloseHandshake, FrameErrorWhileOursIsQueuedDrainsOnceItIsWritten) {
  CloseHandshake h;
  h.begin(Kind::graceful);
  EXPECT_EQ(h.on_frame_error(), Step::none);  // no second close frame
  EXPECT_TRUE(h.discards_input());
  EXPECT_EQ(h.on_close_written(), Step::shutdown_send);
  EXPECT_EQ(h.state(), State::draining);
}

TEST(CloseHandshake, FrameErrorAfterOursIsWrittenShutsTheSendSideAtOnce) {
  CloseHandshake h;
  h.begin(Kind::graceful);
  h.on_close_written();
  EXPECT_EQ(h.on_frame_error(), Step::shutdown_send);  // their close can no longer be parsed
  EXPECT_EQ(h.state(), State::draining);
  EXPECT_TRUE(h.discards_input());
}

TEST(CloseHandshake, FrameErrorDuringAHardCloseStillClosesOnceWritten) {
  CloseHandshake h;
  h.begin(Kind::hard);
  EXPECT_EQ(h.on_frame_error(), Step::none);
  EXPECT_TRUE(h.discards_input());
  EXPECT_EQ(h.on_close_written(), Step::close_socket);
}

TEST(CloseHandshake, SecondBeginIsIgnoredWhateverTheKinds) {
  const Kind kinds[] = {Kind::graceful, Kind::hard, Kind::drain};
  for (const Kind first : kinds) {
    for (const Kind second : kinds) {
      CloseHandshake h;
      ASSERT_EQ(h.begin(first), Step::send_close);
      const State after_first = h.state();
      EXPECT_EQ(h.begin(second), Step::none);
      EXPECT_EQ(h.state(), after_first);
    }
  }
}

TEST(CloseHandshake, AbortFromEveryStateClosesTheSocketUnlessFinished) {
  for (const State s : kAllStates) {
    CloseHandshake h = reach(s);
    const Step step = h.abort();
    if (s == State::finished) {
      EXPECT_EQ(step, Step::none);
      EXPECT_EQ(h.state(), State::finished);
    } else {
      EXPECT_EQ(step, Step::close_socket) << to_string(s);
      EXPECT_EQ(h.state(), State::closed) << to_string(s);
    }
    EXPECT_TRUE(h.is_closing());
    EXPECT_TRUE(h.discards_input());
    EXPECT_EQ(h.begin(Kind::graceful), Step::none) << "no close frame after an abort";
  }
}

TEST(CloseHandshake, FinishFromEveryStateEndsItOnce) {
  for (const State s : kAllStates) {
    CloseHandshake h = reach(s);
    EXPECT_EQ(h.finish(), s != State::finished) << to_string(s);
    EXPECT_TRUE(h.is_finished());
    EXPECT_FALSE(h.finish());
    EXPECT_EQ(h.on_peer_close(), Step::none);
    EXPECT_EQ(h.on_close_written(), Step::none);
    EXPECT_EQ(h.abort(), Step::none);
    EXPECT_TRUE(h.is_finished());
  }
}

TEST(CloseHandshake, NamesEveryState) {
  std::vector<std::string> names;
  for (const State s : kAllStates)
    names.emplace_back(to_string(s));
  EXPECT_EQ(names, (std::vector<std::string>{"open", "closing", "close_sent", "closing_hard",
                                             "closing_drain", "draining", "closing_final", "closed",
                                             "finished"}));
}

}  // namespace
}  // namespace steadyws::server
