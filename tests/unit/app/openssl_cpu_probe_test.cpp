// The static lastcall runs OpenSSL's CPU probe at the first use of OpenSSL, not at process start
// (src/app/openssl_cpu_probe.cpp): checked in a program linked the same way (static OpenSSL,
// lc_defer_openssl_cpu_probe). Plain main, no gtest: the program is static and uninstrumented.
#include <openssl/ssl.h>

#include <cstdio>

// OpenSSL's capability vector; OPENSSL_cpuid_setup() sets bit 10 of its first word on every CPU,
// as the mark that the probe ran.
extern "C" unsigned int OPENSSL_ia32cap_P[];  // NOLINT(readability-identifier-naming)

namespace {

bool probed() { return (OPENSSL_ia32cap_P[0] & (1u << 10)) != 0; }

}  // namespace

int main() {
  if (probed()) {
    std::fprintf(stderr, "FAIL: the CPU probe ran at process start\n");
    return 1;
  }
  // What lastcall's first TLS connection does first (net/http_client.cpp, through Asio).
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    std::fprintf(stderr, "FAIL: SSL_CTX_new failed\n");
    return 1;
  }
  SSL_CTX_free(ctx);
  if (!probed()) {
    std::fprintf(stderr, "FAIL: the first use of OpenSSL did not run the CPU probe\n");
    return 1;
  }
  std::printf("1 passed, 0 failed\n");
  return 0;
}
