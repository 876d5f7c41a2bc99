#include "server/tls_context.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace steadyws::server {

namespace ssl = boost::asio::ssl;

namespace {

// The reason of the first error in OpenSSL's queue (the cause; later entries are the callers
// giving up, like "PEM lib"), and the queue cleared; or `fallback`.
std::string openssl_reason(const char* fallback) {
  const unsigned long e = ERR_peek_error();
  std::string why;
  if (e != 0) {
    const char* r = ERR_reason_error_string(e);
    why = r != nullptr ? r : "error " + std::to_string(e);
  } else {
    why = fallback;
  }
  ERR_clear_error();
  return why;
}

// "" if `path` can be opened for reading, else the reason (errno's message).
std::string unreadable(const std::string& path) {
  std::ifstream in(path);
  if (in)
    return "";
  return std::strerror(errno);
}

// ALPN: we speak HTTP/1.1 only (the WebSocket upgrade is HTTP/1.1); a client that offers
// only h2 gets no ALPN answer and still sees HTTP/1.1 from us, as RFC 7301 §3.2 allows.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* sel = nullptr;
  if (SSL_select_next_proto(&sel, outlen, kHttp11, sizeof kHttp11, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

boost::system::result<std::shared_ptr<ssl::context>, std::string> load_tls_context(
    const std::string& cert_file, const std::string& key_file) {
  using R = boost::system::result<std::shared_ptr<ssl::context>, std::string>;
  auto fail = [](std::string why) {
    return R(boost::system::in_place_error, std::move(why));
  };
  if (auto why = unreadable(cert_file); !why.empty())
    return fail("cannot read --tls-cert " + cert_file + ": " + why);
  if (auto why = unreadable(key_file); !why.empty())
    return fail("cannot read --tls-key " + key_file + ": " + why);

  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* h = ctx->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(h, TLS1_2_VERSION);  // TLS 1.2 and 1.3 only
  SSL_CTX_set_options(
      h, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Asio's engine sets SSL_MODE_RELEASE_BUFFERS on every SSL it creates; set it on the
  // context too, so it holds whatever creates the SSL (docs/operations.md has the cost).
  SSL_CTX_set_mode(h, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(h, select_alpn, nullptr);
  // Session tickets let a reconnecting client resume without a full handshake.
  SSL_CTX_set_session_cache_mode(h, SSL_SESS_CACHE_SERVER);

  if (SSL_CTX_use_certificate_chain_file(h, cert_file.c_str()) != 1)
    return fail("cannot use --tls-cert " + cert_file + ": " +
                openssl_reason("not a PEM certificate"));
  if (SSL_CTX_use_PrivateKey_file(h, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL checks the key against the certificate here already.
    if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH)
      return fail("--tls-key " + key_file + " does not match --tls-cert " + cert_file + ": " +
                  openssl_reason("key values mismatch"));
    return fail("cannot use --tls-key " + key_file + ": " + openssl_reason("not a PEM key"));
  }
  if (SSL_CTX_check_private_key(h) != 1)
    return fail("--tls-key " + key_file + " does not match --tls-cert " + cert_file + ": " +
                openssl_reason("key values mismatch"));
  return ctx;
}

std::string TlsContexts::reload(std::string& serial) {
  auto r = load_tls_context(cert_file_, key_file_);
  if (!r)
    return r.error();
  serial = certificate_serial(**r);
  const std::lock_guard<std::mutex> g(mu_);
  ctx_ = std::move(*r);
  return "";
}

std::string certificate_serial(ssl::context& ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx.native_handle());
  if (cert == nullptr)
    return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr)
    return "";
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

}  // namespace steadyws::server
