// permessage-deflate (RFC 7692): the server's negotiation, and the zlib streams that compress
// and inflate whole messages. CONTRACT §7.
//
// Negotiation is a pure function of the client's Sec-WebSocket-Extensions value(s): Beast does
// the upgrade with its own permessage-deflate off, our reader and writer run after it, so the
// answer (a Sec-WebSocket-Extensions response header) is ours. An offer we cannot honour or do
// not understand is skipped; when none is left the extension is declined (no header) and the
// connection goes on uncompressed, never answered wrong.
//
// Deflater and Inflater wrap one raw-deflate zlib stream each (negative window bits, RFC 7692
// §7.2: no zlib header, the 00 00 ff ff tail of a sync flush removed from each message and put
// back before inflating). The thread's shared ones (shared_deflater(), inflate_message())
// serve the no-context-takeover case without any per-connection zlib state.
//
// Thread-safety: negotiate_deflate is pure. A Deflater or Inflater is used by one thread at a
// time; shared_deflater() and inflate_message() use thread_local streams.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct z_stream_s;  // zlib's z_stream, kept out of this header

namespace steadyws::protocol {

// What was agreed for one connection, from the server's side.
struct DeflateParams {
  // We reset our compressor after each message (so one compressed frame can go to every
  // subscriber with the same window: the shared compressor).
  bool server_no_context_takeover = true;
  // The client resets its compressor after each message (so we inflate each message on its
  // own, with the thread's inflater, and keep no zlib state per connection).
  bool client_no_context_takeover = true;
  int server_max_window_bits = 15;  // the LZ77 window our deflater may use (9-15)
};

struct DeflatePolicy {
  bool enabled = false;  // --compression
  // false (default): we always answer server_no_context_takeover and
  // client_no_context_takeover (RFC 7692 §7.1.1 lets a server add both to any offer), so a
  // compressed connection costs no zlib state and a publish is deflated once for everyone.
  // true: context takeover where the client allows it (better ratio on small, similar
  // messages; a deflate stream of ~256 KiB + an inflate stream of ~40 KiB per connection).
  bool context_takeover = false;
};

struct DeflateAgreement {
  DeflateParams params;
  std::string response;  // the Sec-WebSocket-Extensions value to answer with
};

// Picks the first permessage-deflate offer in `offers` (the request's Sec-WebSocket-Extensions
// values joined with ", ") that is well-formed and that we can honour, RFC 7692 §7.1:
//   server_no_context_takeover, client_no_context_takeover: no value, at most once;
//   server_max_window_bits=N: N in 9..15 (8 is declined: zlib's raw deflate cannot keep to a
//     256-byte window), echoed in the answer; without a value the offer is malformed;
//   client_max_window_bits[=N]: N in 8..15 if given; not answered (we inflate with a 32 KiB
//     window, which reads any smaller one);
//   any other parameter, a repeated one, or a bad value: that offer is skipped.
// Returns nullopt (decline) when `policy.enabled` is false, when no offer is acceptable, or
// when the header does not parse (RFC 6455 §9.1 grammar: tokens, quoted-strings, `;`, `,`).
std::optional<DeflateAgreement> negotiate_deflate(std::string_view offers,
                                                  const DeflatePolicy& policy);

// zlib level for outgoing messages: 6, zlib's default balance. A shared compressor deflates a
// publish once whatever the number of subscribers, so the level's cost is per publish.
inline constexpr int kDeflateLevel = 6;
// memLevel 8: zlib's default (a 64 KiB hash and ~64 KiB of pending buffer at 15 bits).
inline constexpr int kDeflateMemLevel = 8;

class Deflater {
 public:
  // REQUIRES: 9 <= window_bits <= 15.
  explicit Deflater(int window_bits, int level = kDeflateLevel);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Appends the permessage-deflate payload of the whole message `in` to `out`: deflated with a
  // sync flush, its 00 00 ff ff tail removed (RFC 7692 §7.2.1). Resets the stream afterwards
  // unless `keep_context`. Returns false when zlib failed (out is then unspecified; the
  // stream was reset).
  bool compress(std::string_view in, std::string& out, bool keep_context);

 private:
  std::unique_ptr<z_stream_s> z_;
  bool ok_ = false;
};

// The thread's deflater for `window_bits` (9-15), reset after every message: the shared
// compressor of the no-context-takeover case. Never null.
Deflater& shared_deflater(int window_bits);

enum class InflateResult {
  ok,
  too_big,   // the inflated message would pass the limit: stopped at limit + 1 bytes
  bad_data,  // not a valid deflate stream
};

class Inflater {
 public:
  Inflater();  // a 32 KiB window: reads what any window of 8-15 bits wrote
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflates `in` (one fragment of a compressed message) and appends the result to `out`;
  // `last`: the message's final fragment, after which the 00 00 ff ff tail is fed too.
  // Stops with too_big the moment out.size() would pass `limit` (0: no limit), so a small
  // frame that inflates to gigabytes costs at most `limit` + a little. Never throws.
  InflateResult inflate(std::string_view in, bool last, std::string& out, std::size_t limit);

  // Forgets the window (client_no_context_takeover: after each message).
  void reset();

  // Compressed bytes given to inflate() since the current message began (0 after `last`).
  std::size_t message_input_bytes() const noexcept { return message_input_; }

 private:
  InflateResult run(const unsigned char* in, std::size_t n, std::string& out, std::size_t limit);
  std::unique_ptr<z_stream_s> z_;
  std::size_t message_input_ = 0;
  bool ok_ = false;
};

// Inflates one whole compressed message with the thread's inflater (reset before and after):
// for a peer without context takeover, at no per-connection cost.
InflateResult inflate_message(std::string_view in, std::string& out, std::size_t limit);

}  // namespace steadyws::protocol
