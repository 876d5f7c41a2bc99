#include "steadyws/core/connection_state.hpp"

#include <utility>

namespace steadyws {
namespace {

constexpr std::array<std::string_view, kStateCount> kStateNames{
    "connecting", "connected", "disconnected", "reconnecting", "error", "closed"};

constexpr std::size_t index(State s) {
  return static_cast<std::size_t>(s);
}

// kLegal[from][to], in enumerator order; the table in the header, verbatim.
constexpr bool T = true;
constexpr bool F = false;
constexpr std::array<std::array<bool, kStateCount>, kStateCount> kLegal{{
    //   conn'ing connected discon. reconn. error closed
    {{F, T, T, F, T, T}},  // connecting
    {{F, F, T, F, T, T}},  // connected
    {{T, F, F, T, F, T}},  // disconnected
    {{F, T, T, F, T, T}},  // reconnecting
    {{T, F, F, T, F, T}},  // error
    {{T, F, F, F, F, F}},  // closed
}};

}  // namespace

std::string_view to_string(State s) noexcept {
  const auto i = index(s);
  return i < kStateCount ? kStateNames[i] : std::string_view{"unknown"};
}

std::optional<State> state_from_string(std::string_view s) noexcept {
  for (std::size_t i = 0; i < kStateCount; ++i) {
    if (kStateNames[i] == s) {
      return kAllStates[i];
    }
  }
  return std::nullopt;
}

bool is_legal_transition(State from, State to) noexcept {
  const auto f = index(from);
  const auto t = index(to);
  return f < kStateCount && t < kStateCount && kLegal[f][t];
}

std::string_view to_string(TransitionError e) noexcept {
  switch (e) {
    case TransitionError::illegal_transition:
      return "illegal_transition";
  }
  return "unknown";
}

ConnectionStateMachine::ConnectionStateMachine(State initial) : state_(initial) {}

TransitionResult ConnectionStateMachine::transition(State to, std::string reason, TimePoint now) {
  if (!can_transition(to)) {
    return TransitionError::illegal_transition;
  }
  Transition t{state_, to, std::move(reason), now};
  state_ = to;
  last_ = t;
  pending_.push_back(t);
  if (!notifying_) {
    notify();
  }
  return t;
}

void ConnectionStateMachine::on_transition(Listener l) {
  listeners_.push_back(std::move(l));
}

void ConnectionStateMachine::notify() {
  // Listeners may call transition() or on_transition(): deliveries are queued in pending_ and
  // the listener list is copied per delivery, so neither re-entrant call invalidates anything
  // this loop holds. A listener added during a delivery hears the next transition onwards.
  notifying_ = true;
  struct Reset {
    ConnectionStateMachine* m;
    ~Reset() {
      m->notifying_ = false;
      m->pending_.clear();  // after a throw, undelivered notifications are dropped
    }
  } reset{this};
  while (!pending_.empty()) {
    const Transition t = std::move(pending_.front());
    pending_.pop_front();
    const std::vector<Listener> listeners = listeners_;
    for (const auto& l : listeners) {
      if (l) {
        l(t);
      }
    }
  }
}

}  // namespace steadyws
