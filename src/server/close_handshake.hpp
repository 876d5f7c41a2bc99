// CloseHandshake: where a WebSocket session is in its close (RFC 6455 §7), as one state, and
// what the session must do at each step. Sans-I/O: it is told what happened (we start a
// close, the peer's close frame arrives, our close frame has been written, the input cannot
// be parsed, the connection is cut) and answers with a Step; the session (ws_session.cpp)
// performs it on the socket. It holds no close code, reason or deadline: those stay with the
// session, which picks the deadline by how it started the close.
//
// The paths, as the session takes them:
//   - ours, graceful (1001, 1003, 1008, 4003): open -> closing -> close_sent, and the peer's
//     close ends it (closed); input is still parsed until then, for that close.
//   - ours, hard (4000, 1011): open -> closing_hard; the socket closes once our frame is out.
//   - ours, drain (4001) or a frame error (1002, 1007, 1009): open -> closing_drain ->
//     draining: once our frame is out, our send side is shut and the input is read away
//     until the peer's EOF (or the deadline), so our frame is read before any reset.
//   - theirs: open -> closing_final (we echo their close) -> closed once the echo is out.
//   - abort (a failed write, a drop, the sweep, a deadline): any state -> closed at once.
//   - finish (the read side ended and the session unregistered): any state -> finished.
//
// Not thread-safe: one per session, used on that session's strand.
#pragma once

#include <cstdint>
#include <string_view>

namespace steadyws::server {

class CloseHandshake {
 public:
  enum class State : std::uint8_t {
    open,           // no close yet: data flows both ways
    closing,        // our close (graceful) is queued; waiting for it to leave and for theirs
    close_sent,     // our close is written; reading until the peer's close (or EOF, deadline)
    closing_hard,   // our close (teardown) is queued; the socket closes once it is written
    closing_drain,  // our close is queued; once written, our send side is shut; input dropped
    draining,       // our close is written, our send side shut; input dropped until EOF
    closing_final,  // the last frame (an echo of theirs, or ours after theirs or after
                    // unparsable input in a hard close) is queued; then the socket closes
    closed,         // the socket is closed (or being closed); the session is not finished yet
    finished,       // the session ended: nothing more happens
  };

  // How a close we start goes on (see the paths above).
  enum class Kind : std::uint8_t {
    graceful,  // send our close, read until the peer's close
    hard,      // send our close, close the socket once it is written
    drain,     // send our close, then shut our send side and read the input away
  };

  // What the session must do after a transition.
  enum class Step : std::uint8_t {
    none,
    send_close,     // queue our close frame (the session's code and reason), arm the deadline
    echo_close,     // queue the echo of the peer's close, arm the deadline
    shutdown_send,  // shut our send side; keep reading the input away until EOF
    close_socket,   // close the socket (both directions)
  };

  State state() const noexcept { return state_; }

  // A close or teardown started, or the connection ended: no more data, pings or timers.
  bool is_closing() const noexcept { return state_ != State::open; }
  // Whatever else the peer sends is read and dropped, unparsed (nothing may follow its close
  // frame; nothing after unparsable input can be framed).
  bool discards_input() const noexcept {
    switch (state_) {
      case State::closing_drain:
      case State::draining:
      case State::closing_final:
      case State::closed:
      case State::finished:
        return true;
      case State::open:
      case State::closing:
      case State::close_sent:
      case State::closing_hard:
        return false;
    }
    return true;
  }
  bool is_finished() const noexcept { return state_ == State::finished; }

  // We start a close of `kind`: send_close from open; none (ignored) once any close started.
  Step begin(Kind kind) noexcept {
    if (state_ != State::open)
      return Step::none;
    switch (kind) {
      case Kind::graceful:
        state_ = State::closing;
        break;
      case Kind::hard:
        state_ = State::closing_hard;
        break;
      case Kind::drain:
        state_ = State::closing_drain;
        break;
    }
    return Step::send_close;
  }

  // The peer's close frame arrived. Open: echo it. Ours queued: the socket closes once ours
  // is written. Ours written: the handshake is complete, close the socket.
  Step on_peer_close() noexcept {
    switch (state_) {
      case State::open:
        state_ = State::closing_final;
        return Step::echo_close;
      case State::closing:
      case State::closing_hard:
      case State::closing_drain:  // (input is dropped here: cannot happen)
        state_ = State::closing_final;
        return Step::none;
      case State::close_sent:
      case State::draining:  // (input is dropped here: cannot happen)
        state_ = State::closed;
        return Step::close_socket;
      case State::closing_final:
      case State::closed:
      case State::finished:
        return Step::none;
    }
    return Step::none;
  }

  // The input cannot be parsed any more (a framing violation, invalid UTF-8, too big).
  // Open: our close goes out (graceful, with the frame error's code) and the input is drained.
  // Ours queued: drained the same way once it is written (hard: closed once written, as
  // before). Ours written: shut our send side now and drain.
  Step on_frame_error() noexcept {
    switch (state_) {
      case State::open:
        state_ = State::closing_drain;
        return Step::send_close;
      case State::closing:
        state_ = State::closing_drain;
        return Step::none;
      case State::closing_hard:
        state_ = State::closing_final;
        return Step::none;
      case State::close_sent:
        state_ = State::draining;
        return Step::shutdown_send;
      case State::closing_drain:
      case State::draining:
      case State::closing_final:
      case State::closed:
      case State::finished:
        return Step::none;  // input is dropped in these: nothing more is parsed
    }
    return Step::none;
  }

  // The batch carrying our close frame (or our echo) has been written.
  Step on_close_written() noexcept {
    switch (state_) {
      case State::closing:
        state_ = State::close_sent;
        return Step::none;
      case State::closing_hard:
      case State::closing_final:
        state_ = State::closed;
        return Step::close_socket;
      case State::closing_drain:
        state_ = State::draining;
        return Step::shutdown_send;
      case State::open:
      case State::close_sent:
      case State::draining:
      case State::closed:
      case State::finished:
        return Step::none;  // no close frame was waiting to be written
    }
    return Step::none;
  }

  // The connection is cut without (more of) a handshake: a write failed, the session was
  // dropped or swept, a close deadline passed. close_socket from every state but finished.
  Step abort() noexcept {
    if (state_ == State::finished)
      return Step::none;
    state_ = State::closed;
    return Step::close_socket;
  }

  // The session ended (finish()). Returns false when it had already ended.
  bool finish() noexcept {
    if (state_ == State::finished)
      return false;
    state_ = State::finished;
    return true;
  }

 private:
  State state_ = State::open;
};

// The state's name, as in the enum (logs and test messages).
constexpr std::string_view to_string(CloseHandshake::State s) noexcept {
  switch (s) {
    case CloseHandshake::State::open:
      return "open";
    case CloseHandshake::State::closing:
      return "closing";
    case CloseHandshake::State::close_sent:
      return "close_sent";
    case CloseHandshake::State::closing_hard:
      return "closing_hard";
    case CloseHandshake::State::closing_drain:
      return "closing_drain";
    case CloseHandshake::State::draining:
      return "draining";
    case CloseHandshake::State::closing_final:
      return "closing_final";
    case CloseHandshake::State::closed:
      return "closed";
    case CloseHandshake::State::finished:
      return "finished";
  }
  return "?";
}

constexpr std::string_view to_string(CloseHandshake::Step s) noexcept {
  switch (s) {
    case CloseHandshake::Step::none:
      return "none";
    case CloseHandshake::Step::send_close:
      return "send_close";
    case CloseHandshake::Step::echo_close:
      return "echo_close";
    case CloseHandshake::Step::shutdown_send:
      return "shutdown_send";
    case CloseHandshake::Step::close_socket:
      return "close_socket";
  }
  return "?";
}

}  // namespace steadyws::server
