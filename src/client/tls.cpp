#include "client/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>

namespace steadyws::client {

namespace ssl = boost::asio::ssl;

boost::system::result<std::shared_ptr<ssl::context>, std::string> make_tls_client_context(
    const std::string& ca_file, bool insecure) {
  using R = boost::system::result<std::shared_ptr<ssl::context>, std::string>;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* h = ctx->native_handle();
  SSL_CTX_set_min_proto_version(h, TLS1_2_VERSION);
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(h, kAlpn, sizeof kAlpn);
  if (insecure) {
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  ERR_clear_error();
  if (!ca_file.empty()) {
    std::ifstream in(ca_file);
    if (!in)
      return R(boost::system::in_place_error,
               "cannot read --ca-file " + ca_file + ": " + std::strerror(errno));
    if (SSL_CTX_load_verify_locations(h, ca_file.c_str(), nullptr) != 1) {
      const unsigned long e = ERR_peek_last_error();
      const char* r = e != 0 ? ERR_reason_error_string(e) : nullptr;
      ERR_clear_error();
      return R(boost::system::in_place_error, "cannot use --ca-file " + ca_file + ": " +
                                                  (r != nullptr ? r : "no PEM certificate"));
    }
  } else if (SSL_CTX_set_default_verify_paths(h) != 1) {
    ERR_clear_error();
    return R(boost::system::in_place_error,
             "cannot load the system's CA store; pass --ca-file FILE");
  }
  return ctx;
}

void MaybeTlsStream::prepare(const std::string& host, bool verify) {
  SSL* ssl = tls_->native_handle();
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(host, ec);
  const bool is_ip = !ec;
  if (!is_ip)
    // SNI is for names only (RFC 6066 §3). SSL_set_tlsext_host_name, without its C cast.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
  if (!verify || SSL_get_verify_mode(ssl) == SSL_VERIFY_NONE)
    return;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (is_ip)
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  else
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
}

std::string MaybeTlsStream::tls_failure(const boost::beast::error_code& ec) {
  if (tls_) {
    const long v = SSL_get_verify_result(tls_->native_handle());
    if (v != X509_V_OK)
      return std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
  }
  return ec.message();
}

}  // namespace steadyws::client
