// Small pure pieces of the client's side of the wire that are worth testing without sockets:
// the restart hint in a 1001 close reason, the /api/poll answer, and frames built from the
// codec. Private to src/client; no I/O, no clock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include "steadyws/core/time.hpp"

#include "client/url.hpp"
#include "protocol/messages.hpp"

namespace steadyws::client {

// The N of a close reason {"retryAfterMs":N} (CONTRACT §1 shutdown), or nullopt when the
// reason is not that object or N is not a non-negative integer. N is capped at 1 hour so a
// broken server cannot park us forever.
std::optional<Duration> retry_after_from_reason(std::string_view reason);

// One message of an /api/poll answer: the typed frame plus its JSON text for the application.
struct PolledMessage {
  protocol::Message message;
  std::string json;
};

// The body of an /api/poll answer (CONTRACT §3):
// {"messages":[...],"cursors":{C:N},"epochs":{C:E},"recovered":{C:B}}.
// Messages that fail the codec's rules are skipped and counted in `bad_messages`.
struct PollAnswer {
  std::vector<PolledMessage> messages;
  std::map<std::string, std::uint64_t, std::less<>> cursors;
  std::map<std::string, std::string, std::less<>> epochs;
  std::map<std::string, bool, std::less<>> recovered;
  std::size_t bad_messages = 0;
};

// Parses an /api/poll body; the error is one line for logs. Missing maps are empty.
Result<PollAnswer> parse_poll_answer(std::string_view body);

// The `ack` object answered by POST /api/publish (the same shape as on /ws; "type" optional).
Result<protocol::Ack> parse_publish_answer(std::string_view body);

// The publish frame stored in the offline queue; it doubles as the POST /api/publish body
// (the server ignores "type" there, CONTRACT §3).
std::string publish_frame(const std::string& channel, const boost::json::value& data,
                          const std::string& id);

// An app-level ping {"type":"ping","timestamp":T} (CONTRACT §2).
std::string ping_frame(std::int64_t timestamp);

// The token of a pong: its timestamp as an integer, or nullopt when it is not one we sent.
std::optional<std::int64_t> pong_token(const protocol::Pong& p);

}  // namespace steadyws::client
