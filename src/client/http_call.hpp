// One HTTP/1.1 request over a fresh TCP connection, for the client's long-polling fallback
// (GET /api/poll, POST /api/publish). Callback style (STYLE 3.5): the call keeps itself alive
// through shared_from_this until its completion handler has run. Not a general HTTP client:
// no keep-alive, no redirects. TLS (https) when given a context (the endpoint is wss://).
// Thread-safety: start() and cancel() must be called on the io_context's thread; the
// completion runs there too, exactly once (operation_aborted after cancel()).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "client/tls.hpp"
#include "client/url.hpp"

namespace steadyws::client {

class HttpCall : public std::enable_shared_from_this<HttpCall> {
 public:
  // ec: the I/O error (operation_aborted when cancelled, timeout when the deadline passed);
  // status and body are meaningful only when !ec.
  using Handler =
      std::function<void(boost::system::error_code ec, unsigned status, std::string body)>;

  HttpCall(boost::asio::io_context& ioc, Endpoint endpoint, boost::beast::http::verb method,
           std::string target, std::string body, std::chrono::milliseconds timeout, Handler handler,
           std::shared_ptr<boost::asio::ssl::context> tls = nullptr);

  void start();
  // Aborts the call; the handler then runs with operation_aborted (if it has not run yet).
  void cancel();

 private:
  void on_resolve(boost::system::error_code ec,
                  boost::asio::ip::tcp::resolver::results_type results);
  void on_connect(boost::system::error_code ec, boost::asio::ip::tcp::endpoint);
  void on_tls(boost::system::error_code ec);
  void on_write(boost::system::error_code ec, std::size_t);
  void on_read(boost::system::error_code ec, std::size_t);
  void finish(boost::system::error_code ec);

  boost::asio::ip::tcp::resolver resolver_;
  MaybeTlsStream stream_;
  Endpoint endpoint_;
  std::chrono::milliseconds timeout_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::request<boost::beast::http::string_body> req_;
  boost::beast::http::response<boost::beast::http::string_body> res_;
  Handler handler_;
  bool cancelled_ = false;
};

}  // namespace steadyws::client
