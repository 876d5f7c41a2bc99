// The installed client end to end: connect to the URL in argv[1], subscribe, publish to the
// same channel, and exit 0 once the message comes back (1 after 10 s without it).
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>

#include <boost/json/value.hpp>

#include "steadyws/client.hpp"

#ifdef BOOST_ASIO_SEPARATE_COMPILATION
#error "the library's Asio build define leaked into its user"
#endif

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer ws://HOST:PORT/ws\n");
    return 2;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::string got;
  steadyws::ClientOptions o;
  o.urls = {argv[1]};
  o.on_message = [&](const steadyws::ReceivedMessage& m) {
    const std::lock_guard<std::mutex> g(mu);
    got = m.channel + " " + std::to_string(m.seq);
    cv.notify_all();
  };
  steadyws::Client client(std::move(o));
  client.subscribe("installed");
  client.connect();
  client.publish("installed", boost::json::value("hello from find_package"));
  std::unique_lock<std::mutex> lock(mu);
  if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return !got.empty(); })) {
    std::fprintf(stderr, "consumer: no message within 10 s (state %s)\n",
                 std::string(steadyws::to_string(client.connection_status())).c_str());
    return 1;
  }
  std::printf("consumer: received %s\n", got.c_str());
  return 0;
}
