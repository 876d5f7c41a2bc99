// The client's connection state machine: which of the six states it is in, which moves are
// legal, and who hears about them. It decides nothing by itself (the shell decides when to
// connect, retry or give up) and performs no I/O; it only refuses illegal moves, as a value,
// and tells listeners about legal ones with their reason and time.
//
// Legal transitions (from -> to), every other pair is refused, including same-state moves:
//
//   from \ to     | connecting | connected | disconnected | reconnecting | error | closed
//   --------------+------------+-----------+--------------+--------------+-------+-------
//   connecting    |     -      |    yes    |     yes      |      -       |  yes  |  yes
//   connected     |     -      |     -     |     yes      |      -       |  yes  |  yes
//   disconnected  |    yes     |     -     |      -       |     yes      |   -   |  yes
//   reconnecting  |     -      |    yes    |     yes      |      -       |  yes  |  yes
//   error         |    yes     |     -     |      -       |     yes      |   -   |  yes
//   closed        |    yes     |     -     |      -       |      -       |   -   |   -
//
// Meanings: connecting->connected (handshake done), connecting->error (the attempt failed),
// connecting->disconnected (dropped during the handshake), connected->disconnected|error (the
// link was lost, cleanly or not), disconnected|error->reconnecting (backoff started),
// reconnecting->connected (an attempt succeeded), reconnecting->error (an attempt failed),
// reconnecting->disconnected (the retry budget ran out), disconnected|error|closed->connecting
// (a manual connect()), any state but closed -> closed (a manual close()).
//
// Thread-safety: not thread-safe; owned by one client and used only on that client's strand.
#pragma once

#include <array>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "steadyws/core/time.hpp"

namespace steadyws {

// Enumerators spelled like the wire and the CLI (STYLE 3.2).
enum class State { connecting, connected, disconnected, reconnecting, error, closed };

inline constexpr std::size_t kStateCount = 6;
inline constexpr std::array<State, kStateCount> kAllStates{State::connecting,   State::connected,
                                                           State::disconnected, State::reconnecting,
                                                           State::error,        State::closed};

// "connecting", "connected", "disconnected", "reconnecting", "error", "closed".
std::string_view to_string(State s) noexcept;
// The state spelled exactly `s` (case-sensitive), or nullopt.
std::optional<State> state_from_string(std::string_view s) noexcept;

// True when the table above allows `from` -> `to`. A pure function of the two states.
bool is_legal_transition(State from, State to) noexcept;

struct Transition {
  State from;
  State to;
  std::string reason;  // free text for logs and listeners, e.g. "heartbeat timeout"
  TimePoint at;        // the `now` passed to transition()
};

enum class TransitionError { illegal_transition };

// "illegal_transition".
std::string_view to_string(TransitionError e) noexcept;

// transition() returns the performed Transition, or the error when the move was refused.
// Check with std::holds_alternative<Transition>(r), std::get_if<Transition>(&r), or ok(r).
using TransitionResult = std::variant<Transition, TransitionError>;
inline bool ok(const TransitionResult& r) noexcept {
  return std::holds_alternative<Transition>(r);
}

class ConnectionStateMachine {
 public:
  using Listener = std::function<void(const Transition&)>;

  explicit ConnectionStateMachine(State initial = State::connecting);

  // When can_transition(to): changes the state, tells every listener (in registration order)
  // and returns the Transition. Otherwise returns TransitionError::illegal_transition and
  // changes nothing (no listener is called). `now` is stored in Transition::at.
  // Re-entrancy: a listener may call transition(); the nested move is applied at once (so
  // state() is already the new state when the call returns) but its notification is queued
  // and delivered after every listener has heard the current one, so all listeners hear every
  // transition in order. A listener that throws leaves the state changed, propagates out of
  // transition(), and drops any queued nested notifications; the machine stays usable.
  TransitionResult transition(State to, std::string reason, TimePoint now);

  // True when transition(to, ...) would succeed from the current state.
  bool can_transition(State to) const { return is_legal_transition(state_, to); }
  State state() const { return state_; }

  // Adds a listener; it hears every later legal transition. Listeners cannot be removed:
  // capture a weak reference if the listener may die before the machine.
  void on_transition(Listener l);

  // The most recent legal transition, or nullopt before the first.
  const std::optional<Transition>& last_transition() const { return last_; }

 private:
  void notify();

  State state_;
  std::optional<Transition> last_;
  std::vector<Listener> listeners_;
  std::deque<Transition> pending_;  // transitions not yet delivered; non-empty only in notify()
  bool notifying_ = false;
};

}  // namespace steadyws
