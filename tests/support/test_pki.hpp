// Certificates made by the tests themselves (CONTRACT §6 tests): a test CA, server
// certificates for 127.0.0.1 and localhost signed by it (each with its own serial, for the
// reload test), one for another host name, an expired one, and a second CA nobody trusts.
// Written as PEM files into a fresh temp directory, removed by the destructor. OpenSSL's API
// only (no `openssl` command, no fixed files in the repository): EC P-256 keys, SHA-256.
//
// Not thread-safe; one test owns one TestPki. Throws std::runtime_error if OpenSSL fails.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace steadyws::test {

class TestPki {
 public:
  struct Pair {
    std::string cert;  // PEM certificate file
    std::string key;   // PEM private key file
  };

  TestPki() {
    char tmpl[] = "/tmp/steadyws-pki-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("TestPki: mkdtemp failed");
    dir_ = tmpl;
    ca_key_ = make_key();
    ca_cert_ =
        make_cert(ca_key_.get(), nullptr, nullptr, "steadyws test CA", "", 1, 0, 86400, true);
    write_cert(ca_cert_.get(), path("ca.pem"));
    other_ca_key_ = make_key();
    other_ca_cert_ =
        make_cert(other_ca_key_.get(), nullptr, nullptr, "untrusted CA", "", 2, 0, 86400, true);
    write_cert(other_ca_cert_.get(), path("other-ca.pem"));
  }
  ~TestPki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return path("ca.pem"); }
  std::string other_ca_file() const { return path("other-ca.pem"); }

  // A server certificate named `name` (files name.pem, name-key.pem) for `san` (OpenSSL's
  // syntax: "IP:127.0.0.1,DNS:localhost"), valid from now+not_before_s to now+not_after_s,
  // signed by the test CA (or by the untrusted one).
  Pair server(const std::string& name, long serial,
              const std::string& san = "IP:127.0.0.1,DNS:localhost", long not_before_s = -60,
              long not_after_s = 86400, bool untrusted_issuer = false) {
    auto key = make_key();
    auto cert = make_cert(key.get(), untrusted_issuer ? other_ca_cert_.get() : ca_cert_.get(),
                          untrusted_issuer ? other_ca_key_.get() : ca_key_.get(), "localhost", san,
                          serial, not_before_s, not_after_s, false);
    Pair p{path(name + ".pem"), path(name + "-key.pem")};
    write_cert(cert.get(), p.cert);
    write_key(key.get(), p.key);
    return p;
  }

  std::string path(const std::string& file) const { return dir_ + "/" + file; }

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  struct CertFree {
    void operator()(X509* c) const { X509_free(c); }
  };
  using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
  using Cert = std::unique_ptr<X509, CertFree>;

  static void check(bool ok, const char* what) {
    if (!ok)
      throw std::runtime_error(std::string("TestPki: ") + what + " failed");
  }

  static Key make_key() {
    Key k(EVP_EC_gen("P-256"));
    check(k != nullptr, "EVP_EC_gen");
    return k;
  }

  static void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }

  static Cert make_cert(EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, const std::string& cn,
                        const std::string& san, long serial, long not_before_s, long not_after_s,
                        bool ca) {
    Cert c(X509_new());
    check(c != nullptr, "X509_new");
    X509_set_version(c.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(c.get()), not_before_s);
    X509_gmtime_adj(X509_getm_notAfter(c.get()), not_after_s);
    X509_set_pubkey(c.get(), key);
    X509_NAME* name = X509_get_subject_name(c.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(c.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
    X509* iss = issuer != nullptr ? issuer : c.get();
    if (ca) {
      add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
      add_ext(c.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
      add_ext(c.get(), iss, NID_basic_constraints, "CA:FALSE");
      add_ext(c.get(), iss, NID_ext_key_usage, "serverAuth");
      if (!san.empty())
        add_ext(c.get(), iss, NID_subject_alt_name, san);
    }
    add_ext(c.get(), iss, NID_subject_key_identifier, "hash");
    check(X509_sign(c.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
          "X509_sign");
    return c;
  }

  static void write_cert(X509* c, const std::string& file) {
    FILE* f = std::fopen(file.c_str(), "w");
    check(f != nullptr, "fopen");
    const bool ok = PEM_write_X509(f, c) == 1;
    std::fclose(f);
    check(ok, "PEM_write_X509");
  }
  static void write_key(EVP_PKEY* k, const std::string& file) {
    FILE* f = std::fopen(file.c_str(), "w");
    check(f != nullptr, "fopen");
    const bool ok = PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    std::fclose(f);
    check(ok, "PEM_write_PrivateKey");
  }

  std::string dir_;
  Key ca_key_;
  Cert ca_cert_;
  Key other_ca_key_;
  Cert other_ca_cert_;
};

}  // namespace steadyws::test
