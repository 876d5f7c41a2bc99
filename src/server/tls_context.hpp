// The server's TLS configuration (CONTRACT §6): the SSL context built from --tls-cert and
// --tls-key, and its reload on SIGHUP.
//
// A context is immutable once built; a reload builds a new one and swaps the pointer, so a
// connection keeps the context it was accepted with (its SSL object holds a reference) and
// only new connections see the new certificate. Thread-safe: current() and reload() may be
// called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/result.hpp>

namespace steadyws::server {

// Builds a server context: TLS 1.2 and 1.3 only, ALPN http/1.1, the certificate chain and
// key from PEM files. On failure, the reason names the file and OpenSSL's reason, e.g.
// `cannot read --tls-key /x/key.pem: No such file or directory` or `--tls-key k.pem does not
// match --tls-cert c.pem: key values mismatch`.
boost::system::result<std::shared_ptr<boost::asio::ssl::context>, std::string> load_tls_context(
    const std::string& cert_file, const std::string& key_file);

class TlsContexts {
 public:
  TlsContexts(std::string cert_file, std::string key_file,
              std::shared_ptr<boost::asio::ssl::context> first)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), ctx_(std::move(first)) {}

  // The context for a connection accepted now.
  std::shared_ptr<boost::asio::ssl::context> current() const {
    const std::lock_guard<std::mutex> g(mu_);
    return ctx_;
  }

  // Rebuilds the context from the same files. On failure the old one stays and the reason is
  // returned (empty on success). `serial` gets the new certificate's serial number (hex).
  std::string reload(std::string& serial);

  const std::string& cert_file() const { return cert_file_; }
  const std::string& key_file() const { return key_file_; }

 private:
  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
};

// The serial number of the context's certificate, in hex ("" if none).
std::string certificate_serial(boost::asio::ssl::context& ctx);

}  // namespace steadyws::server
