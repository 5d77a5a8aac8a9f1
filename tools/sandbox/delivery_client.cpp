#include "tools/sandbox/delivery_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace lc::sandbox {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

struct PostOp : std::enable_shared_from_this<PostOp> {
  PostOp(boost::asio::io_context& io, TimerService& timers, DeliveryClient::Done done)
      : timers(timers), stream(io), done(std::move(done)) {}

  void run(std::uint16_t port, const std::string& path, const std::string& body,
           std::chrono::milliseconds timeout) {
    req.method(http::verb::post);
    req.target(path.empty() ? "/" : path);
    req.version(11);
    req.set(http::field::host, "sandbox.localdomain:" + std::to_string(port));
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "lastcall-sandbox");
    req.keep_alive(false);
    req.body() = body;
    req.prepare_payload();
    std::weak_ptr<PostOp> weak = weak_from_this();
    timer = timers.schedule_after(timeout, [weak] {
      if (auto op = weak.lock()) op->finish(0, "timeout");
    });
    auto self = shared_from_this();
    const tcp::endpoint ep(boost::asio::ip::make_address_v4("127.0.0.1"), port);
    stream.async_connect(ep, [self](beast::error_code ec) {
      if (ec) return self->finish(0, "connect: " + ec.message());
      http::async_write(self->stream, self->req, [self](beast::error_code ec, std::size_t) {
        if (ec) return self->finish(0, "write: " + ec.message());
        self->parser.body_limit(1024 * 1024);
        http::async_read(self->stream, self->buffer, self->parser,
                         [self](beast::error_code ec, std::size_t) {
                           if (ec) return self->finish(0, "read: " + ec.message());
                           self->finish(static_cast<int>(self->parser.get().result_int()), "");
                         });
      });
    });
  }

  void finish(int status, std::string error) {
    timer.cancel();
    beast::error_code ignore;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
    stream.close();
    if (done) {
      auto d = std::move(done);
      done = nullptr;
      d(DeliveryResult{status, std::move(error)});
    }
  }

  TimerService& timers;
  Timer timer;  // the whole POST's timeout; firing closes the stream
  beast::tcp_stream stream;
  DeliveryClient::Done done;
  http::request<http::string_body> req;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
};

class BeastDeliveryClient final : public DeliveryClient {
 public:
  BeastDeliveryClient(boost::asio::io_context& io, TimerService& timers)
      : io_(io), timers_(timers) {}
  void post(std::uint16_t port, std::string path, std::shared_ptr<const std::string> body,
            std::chrono::milliseconds timeout, Done done) override {
    auto op = std::make_shared<PostOp>(io_, timers_, std::move(done));
    op->run(port, path, *body, timeout);
  }

 private:
  boost::asio::io_context& io_;
  TimerService& timers_;
};

}  // namespace

std::unique_ptr<DeliveryClient> make_delivery_client(boost::asio::io_context& io,
                                                     TimerService& timers) {
  return std::make_unique<BeastDeliveryClient>(io, timers);
}

}  // namespace lc::sandbox
