// tests/unit/net/tls_test_support.h — a self-signed certificate made with OpenSSL at test time, and
// two small blocking servers on their own threads for client tests: a TLS HTTP server and an HTTP
// proxy (CONNECT tunnel and absolute-form requests). Both listen on 127.0.0.1 port 0.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "core/mutex.h"

namespace lc::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct SelfSigned {
  std::string cert_pem;
  std::string key_pem;
  std::string cert_file;  // the certificate written to a temp file (a CA bundle of one)

  ~SelfSigned() {
    if (!cert_file.empty()) std::remove(cert_file.c_str());
  }

  static std::unique_ptr<SelfSigned> make(
      const char* alt_names = "DNS:localhost,DNS:intake.test,IP:127.0.0.1") {
    auto out = std::make_unique<SelfSigned>();
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    if (key == nullptr || x == nullptr) return nullptr;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, alt_names);
    X509_add_ext(x, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(x, key, EVP_sha256());

    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    out->cert_pem = drain(b);
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    out->key_pem = drain(b);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(key);

    out->cert_file = (std::filesystem::temp_directory_path() /
                      ("lc-net-test-" + std::to_string(::getpid()) + "-" +
                       std::to_string(reinterpret_cast<std::uintptr_t>(out.get())) + ".pem"))
                         .string();
    std::ofstream(out->cert_file) << out->cert_pem;
    return out;
  }

 private:
  static std::string drain(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string s(data, static_cast<std::size_t>(n));
    (void)BIO_reset(b);
    return s;
  }
};

// Accepts connections on its own thread and hands each to `serve` (blocking). Stops on destruction.
class BlockingServer {
 public:
  using Serve = std::function<void(tcp::socket&)>;

  explicit BlockingServer(Serve serve) : acceptor_(io_), serve_(std::move(serve)) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { loop(); });
  }

  ~BlockingServer() {
    stop_ = true;
    {
      // Wake the blocking accept.
      asio::io_context io;
      tcp::socket s(io);
      boost::system::error_code ec;
      s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    }
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void loop() {
    while (!stop_) {
      tcp::socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec || stop_) break;
      ++accepted_;
      timeval tv{10, 0};
      ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      serve_(s);
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  Serve serve_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// HTTPS: one request per connection, answers 200 "tls-ok <target>".
class TlsServer {
 public:
  explicit TlsServer(const SelfSigned& cert) : ctx_(asio::ssl::context::tls_server) {
    ctx_.use_certificate_chain(asio::buffer(cert.cert_pem));
    ctx_.use_private_key(asio::buffer(cert.key_pem), asio::ssl::context::pem);
    server_ = std::make_unique<BlockingServer>([this](tcp::socket& s) { serve(s); });
  }
  std::uint16_t port() const { return server_->port(); }
  int handshakes_ok() const { return ok_.load(); }
  int handshakes_failed() const { return failed_.load(); }

 private:
  void serve(tcp::socket& s) {
    asio::ssl::stream<tcp::socket&> tls(s, ctx_);
    boost::system::error_code ec;
    tls.handshake(asio::ssl::stream_base::server, ec);
    if (ec) {
      ++failed_;
      return;
    }
    ++ok_;
    std::string buf;
    asio::read_until(tls, asio::dynamic_buffer(buf), "\r\n\r\n", ec);
    if (ec) return;
    const std::string line = buf.substr(0, buf.find("\r\n"));
    const std::string target =
        line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
    const std::string body = "tls-ok " + target;
    const std::string out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\nConnection: close\r\n\r\n" + body;
    asio::write(tls, asio::buffer(out), ec);
    tls.shutdown(ec);
  }

  asio::ssl::context ctx_;
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::unique_ptr<BlockingServer> server_;
};

// An HTTP proxy: CONNECT opens a tunnel to the named host:port; an absolute-form request is
// answered by the proxy itself with "proxied <request line>". Records every request head.
// CONNECT targets named "intake.test" are tunneled to 127.0.0.1.
class TestProxy {
 public:
  TestProxy() {
    server_ = std::make_unique<BlockingServer>([this](tcp::socket& s) { serve(s); });
  }
  std::uint16_t port() const { return server_->port(); }
  std::vector<std::string> heads() const {
    MutexLock lock(mu_);
    return heads_;
  }
  std::size_t tunneled_bytes() const { return tunneled_.load(); }

 private:
  void serve(tcp::socket& s) {
    std::string buf;
    boost::system::error_code ec;
    const std::size_t n = asio::read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", ec);
    if (ec) return;
    const std::string head = buf.substr(0, n);
    {
      MutexLock lock(mu_);
      heads_.push_back(head);
    }
    const std::string line = head.substr(0, head.find("\r\n"));
    if (line.rfind("CONNECT ", 0) != 0) {
      const std::string body = "proxied " + line;
      const std::string out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                              "\r\nConnection: close\r\n\r\n" + body;
      asio::write(s, asio::buffer(out), ec);
      return;
    }
    const std::string target = line.substr(8, line.find(' ', 8) - 8);
    const std::size_t colon = target.rfind(':');
    tcp::socket upstream(s.get_executor());
    tcp::resolver resolver(s.get_executor());
    std::string host = target.substr(0, colon);
    if (host == "intake.test") host = "127.0.0.1";
    auto results = resolver.resolve(host, target.substr(colon + 1), ec);
    if (!ec) asio::connect(upstream, results, ec);
    if (ec) {
      asio::write(
          s, asio::buffer(std::string("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")),
          ec);
      return;
    }
    asio::write(s, asio::buffer(std::string("HTTP/1.1 200 Connection established\r\n\r\n")), ec);
    pump(s.native_handle(), upstream.native_handle());
  }

  void pump(int a, int b) {
    char tmp[16384];
    for (;;) {
      pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(fds, 2, 10000) <= 0) return;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t got = ::recv(fds[i].fd, tmp, sizeof tmp, 0);
        if (got <= 0) return;
        const int to = i == 0 ? b : a;
        ssize_t sent = 0;
        while (sent < got) {
          const ssize_t w =
              ::send(to, tmp + sent, static_cast<std::size_t>(got - sent), MSG_NOSIGNAL);
          if (w <= 0) return;
          sent += w;
        }
        tunneled_ += static_cast<std::size_t>(got);
      }
    }
  }

  mutable Mutex mu_;
  std::vector<std::string> heads_ LC_GUARDED_BY(mu_);
  std::atomic<std::size_t> tunneled_{0};
  std::unique_ptr<BlockingServer> server_;
};

}  // namespace lc::test
