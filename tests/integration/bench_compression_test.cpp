// `steadyws bench --compression` (issue 11): the load generator's permessage-deflate offer.
// Against the real `steadyws serve --compression`: every connection agrees the extension and
// every delivery arrives compressed and checked (seq without gaps), with fewer bytes on the
// wire than the payload; against a server without --compression the offer is declined and the
// run goes on uncompressed. Against a small peer written here that fragments each compressed
// message into three frames with a protocol ping between them: each message counts once and
// its seq is read across the fragments. No timing targets (those are `make bench`'s).
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/run_steadyws.hpp"
#include "support/server_process.hpp"

namespace steadyws::test {
namespace {

namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;

ToolRun run_bench(const std::vector<std::string>& args) {
  return run_steadyws("bench", args, "--json --no-progress");
}

double number_at(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<double>() : -1;
}

double errors_total(const json::object& o) {
  const auto* e = o.if_contains("errors");
  return e != nullptr && e->is_object() ? number_at(e->as_object(), "total") : -1;
}

std::vector<std::string> fanout_args(const std::string& url, const std::string& subscribers) {
  return {"fanout", "--url",     url,    "--subscribers",      subscribers,    "--in-flight",
          "4",      "--payload", "2048", "--payload-fill",     "records",      "--duration",
          "1",      "--warmup",  "0.2",  "--pace-by-delivery", "--compression"};
}

TEST(BenchCompression, FanoutAgreesDeflateAndEveryDeliveryIsCompressed) {
  ServerProcess server({"--threads", "1", "--rate-limit", "0", "--compression"});
  const auto r = run_bench(fanout_args(ws_url_of(server), "20"));
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(errors_total(r.report), 0) << r.out;  // gaps, duplicates, undelivered included
  EXPECT_EQ(number_at(r.report, "compression_negotiated"), 21) << r.out;  // + the publisher
  const double deliveries = number_at(r.report, "deliveries");
  ASSERT_GT(deliveries, 0) << r.out;
  // Every message is over --compression-min-bytes; acks and pongs are under it.
  EXPECT_EQ(number_at(r.report, "compressed_messages"), deliveries) << r.out;
  // Record-like text deflates: a delivery costs less on the wire than its 2 KB of data.
  const double per_delivery = number_at(r.report, "wire_rx_bytes_per_delivery");
  EXPECT_GT(per_delivery, 0) << r.out;
  EXPECT_LT(per_delivery, 2048) << r.out;
}

TEST(BenchCompression, WithoutServerCompressionTheOfferIsDeclined) {
  ServerProcess server({"--threads", "1", "--rate-limit", "0"});
  const auto r = run_bench(fanout_args(ws_url_of(server), "10"));
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(errors_total(r.report), 0) << r.out;
  EXPECT_EQ(number_at(r.report, "compression_negotiated"), 0) << r.out;
  EXPECT_EQ(number_at(r.report, "compressed_messages"), 0) << r.out;
  EXPECT_GT(number_at(r.report, "deliveries"), 0) << r.out;
  EXPECT_GT(number_at(r.report, "wire_rx_bytes_per_delivery"), 2048) << r.out;
}

// ---- a peer that fragments its compressed messages -------------------------------------

// Raw deflate of `in` with a sync flush, the 00 00 ff ff tail removed (RFC 7692 §7.2.1).
std::string deflate_message(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(in.size() + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  EXPECT_GE(out.size(), 4u);
  out.resize(out.size() - 4);
  return out;
}

// One unmasked server frame.
std::string frame(unsigned first_byte, const std::string& payload) {
  std::string f(1, static_cast<char>(first_byte));
  if (payload.size() <= 125) {
    f += static_cast<char>(payload.size());
  } else {
    EXPECT_LE(payload.size(), 0xFFFFu);
    f += static_cast<char>(126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xFF);
  }
  return f + payload;
}

// Accepts connections on a free port, one thread each: answers the upgrade agreeing
// permessage-deflate without context takeover, sends a welcome, answers subscribe and
// publish (ack, then the message to every subscriber as three fragments of one compressed
// message, RSV1 on the first, a protocol ping between the second and the third).
// `skip_seq` (0: none): that publish is acked and never sent to anyone (a gap).
class FragmentingPeer {
 public:
  explicit FragmentingPeer(std::uint64_t skip_seq = 0)
      : skip_seq_(skip_seq), acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    accept_thread_ = std::thread([this] {
      while (!stopping_) {
        auto s = std::make_shared<tcp::socket>(ioc_);
        boost::system::error_code ec;
        acceptor_.accept(*s, ec);
        if (ec || stopping_)
          break;
        std::lock_guard lock(mu_);
        threads_.emplace_back([this, s] { serve(s); });
        all_.push_back(s);
      }
    });
  }
  ~FragmentingPeer() {
    stopping_ = true;
    boost::system::error_code ec;
    {  // a blocked accept() does not wake on close: one last connection wakes it
      tcp::socket wake(ioc_);
      wake.connect(acceptor_.local_endpoint(), ec);
    }
    accept_thread_.join();
    acceptor_.close(ec);
    {
      std::lock_guard lock(mu_);
      for (auto& s : all_)  // shutdown wakes a blocked read; close alone would not
        s->shutdown(tcp::socket::shutdown_both, ec);
    }
    for (auto& t : threads_)
      t.join();
  }
  std::string url() const {
    return "ws://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/ws";
  }
  std::uint64_t published() const { return seq_; }

 private:
  using Socket = std::shared_ptr<tcp::socket>;

  void send(const Socket& s, const std::string& bytes) {
    std::lock_guard lock(mu_);  // one writer at a time on any socket: frames never interleave
    boost::system::error_code ec;
    net::write(*s, net::buffer(bytes), ec);
  }

  void serve(const Socket& s) {
    boost::system::error_code ec;
    std::string in;
    net::read_until(*s, net::dynamic_buffer(in), "\r\n\r\n", ec);
    if (ec)
      return;
    in.erase(0, in.find("\r\n\r\n") + 4);
    send(s,
         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
         "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
         "client_no_context_takeover\r\n\r\n" +
             frame(0x81, R"({"type":"welcome","sessionId":"s","resumed":false})"));
    for (;;) {
      while (in.size() < 6 || in.size() < frame_size(in)) {
        char buf[4096];
        const std::size_t n = s->read_some(net::buffer(buf), ec);
        if (ec)
          return;
        in.append(buf, n);
      }
      const std::size_t total = frame_size(in);
      const std::size_t header = total - payload_size(in);
      std::string payload = in.substr(header, total - header);
      for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<char>(payload[i] ^ in[header - 4 + (i & 3)]);
      const unsigned op = static_cast<unsigned char>(in[0]) & 0x0F;
      in.erase(0, total);
      if (op == 0x1)
        on_text(s, payload);
    }
  }

  static std::size_t payload_size(const std::string& in) {
    const unsigned len = static_cast<unsigned char>(in[1]) & 0x7F;
    if (len < 126)
      return len;
    return (static_cast<std::size_t>(static_cast<unsigned char>(in[2])) << 8) |
           static_cast<unsigned char>(in[3]);  // the bench's frames stay under 64 KiB
  }
  static std::size_t frame_size(const std::string& in) {
    const unsigned len = static_cast<unsigned char>(in[1]) & 0x7F;
    return 2 + (len == 126 ? 2 : 0) + 4 + payload_size(in);
  }

  void on_text(const Socket& s, const std::string& text) {
    const json::object m = json::parse(text).as_object();
    if (!m.contains("channel"))
      return;
    const std::string type(m.at("type").as_string());
    const std::string channel(m.at("channel").as_string());
    if (type == "subscribe") {
      {
        std::lock_guard lock(mu_);
        subscribers_.push_back(s);
      }
      send(s, frame(0x81, R"({"type":"subscribed","channel":")" + channel + R"(","seq":0})"));
      return;
    }
    if (type != "publish")
      return;
    const std::uint64_t seq = ++seq_;
    send(s, frame(0x81, R"({"type":"ack","channel":")" + channel + R"(","seq":)" +
                            std::to_string(seq) + "}"));
    const std::string msg = R"({"type":"message","channel":")" + channel + R"(","seq":)" +
                            std::to_string(seq) + R"(,"id":null,"data":")" +
                            std::string(m.at("data").as_string()) + R"(","timestamp":1})";
    const std::string z = deflate_message(msg);
    const std::size_t third = z.size() / 3;
    const std::string wire = frame(0x41 /* RSV1, text, not FIN */, z.substr(0, third)) +
                             frame(0x00 /* continuation */, z.substr(third, third)) +
                             frame(0x89 /* ping */, "p") +
                             frame(0x80 /* FIN continuation */, z.substr(2 * third));
    if (seq == skip_seq_)
      return;
    std::vector<Socket> subs;
    {
      std::lock_guard lock(mu_);
      subs = subscribers_;
    }
    for (const auto& sub : subs)
      send(sub, wire);
  }

  const std::uint64_t skip_seq_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> seq_{0};
  std::mutex mu_;
  std::vector<Socket> all_;
  std::vector<Socket> subscribers_;
  std::vector<std::thread> threads_;
  std::thread accept_thread_;
};

TEST(BenchCompression, FragmentedCompressedMessagesCountOncePerMessage) {
  FragmentingPeer peer;
  const auto r = run_bench(fanout_args(peer.url(), "3"));
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(errors_total(r.report), 0) << r.out;  // seq read across fragments: no gap
  EXPECT_EQ(number_at(r.report, "compression_negotiated"), 4) << r.out;
  const double deliveries = number_at(r.report, "deliveries");
  ASSERT_GT(deliveries, 0) << r.out;
  // One count per message, not per frame (three data frames and a ping carry each one).
  EXPECT_EQ(number_at(r.report, "compressed_messages"), deliveries) << r.out;
  // Every publish reached the three subscribers exactly once over the whole run.
  EXPECT_GT(peer.published(), 0u);
  EXPECT_LE(deliveries, 3.0 * static_cast<double>(peer.published())) << r.out;
}

// The bench inflates one compressed message in 16 per subscriber and takes the others as
// the next seq: a message missing among the uninspected ones must still show as a gap.
TEST(BenchCompression, AGapAmongUninspectedCompressedMessagesIsFound) {
  FragmentingPeer peer(/*skip_seq=*/3);  // seq 3 reaches no subscriber; 1-2 and 4-16 do
  const auto r = run_bench(fanout_args(peer.url(), "3"));
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 1) << r.out;
  ASSERT_GT(peer.published(), 16u) << r.out;  // an inspected message came after the gap
  const auto& errors = r.report.at("errors").as_object();
  EXPECT_GE(number_at(errors, "gaps"), 3) << r.out;  // one per subscriber
}

}  // namespace
}  // namespace steadyws::test
