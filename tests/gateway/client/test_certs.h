// Test PKI made at run time with OpenSSL (nothing checked in, nothing expires): a CA, a server
// certificate for "localhost" + 127.0.0.1 signed by it, client certificates, and an unrelated
// second CA. PEM files are written to a fresh temporary directory, removed on destruction.
#pragma once

#include <string>

namespace obsgate::testing {

struct TestPki {
  TestPki();  // throws std::runtime_error on OpenSSL failure (tests only)
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  std::string dir;
  std::string ca_cert;      // trust anchor for server_cert
  std::string server_cert;  // CN/SAN: localhost, IP 127.0.0.1; signed by ca
  std::string server_key;
  std::string other_server_cert;  // SAN: other.example only; signed by ca
  std::string other_server_key;
  std::string client_cert;  // CN=client-a, signed by ca
  std::string client_key;
  std::string client2_cert;  // CN=client-b, signed by ca
  std::string client2_key;
  std::string other_ca_cert;  // an unrelated CA
};

// Reads a whole file (tests only).
std::string read_text_file(const std::string& path);

}  // namespace obsgate::testing
