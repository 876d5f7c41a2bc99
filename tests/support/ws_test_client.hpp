// Small synchronous clients for black-box tests of `steadyws serve` over real sockets.
//
// - WsClient: a Beast WebSocket client with its own I/O thread. Frames are read in the
//   background into a queue (so ping frames are answered the way a live peer would), and
//   the test takes them with next()/next_of_type() under a deadline. A client made with
//   read_loop = false never reads, which is how a slow consumer looks from the server.
// - http_request(): one HTTP/1.1 request with Beast, bounded by a deadline.
// - RawTcp: a plain blocking socket for malformed requests, hand-made upgrades and frames,
//   and peers that stop answering (no auto-pong).
//
// Nothing here asserts: the helpers return what happened (a Frame, a status) so the test
// states the contract row it checks. Connection failures that make a test meaningless
// throw std::runtime_error, which gtest reports as a failure with the message.
//
// Thread-safety: each object is used by one test thread; WsClient's own I/O thread only
// touches the stream, and hands frames over under a mutex.
//
// The Beast code (WsClient's I/O, http_request) is compiled once, in ws_test_client.cpp:
// inline here, it made every test file that includes this take half a minute to build.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

namespace steadyws::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;

// Generous: a failing wait costs this much, a passing one only as long as the event takes.
// Sized for a sanitizer build on a loaded 2-core machine.
inline constexpr std::chrono::milliseconds kDeadline{10000};

// Parses `text` as a JSON object; an empty object when it is anything else.
inline json::object parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object())
    return {};
  return std::move(v.as_object());
}

// The string at key `k`, or "" when absent or not a string.
inline std::string str_at(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The integer at key `k` (int64 or uint64 that fits), or nullopt.
inline std::optional<std::int64_t> int_at(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  if (!v)
    return std::nullopt;
  if (v->is_int64())
    return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->as_uint64());
  return std::nullopt;
}

// ---- WebSocket ---------------------------------------------------------------------------

// One thing a WebSocket client observed.
struct Frame {
  enum class Kind {
    text,     // a text frame; `data` is its payload
    binary,   // a binary frame
    close,    // the server sent a close frame: close_code, close_reason
    dropped,  // the connection ended without a close frame (eof, reset): `error`
    timeout,  // nothing arrived before the deadline (the connection may still be open)
  };
  Kind kind = Kind::timeout;
  std::string data;
  std::uint16_t close_code = 0;
  std::string close_reason;
  std::string error;

  bool is_text() const { return kind == Kind::text; }
  bool is_close() const { return kind == Kind::close; }
  bool is_terminal() const { return kind == Kind::close || kind == Kind::dropped; }
  json::object json() const { return is_text() ? parse_object(data) : json::object{}; }
  std::string type() const { return str_at(json(), "type"); }

  // For failure messages: `text {"type":"pong",...}`, `close 4000 "reason"`, ...
  std::string describe() const {
    switch (kind) {
      case Kind::text:
        return "text " + (data.size() > 300 ? data.substr(0, 300) + "..." : data);
      case Kind::binary:
        return "binary frame of " + std::to_string(data.size()) + " bytes";
      case Kind::close:
        return "close " + std::to_string(close_code) + " \"" + close_reason + "\"";
      case Kind::dropped:
        return "dropped (" + error + ")";
      case Kind::timeout:
        return "timeout (no frame before the deadline)";
    }
    return "?";
  }
};

struct WsOptions {
  std::string target = "/ws";  // path and query, e.g. "/ws?session=abc&token=t"
  std::vector<std::pair<std::string, std::string>> headers;  // extra upgrade headers
  bool read_loop = true;         // false: never read (a slow consumer) until start_reading()
  int receive_buffer_bytes = 0;  // > 0: SO_RCVBUF before connecting (fills up sooner)
  bool expect_welcome = true;    // connect() takes the first frame and checks it is `welcome`
  std::chrono::milliseconds deadline = kDeadline;
};

// The outcome of an upgrade attempt that may be refused (401, 403, 503, ...).
struct HandshakeResult {
  bool upgraded = false;
  unsigned status = 0;  // HTTP status of the answer (101 when upgraded), 0 if none
  std::string body;     // the refusal's body
  std::string error;    // transport error text, if any
};

class WsClient {
 public:
  // Connects and upgrades; throws std::runtime_error when refused or unreachable. With
  // expect_welcome, also takes the first frame and throws unless it is a `welcome`.
  static std::unique_ptr<WsClient> connect(std::uint16_t port, WsOptions opts = {});

  // Tries an upgrade and reports how it went; the connection is closed again.
  static HandshakeResult try_connect(std::uint16_t port, WsOptions opts = {});

  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  ~WsClient();

  const json::object& welcome() const { return welcome_; }
  std::string session_id() const { return str_at(welcome_, "sessionId"); }

  // The local port of this connection (to tell clients apart in server output).
  std::uint16_t local_port() const { return local_port_; }

  // Sends one frame; true when written before the deadline.
  bool send_text(std::string s, std::chrono::milliseconds d = kDeadline) {
    return enqueue(std::move(s), WriteKind::text, d);
  }
  bool send_binary(std::string s, std::chrono::milliseconds d = kDeadline) {
    return enqueue(std::move(s), WriteKind::binary, d);
  }
  bool send_json(const json::value& v, std::chrono::milliseconds d = kDeadline) {
    return send_text(json::serialize(v), d);
  }
  // Writes bytes as they are to the TCP socket (hand-made frames); ordered with sends.
  bool send_raw(std::string bytes, std::chrono::milliseconds d = kDeadline) {
    return enqueue(std::move(bytes), WriteKind::raw, d);
  }
  // Queues a frame without waiting for it to be written (a writer that must not block).
  void send_text_async(std::string s) { enqueue_async(std::move(s), WriteKind::text); }

  // The next frame, or a timeout Frame. After the connection ended, every call returns the
  // close/dropped Frame again.
  Frame next(std::chrono::milliseconds d = kDeadline) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return !frames_.empty() || terminal_.has_value(); });
    if (!frames_.empty()) {
      Frame f = std::move(frames_.front());
      frames_.pop_front();
      return f;
    }
    if (terminal_)
      return *terminal_;
    return Frame{};
  }

  // Skips frames until one whose "type" is `type`; returns it, or the close/dropped/timeout
  // Frame that ended the wait. Skipped frames are appended to `skipped` when given.
  Frame next_of_type(std::string_view type, std::chrono::milliseconds d = kDeadline,
                     std::vector<Frame>* skipped = nullptr) {
    const auto end = std::chrono::steady_clock::now() + d;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      Frame f = next(std::max(left, 0ms));
      if (f.kind != Frame::Kind::text || f.type() == type)
        return f;
      if (skipped)
        skipped->push_back(std::move(f));
    }
  }

  // Skips data frames until the connection ends; returns the close or dropped Frame (or a
  // timeout Frame if it is still open at the deadline). `skipped` counts the frames skipped.
  Frame wait_closed(std::chrono::milliseconds d = kDeadline, std::size_t* skipped = nullptr) {
    const auto end = std::chrono::steady_clock::now() + d;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      Frame f = next(std::max(left, 0ms));
      if (f.is_terminal() || f.kind == Frame::Kind::timeout)
        return f;
      if (skipped)
        ++*skipped;
    }
  }

  // Sends `msg`, then returns the first frame of type `reply_type`, or throws with what
  // arrived instead. Other frames that arrive meanwhile (a `message` racing an `ack`) stay
  // queued, in order, for the next read.
  json::object request(const json::value& msg, std::string_view reply_type,
                       std::chrono::milliseconds d = kDeadline) {
    if (!send_json(msg, d))
      throw std::runtime_error("WsClient: send failed: " + json::serialize(msg));
    std::vector<Frame> skipped;
    Frame f = next_of_type(reply_type, d, &skipped);
    requeue_front(std::move(skipped));
    if (f.type() != reply_type)
      throw std::runtime_error("WsClient: sent " + json::serialize(msg) + ", waited for `" +
                               std::string(reply_type) + "`, got " + f.describe());
    return f.json();
  }

  // Sends an app-level ping with a fresh timestamp and collects every frame up to its pong.
  // The pong is a barrier: the server answers in order, so whatever it was going to send
  // before it has arrived. Returns the frames before the pong; nullopt (and the reason in
  // `why`) when no pong came.
  std::optional<std::vector<Frame>> frames_until_pong(std::chrono::milliseconds d = kDeadline,
                                                      std::string* why = nullptr) {
    const std::int64_t stamp = 1'000'000'000'000 + (++ping_counter_);
    if (!send_json(json::object{{"type", "ping"}, {"timestamp", stamp}}, d)) {
      if (why)
        *why = "send failed";
      return std::nullopt;
    }
    std::vector<Frame> before;
    const auto end = std::chrono::steady_clock::now() + d;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      Frame f = next(std::max(left, 0ms));
      if (f.kind != Frame::Kind::text) {
        if (why)
          *why = f.describe();
        return std::nullopt;
      }
      const json::object o = f.json();
      if (str_at(o, "type") == "pong" && int_at(o, "timestamp") == stamp)
        return before;
      before.push_back(std::move(f));
    }
  }

  // True when the connection still answers an app-level ping (frames before the pong are
  // discarded).
  bool alive(std::chrono::milliseconds d = kDeadline, std::string* why = nullptr) {
    return frames_until_pong(d, why).has_value();
  }

  // Starts the background read loop of a client made with read_loop = false, or resumes
  // one stopped by pause_reading().
  void start_reading();

  // Stops reading after the read in flight (which may still take one more frame): from
  // then on the server's frames pile up in the socket, as with a consumer that stalled.
  void pause_reading();

  // Starts the close handshake with `code` (the read loop then reports the server's close).
  void close(std::uint16_t code = 1000);

  // Drops the TCP connection without a close frame.
  void drop();

 private:
  enum class WriteKind { text, binary, raw };
  struct Io;  // the io_context, its thread and the Beast stream (ws_test_client.cpp)

  explicit WsClient(WsOptions opts);
  HandshakeResult do_connect(std::uint16_t port);
  void do_read();
  void do_write();
  // Puts frames back at the front of the queue, in their order.
  void requeue_front(std::vector<Frame> frames);
  void push(Frame f);
  bool enqueue(std::string payload, WriteKind kind, std::chrono::milliseconds d);
  void enqueue_async(std::string payload, WriteKind kind);

  WsOptions opts_;
  std::unique_ptr<Io> io_;
  std::uint16_t local_port_ = 0;  // set on the I/O thread before connect() returns
  json::object welcome_;
  std::int64_t ping_counter_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Frame> frames_;       // guarded by mu_
  std::optional<Frame> terminal_;  // guarded by mu_: close or dropped, once
};

// ---- HTTP --------------------------------------------------------------------------------

struct HttpResponse {
  unsigned status = 0;  // 0 when no answer came (see `error`)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;

  json::value json() const {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    return ec ? json::value() : v;
  }
  json::object object() const { return parse_object(body); }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  std::string describe() const {
    return "HTTP " + std::to_string(status) + " " + error +
           " body=" + (body.size() > 400 ? body.substr(0, 400) + "..." : body);
  }
};

// One request on a fresh connection, bounded by `d`.
HttpResponse http_request(std::uint16_t port, http::verb method, const std::string& target,
                          const std::string& body = {},
                          const std::vector<std::pair<std::string, std::string>>& headers = {},
                          std::chrono::milliseconds d = kDeadline);

inline HttpResponse http_get(std::uint16_t port, const std::string& target,
                             const std::vector<std::pair<std::string, std::string>>& headers = {},
                             std::chrono::milliseconds d = kDeadline) {
  return http_request(port, http::verb::get, target, {}, headers, d);
}

inline HttpResponse http_post(std::uint16_t port, const std::string& target,
                              const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers = {},
                              std::chrono::milliseconds d = kDeadline) {
  return http_request(port, http::verb::post, target, body, headers, d);
}

// ---- raw TCP -----------------------------------------------------------------------------

// A frame as a hand-rolled reader sees it.
struct RawFrame {
  enum class Kind { frame, eof, timeout };
  Kind kind = Kind::timeout;
  bool fin = false;
  std::uint8_t opcode = 0;  // 0x1 text, 0x2 binary, 0x8 close, 0x9 ping, 0xA pong
  std::string payload;
  std::uint16_t close_code() const {
    return payload.size() >= 2
               ? static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                            static_cast<std::uint8_t>(payload[1]))
               : 0;
  }
};

// A blocking TCP socket with deadline-bounded reads, for input no well-behaved client sends.
class RawTcp {
 public:
  // Connects to 127.0.0.1:port; throws on failure.
  explicit RawTcp(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
      throw std::runtime_error(std::string("RawTcp: socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const std::string err = std::strerror(errno);
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("RawTcp: connect: " + err);
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  RawTcp(const RawTcp&) = delete;
  RawTcp& operator=(const RawTcp&) = delete;
  ~RawTcp() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  int fd() const { return fd_; }

  // Sends every byte; false on error (the peer closed, say). Never raises SIGPIPE.
  bool write(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        if (n < 0 && errno == EINTR)
          continue;
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Closes with RST instead of FIN (SO_LINGER 0): an abrupt drop.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd_);
    fd_ = -1;
  }

  // Reads and discards until the peer closes (true) or the deadline passes (false).
  bool wait_eof(std::chrono::milliseconds d = kDeadline) {
    const auto end = std::chrono::steady_clock::now() + d;
    for (;;) {
      const int r = fill(end);
      if (r < 0)
        return true;
      if (r == 0)
        return false;
      buf_.clear();
    }
  }

  // Reads one HTTP response (head, then a Content-Length body, or to EOF without one).
  HttpResponse read_http_response(std::chrono::milliseconds d = kDeadline) {
    HttpResponse out;
    const auto end = std::chrono::steady_clock::now() + d;
    std::size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      const int r = fill(end);
      if (r <= 0) {
        out.error = r < 0 ? "eof before a response" : "timeout before a response";
        out.body = buf_;
        return out;
      }
    }
    const std::string head = buf_.substr(0, head_end);
    buf_.erase(0, head_end + 4);
    std::size_t pos = head.find("\r\n");
    const std::string status_line = head.substr(0, pos);
    if (status_line.rfind("HTTP/1.", 0) == 0 && status_line.size() >= 12)
      out.status = static_cast<unsigned>(std::stoul(status_line.substr(9, 3)));
    while (pos != std::string::npos) {
      const std::size_t next = head.find("\r\n", pos + 2);
      const std::string line =
          head.substr(pos + 2, next == std::string::npos ? next : next - pos - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& ch : name)
          ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ')
          value.erase(0, 1);
        out.headers[name] = value;
      }
      pos = next;
    }
    const std::string cl = out.header("content-length");
    if (!cl.empty()) {
      const std::size_t len = std::stoul(cl);
      while (buf_.size() < len && fill(end) > 0) {
      }
      out.body = buf_.substr(0, std::min(len, buf_.size()));
      buf_.erase(0, out.body.size());
    } else if (out.status != 101 && out.header("transfer-encoding").empty()) {
      while (fill(end) > 0) {
      }
      out.body = std::move(buf_);
      buf_.clear();
    }
    return out;
  }

  // Sends a by-hand upgrade request for `target`; `key`/`version` empty leave the header
  // out. Returns the server's answer (status 101 when upgraded).
  HttpResponse upgrade(const std::string& target = "/ws",
                       std::optional<std::string> key = "dGhlIHNhbXBsZSBub25jZQ==",
                       std::optional<std::string> version = "13",
                       const std::string& extra_headers = {}) {
    std::string req = "GET " + target +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n";
    if (key)
      req += "Sec-WebSocket-Key: " + *key + "\r\n";
    if (version)
      req += "Sec-WebSocket-Version: " + *version + "\r\n";
    req += extra_headers + "\r\n";
    if (!write(req)) {
      HttpResponse r;
      r.error = "write failed";
      return r;
    }
    return read_http_response();
  }

  // Writes one masked client frame.
  bool write_frame(std::uint8_t opcode, std::string_view payload, bool fin = true) {
    std::string f;
    f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
    const std::size_t n = payload.size();
    if (n < 126) {
      f.push_back(static_cast<char>(0x80 | n));
    } else if (n < 65536) {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(n >> 8));
      f.push_back(static_cast<char>(n & 0xff));
    } else {
      f.push_back(static_cast<char>(0x80 | 127));
      for (int i = 7; i >= 0; --i)
        f.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff));
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(mask, 4);
    for (std::size_t i = 0; i < n; ++i)
      f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    return write(f);
  }

  // Reads one (unmasked, server) frame.
  RawFrame read_frame(std::chrono::milliseconds d = kDeadline) {
    const auto end = std::chrono::steady_clock::now() + d;
    RawFrame out;
    auto need = [&](std::size_t n) {
      while (buf_.size() < n) {
        const int r = fill(end);
        if (r <= 0) {
          out.kind = r < 0 ? RawFrame::Kind::eof : RawFrame::Kind::timeout;
          return false;
        }
      }
      return true;
    };
    if (!need(2))
      return out;
    const auto b0 = static_cast<std::uint8_t>(buf_[0]);
    const auto b1 = static_cast<std::uint8_t>(buf_[1]);
    std::size_t header = 2;
    std::uint64_t len = b1 & 0x7f;
    if (len == 126) {
      if (!need(4))
        return out;
      len = (static_cast<std::uint8_t>(buf_[2]) << 8) | static_cast<std::uint8_t>(buf_[3]);
      header = 4;
    } else if (len == 127) {
      if (!need(10))
        return out;
      len = 0;
      for (int i = 0; i < 8; ++i)
        len = (len << 8) | static_cast<std::uint8_t>(buf_[2 + static_cast<std::size_t>(i)]);
      header = 10;
    }
    const bool masked = (b1 & 0x80) != 0;
    const std::size_t mask_at = header;
    if (masked)
      header += 4;
    if (!need(header + len))
      return out;
    out.kind = RawFrame::Kind::frame;
    out.fin = (b0 & 0x80) != 0;
    out.opcode = b0 & 0x0f;
    out.payload = buf_.substr(header, len);
    if (masked)
      for (std::size_t i = 0; i < out.payload.size(); ++i)
        out.payload[i] = static_cast<char>(out.payload[i] ^ buf_[mask_at + i % 4]);
    buf_.erase(0, header + len);
    return out;
  }

 private:
  // Reads what is available into buf_: >0 bytes read, 0 deadline passed, <0 eof or error.
  int fill(std::chrono::steady_clock::time_point end) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return 0;
      pollfd p{fd_, POLLIN, 0};
      const int pr = ::poll(&p, 1, static_cast<int>(left.count()));
      if (pr < 0 && errno == EINTR)
        continue;
      if (pr == 0)
        return 0;
      char tmp[65536];
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      buf_.append(tmp, static_cast<std::size_t>(n));
      return static_cast<int>(n);
    }
  }

  int fd_ = -1;
  std::string buf_;
};

}  // namespace steadyws::test
