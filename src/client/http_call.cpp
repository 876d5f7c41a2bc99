#include "client/http_call.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace steadyws::client {
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

HttpCall::HttpCall(net::io_context& ioc, Endpoint endpoint, http::verb method, std::string target,
                   std::string body, std::chrono::milliseconds timeout, Handler handler,
                   std::shared_ptr<net::ssl::context> tls)
    : resolver_(ioc),
      stream_(tls ? MaybeTlsStream(ioc, std::move(tls)) : MaybeTlsStream(ioc)),
      endpoint_(std::move(endpoint)),
      timeout_(timeout),
      handler_(std::move(handler)) {
  req_.method(method);
  req_.target(target);
  req_.version(11);
  req_.set(http::field::host, endpoint_.host_header());
  req_.set(http::field::user_agent, "steadyws-client");
  req_.set(http::field::connection, "close");
  if (!endpoint_.token.empty())
    req_.set(http::field::authorization, "Bearer " + endpoint_.token);
  if (method == http::verb::post) {
    req_.set(http::field::content_type, "application/json");
    req_.body() = std::move(body);
  }
  req_.prepare_payload();
}

void HttpCall::start() {
  stream_.next_layer().expires_after(timeout_);
  resolver_.async_resolve(endpoint_.host, endpoint_.port,
                          beast::bind_front_handler(&HttpCall::on_resolve, shared_from_this()));
}

void HttpCall::cancel() {
  cancelled_ = true;
  resolver_.cancel();
  beast::error_code ignored;
  stream_.next_layer().socket().cancel(ignored);
  stream_.next_layer().socket().close(ignored);
}

void HttpCall::on_resolve(beast::error_code ec, net::ip::tcp::resolver::results_type results) {
  if (ec || cancelled_)
    return finish(cancelled_ ? net::error::operation_aborted : ec);
  stream_.next_layer().async_connect(
      results, beast::bind_front_handler(&HttpCall::on_connect, shared_from_this()));
}

void HttpCall::on_connect(beast::error_code ec, net::ip::tcp::endpoint) {
  if (ec || cancelled_)
    return finish(cancelled_ ? net::error::operation_aborted : ec);
  if (stream_.is_tls())
    return stream_.async_tls_handshake(
        endpoint_.host, true, beast::bind_front_handler(&HttpCall::on_tls, shared_from_this()));
  on_tls({});
}

void HttpCall::on_tls(beast::error_code ec) {
  if (ec || cancelled_)
    return finish(cancelled_ ? net::error::operation_aborted : ec);
  http::async_write(stream_, req_,
                    beast::bind_front_handler(&HttpCall::on_write, shared_from_this()));
}

void HttpCall::on_write(beast::error_code ec, std::size_t) {
  if (ec || cancelled_)
    return finish(cancelled_ ? net::error::operation_aborted : ec);
  http::async_read(stream_, buffer_, res_,
                   beast::bind_front_handler(&HttpCall::on_read, shared_from_this()));
}

void HttpCall::on_read(beast::error_code ec, std::size_t) {
  if (cancelled_)
    return finish(net::error::operation_aborted);
  if (ec)
    return finish(ec);
  beast::error_code ignored;
  stream_.next_layer().socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  finish({});
}

void HttpCall::finish(beast::error_code ec) {
  if (!handler_)
    return;
  auto h = std::move(handler_);
  handler_ = nullptr;
  if (ec)
    h(ec, 0, {});
  else
    h(ec, res_.result_int(), std::move(res_.body()));
}

}  // namespace steadyws::client
