#include "net/udp_receiver.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "core/assert.h"
#include "core/logger.h"
#include "core/mutex.h"
#include "net/bound_port.h"

namespace lc::net {

// recvmmsg target: owned by the receive thread, reused for every call.
struct UdpReceiver::Batch {
  std::unique_ptr<char[]> arena;
  std::vector<mmsghdr> hdrs;
  std::vector<iovec> iov;
};

ReceiveBufferRequest receive_buffer_request(int configured) {
  if (configured > 0) return {configured, true};
  return {UdpReceiver::kMaxDefaultRcvbuf, false};
}

std::chrono::nanoseconds linger_before_next_read(std::chrono::nanoseconds linger,
                                                 std::size_t capacity, std::size_t datagrams,
                                                 std::size_t bytes,
                                                 std::chrono::nanoseconds elapsed) {
  if (linger < kMinLinger || datagrams == 0) return std::chrono::nanoseconds{0};
  if (capacity > 0 && elapsed.count() > 0) {
    // Kernel bytes per ns at the rate just seen; a quarter of the buffer at that rate.
    const double cost = static_cast<double>(bytes + datagrams * kDatagramOverhead);
    const double fill_ns =
        static_cast<double>(capacity) / 4 * static_cast<double>(elapsed.count()) / cost;
    if (fill_ns < static_cast<double>(linger.count())) {
      linger = std::chrono::nanoseconds{static_cast<std::int64_t>(fill_ns)};
    }
  }
  return linger < kMinLinger ? std::chrono::nanoseconds{0} : linger;
}

// Datagrams copied compactly out of a Batch and queued for the loop thread. Recycled.
struct UdpReceiver::Chunk {
  std::string data;
  std::vector<ReceivedDatagram> views;
  std::size_t count = 0;
  std::size_t bytes = 0;    // datagram bytes, counted against the queue's byte cap
  std::size_t charged = 0;  // charged to the memory budget
};

// What the receive thread and the loop thread share. The loop learns of queued chunks through one
// hand-off task at a time: the receive thread posts a task only when none is waiting, and the task
// takes everything queued when it runs, so a busy socket costs one post (and one loop wake-up) per
// turn of the loop, not one per recvmmsg batch.
struct UdpReceiver::Shared {
  Poster poster;
  Handler handler;
  std::size_t queue_cap = 0;    // datagrams
  std::size_t byte_budget = 0;  // bytes held by queued chunks
  MemoryBudget* budget = &MemoryBudget::unlimited();
  std::atomic<bool> detached{false};  // the receiver is gone: its handler may be gone too
  std::atomic<std::size_t> inflight{0};
  std::atomic<std::size_t> inflight_bytes{0};
  std::atomic<std::size_t> inflight_charged{0};  // charged to the budget by queued chunks
  std::size_t always_admitted = 0;               // Options::always_admitted_bytes
  std::atomic<std::uint64_t> received{0};

  static constexpr std::size_t kMaxPooled = 32;
  Mutex mu;
  std::vector<std::unique_ptr<Chunk>> all LC_GUARDED_BY(mu);  // every chunk ever made
  std::vector<Chunk*> free_list LC_GUARDED_BY(mu);
  std::vector<Chunk*> queued LC_GUARDED_BY(mu);  // received, not yet handled, in order
  // A hand-off task is posted and has not yet taken the queue: chunks queued now are in its take.
  bool task_waiting LC_GUARDED_BY(mu) = false;
  std::vector<std::function<void()>> barriers LC_GUARDED_BY(mu);  // sync() waiting for a drain
  std::vector<Chunk*> handing;  // the loop thread's take of `queued`, reused (loop thread only)

  Chunk* acquire(std::size_t bytes, std::size_t datagrams) {
    Chunk* c = nullptr;
    {
      MutexLock lock(mu);
      if (!free_list.empty()) {
        c = free_list.back();
        free_list.pop_back();
      } else {
        all.push_back(std::make_unique<Chunk>());
        c = all.back().get();
      }
    }
    // Keep a recycled chunk's memory close to what it holds (bounds the queued bytes).
    if (c->data.capacity() > 2 * bytes + 4096) std::string().swap(c->data);
    c->data.clear();
    c->data.reserve(bytes);
    if (c->views.size() < datagrams) c->views.resize(datagrams);
    return c;
  }

  // What a chunk of `datagrams` holding `bytes` is charged to the memory budget: its bytes and
  // views, and the two allocations holding them.
  static std::size_t charge_of(std::size_t bytes, std::size_t datagrams) {
    return bytes + datagrams * sizeof(ReceivedDatagram) + 2 * MemoryBudget::kAllocOverhead;
  }

  // Queues a filled chunk (receive thread, or the loop thread in drain_now()); true when the
  // caller must post a hand-off task.
  bool enqueue(Chunk* c) {
    MutexLock lock(mu);
    queued.push_back(c);
    if (task_waiting) return false;
    task_waiting = true;
    return true;
  }

  // On the loop thread: takes every queued chunk and hands it to the handler, in order, then
  // recycles them. `from_task`: called by the hand-off task, whose take this is. Returns the
  // datagrams handed over.
  std::size_t hand_over(bool from_task) {
    {
      MutexLock lock(mu);
      handing.swap(queued);
      if (from_task) task_waiting = false;
    }
    std::size_t handed = 0;
    for (Chunk* c : handing) {
      // Room in the queue again, and the charge released, before the handler runs.
      inflight.fetch_sub(c->count);
      inflight_bytes.fetch_sub(c->bytes);
      inflight_charged.fetch_sub(c->charged);
      budget->release(ValueClass::kMetrics, c->charged);
      if (!detached.load()) {
        handler(std::span<const ReceivedDatagram>(c->views.data(), c->count));
      }
      handed += c->count;
    }
    if (!handing.empty()) {
      MutexLock lock(mu);
      for (Chunk* c : handing) {
        if (free_list.size() >= kMaxPooled) {
          std::string().swap(c->data);  // beyond the pool: give the memory back, keep the object
          std::vector<ReceivedDatagram>().swap(c->views);
        }
        free_list.push_back(c);
      }
    }
    handing.clear();
    return handed;
  }
};

UdpReceiver::UdpReceiver(Options options, SelfMetrics& self)
    : options_(std::move(options)),
      queue_full_(self.drop_counter(kDropKind, "queue_full")),
      memory_budget_(self.drop_counter(kDropKind, MemoryBudget::kDropReason)),
      kernel_buffer_(self.drop_counter(kDropKind, "kernel_buffer")),
      shared_(std::make_shared<Shared>()) {}

Expected<std::unique_ptr<UdpReceiver>> UdpReceiver::create(Options options, SelfMetrics& self,
                                                           Poster poster, Handler handler) {
  if (options.buffer_size == 0 || options.batch_size == 0 || options.queue_datagrams == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "dogstatsd: buffer size, batch size and queue size must be positive");
  }
  // Bound the receive arena (batch × buffer) to kMaxArenaBytes with large buffer sizes.
  options.batch_size =
      std::max<std::size_t>(1, std::min(options.batch_size, kMaxArenaBytes / options.buffer_size));
  std::unique_ptr<UdpReceiver> r(new UdpReceiver(std::move(options), self));
  auto& s = *r->shared_;
  s.poster = std::move(poster);
  s.handler = std::move(handler);
  s.queue_cap = r->options_.queue_datagrams;
  s.byte_budget =
      std::min(r->options_.queue_datagrams * r->options_.buffer_size, r->options_.max_queued_bytes);
  s.always_admitted = r->options_.always_admitted_bytes;
  if (auto ok = r->open(); !ok) return ok.error();
  return r;
}

void UdpReceiver::charge_to(MemoryBudget& budget) {
  LC_ASSERT(!started_, "charge_to() after start()");  // the receive thread reads it unlocked
  shared_->budget = &budget;
}

namespace {
Error os_error(std::string_view what, int err = errno) {
  return make_error(ErrorCode::kIo, fmt::format("dogstatsd: {}: {}", what, std::strerror(err)));
}

// Asks for the receive buffer `request` names and returns what the kernel granted (getsockopt:
// twice what it set, for its bookkeeping), 0 when it cannot be read. A grant below what was asked
// (the kernel capped it at net.core.rmem_max, which it then names: half the grant) is logged once,
// at info: the wrapper's default level hides it, the debug start line (describe()) always shows it.
int apply_receive_buffer(int fd, const ReceiveBufferRequest& request, std::string_view socket) {
  const int v = request.bytes;
  const bool forced =
      request.force && ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) == 0;
  if (!forced && ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) != 0) {
    LC_WARN("dogstatsd: {} SO_RCVBUF={} not applied: {}", socket, v, std::strerror(errno));
  }
  int granted = 0;
  socklen_t len = sizeof granted;
  if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len) != 0 || granted < 0) granted = 0;
  if (static_cast<std::int64_t>(granted) < 2 * static_cast<std::int64_t>(v)) {
    LC_INFO(
        "dogstatsd: {}receive buffer {} bytes (asked {}, which the kernel counts as {}; "
        "net.core.rmem_max {})",
        socket == "UDP" ? "" : fmt::format("{} ", socket), granted, v,
        2 * static_cast<std::int64_t>(v), granted / 2);
  }
  return granted;
}
}  // namespace

Expected<void> UdpReceiver::open() {
  rcvbuf_ = receive_buffer_request(options_.so_rcvbuf);

  if (!options_.host.empty() && options_.port >= 0) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port_text = std::to_string(options_.port);
    const int gai = ::getaddrinfo(options_.host.c_str(), port_text.c_str(), &hints, &res);
    if (gai != 0 || res == nullptr) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("dogstatsd: cannot resolve bind address \"{}\": {}",
                                    options_.host, ::gai_strerror(gai)));
    }
    udp_fd_ = ::socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (udp_fd_ < 0) {
      ::freeaddrinfo(res);
      return os_error("socket");
    }
    udp_rcvbuf_ = apply_receive_buffer(udp_fd_, rcvbuf_, "UDP");
    const int rc = ::bind(udp_fd_, res->ai_addr, res->ai_addrlen);
    const int err = errno;
    ::freeaddrinfo(res);
    if (rc != 0) {
      return os_error(fmt::format("bind UDP {}:{}", options_.host, options_.port), err);
    }
    const auto port = bound_port(udp_fd_);
    if (!port) return os_error("getsockname");
    port_ = *port;
  }

  if (!options_.unix_path.empty()) {
    sockaddr_un addr{};
    if (options_.unix_path.size() >= sizeof(addr.sun_path)) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("dogstatsd: socket path too long: {}", options_.unix_path));
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, options_.unix_path.c_str(), options_.unix_path.size() + 1);
    struct stat st {};
    if (::lstat(options_.unix_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      ::unlink(options_.unix_path.c_str());  // a stale socket from an earlier run
    }
    unix_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (unix_fd_ < 0) return os_error("unix socket");
    unix_rcvbuf_ = apply_receive_buffer(unix_fd_, rcvbuf_, "unix socket");
    if (::bind(unix_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int err = errno;
      return os_error(fmt::format("bind {}", options_.unix_path), err);
    }
    unix_bound_ = true;  // only a socket file we created is removed at stop()
  }
  if (udp_fd_ < 0 && unix_fd_ < 0) {
    return make_error(ErrorCode::kInvalidArgument, "dogstatsd: neither UDP nor a unix socket set");
  }
  return {};
}

UdpReceiver::~UdpReceiver() {
  stop();
  shared_->detached.store(true);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (sync_fd_ >= 0) ::close(sync_fd_);
}

// What only reading needs — the recvmmsg buffers, the thread's two eventfds — is made here, not
// at create(): the init wrapper binds before it spawns its child and starts after.
void UdpReceiver::start() {
  if (started_ || stopped_) return;
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  sync_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0 || sync_fd_ < 0) {
    LC_ERROR("dogstatsd: eventfd: {}; not reading the DogStatsD sockets", std::strerror(errno));
    return;
  }
  {
    MutexLock lock(read_mu_);  // uncontended: no thread yet; for the analysis
    batch_ = std::make_unique<Batch>();
    auto& b = *batch_;
    const std::size_t bs = options_.batch_size, size = options_.buffer_size;
    b.arena = std::make_unique_for_overwrite<char[]>(bs * size);  // touched by recvmmsg only
    b.hdrs.resize(bs);
    b.iov.resize(bs);
    for (std::size_t i = 0; i < bs; ++i) {
      b.iov[i].iov_base = b.arena.get() + i * size;
      b.iov[i].iov_len = size;
    }
  }
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void UdpReceiver::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  // Read what the kernel still holds for us (sent before the stop), then hand over everything
  // already received, now and in order, so a final flush right after stop() holds it. The queued
  // tasks then only recycle their chunks.
  if (started_) take_everything();
  hand_over_queued();
  release_barriers();  // every datagram is handled: a pending sync() is satisfied
  if (udp_fd_ >= 0) ::close(udp_fd_);
  udp_fd_ = -1;
  if (unix_fd_ >= 0) ::close(unix_fd_);
  if (unix_bound_) ::unlink(options_.unix_path.c_str());
  unix_bound_ = false;
  unix_fd_ = -1;
}

void UdpReceiver::sync(std::function<void()> then) {
  if (!started_ || stopped_ || !thread_.joinable()) {
    shared_->poster(std::move(then));
    return;
  }
  {
    MutexLock lock(shared_->mu);
    shared_->barriers.push_back(std::move(then));
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(sync_fd_, &one, sizeof one);
}

std::size_t UdpReceiver::drain_now() {
  if (!started_ || stopped_) return 0;
  return take_everything();
}

std::size_t UdpReceiver::hand_over_queued() { return shared_->hand_over(false); }

// Nothing is handed over before the first batch is read, so the queue bound applies to it as to
// any batch of the receive thread; after that reads and hand-overs alternate, so a long backlog
// is not dropped as queue_full while this call handles it itself.
// Per socket it reads at most what the receive buffer can hold (a datagram takes at least a few
// hundred bytes of it, and the kernel reports twice the SO_RCVBUF that was asked for): a sender
// flooding the socket cannot hold us here.
std::size_t UdpReceiver::take_everything() {
  std::size_t handed = 0;
  for (const int fd : {udp_fd_, unix_fd_}) {
    if (fd < 0) continue;
    int rcvbuf = fd == udp_fd_ ? udp_rcvbuf_ : unix_rcvbuf_;
    if (rcvbuf <= 0) rcvbuf = 4 << 20;
    const std::size_t limit =
        std::max<std::size_t>(static_cast<std::size_t>(rcvbuf) / 256, options_.batch_size);
    std::size_t read = 0;
    for (;;) {
      std::size_t got = 0;
      {
        MutexLock lock(read_mu_);
        got = read_batch(fd);
      }
      read += got;
      handed += hand_over_queued();
      if (got < options_.batch_size || read >= limit) break;
    }
  }
  // Drops after the last datagram read: ask the socket once more.
  if (udp_fd_ >= 0) {
    MutexLock lock(read_mu_);
    count_kernel_drops();
  }
  return handed;
}

void UdpReceiver::release_barriers() {
  std::vector<std::function<void()>> due;
  {
    MutexLock lock(shared_->mu);
    due.swap(shared_->barriers);
  }
  // Posted after the batches drain() posted, so each runs once those were handled.
  for (auto& then : due) shared_->poster(std::move(then));
}

std::uint64_t UdpReceiver::datagrams_received() const { return shared_->received.load(); }

std::string UdpReceiver::describe() const {
  return fmt::format(
      "{{\"component\":\"dogstatsd_receiver\",\"udp\":\"{}:{}\",\"unix\":\"{}\",\"buffer_size\":{},"
      "\"queue_datagrams\":{},\"batch_size\":{},\"so_rcvbuf\":{},\"so_rcvbuf_forced\":{},"
      "\"udp_rcvbuf_granted\":{},\"unix_rcvbuf_granted\":{},\"linger_us\":{}}}",
      udp_fd_ >= 0 || port_ != 0 ? options_.host : std::string(), port_, options_.unix_path,
      options_.buffer_size, options_.queue_datagrams, options_.batch_size, rcvbuf_.bytes,
      rcvbuf_.force, udp_rcvbuf_, unix_rcvbuf_, options_.linger.count());
}

void UdpReceiver::run() {
  ::pthread_setname_np(::pthread_self(), "lc-dogstatsd");  // as `top -H` and perf show it
  pollfd fds[4];
  nfds_t n = 0;
  fds[n++] = {wake_fd_, POLLIN, 0};
  fds[n++] = {sync_fd_, POLLIN, 0};
  if (udp_fd_ >= 0) fds[n++] = {udp_fd_, POLLIN, 0};
  if (unix_fd_ >= 0) fds[n++] = {unix_fd_, POLLIN, 0};
  using Steady = std::chrono::steady_clock;
  const std::chrono::nanoseconds max_linger = options_.linger;
  // The buffer the linger must not overfill: the smaller of the two sockets' (as the kernel
  // counts).
  std::size_t capacity = 0;
  for (const int granted : {udp_rcvbuf_, unix_rcvbuf_}) {
    if (granted > 0 && (capacity == 0 || static_cast<std::size_t>(granted) < capacity)) {
      capacity = static_cast<std::size_t>(granted);
    }
  }
  Steady::time_point last_data = Steady::now() - 2 * max_linger;  // the first read is not dense
  for (;;) {
    const int rc = ::poll(fds, n, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      LC_ERROR("dogstatsd: poll failed: {}; receive thread stops", std::strerror(errno));
      return;
    }
    if (fds[0].revents != 0) return;  // stop() drains what is left
    const bool sync = fds[1].revents != 0;
    if (sync) {
      std::uint64_t requests = 0;
      [[maybe_unused]] const auto r = ::read(sync_fd_, &requests, sizeof requests);
    }
    std::size_t got = 0, bytes = 0;
    for (nfds_t i = 2; i < n; ++i) {
      // A sync drains every socket: a datagram sent before it may sit in one poll did not report.
      if (sync || (fds[i].revents & (POLLIN | POLLERR))) got += drain(fds[i].fd, bytes);
    }
    if (sync) release_barriers();
    if (got == 0 || max_linger.count() <= 0) continue;
    // Datagrams arriving closer together than the linger: let them gather in the socket's receive
    // buffer for one linger instead of waking for each (a wake-up here and one on the loop thread
    // cost more than the parse). stop() and sync() end the wait at once; drain_now() does not
    // need it. Sparse datagrams are read as they come.
    const Steady::time_point now = Steady::now();
    const std::chrono::nanoseconds elapsed = now - last_data;
    last_data = now;
    if (elapsed >= 2 * max_linger) continue;
    const auto linger = linger_before_next_read(max_linger, capacity, got, bytes, elapsed);
    if (linger.count() == 0) continue;
    pollfd control[2] = {fds[0], fds[1]};
    const auto whole = std::chrono::duration_cast<std::chrono::seconds>(linger);
    const timespec wait{static_cast<time_t>(whole.count()),
                        static_cast<long>((linger - whole).count())};
    if (::ppoll(control, 2, &wait, nullptr) > 0 && control[0].revents != 0) return;
  }
}

void UdpReceiver::count_kernel_drops() {
  std::uint32_t info[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof info;
  if (::getsockopt(udp_fd_, SOL_SOCKET, SO_MEMINFO, info, &len) != 0 ||
      len <= SK_MEMINFO_DROPS * sizeof(std::uint32_t)) {
    return;
  }
  const std::uint32_t fresh = udp_drops_.observe(info[SK_MEMINFO_DROPS]);
  if (fresh > 0) kernel_buffer_.add(fresh);
}

std::size_t UdpReceiver::drain(int fd, std::size_t& bytes) {
  std::size_t total = 0;
  for (;;) {
    MutexLock lock(read_mu_);
    const std::size_t got = read_batch(fd, &bytes);
    total += got;
    if (got < options_.batch_size) return total;  // socket drained
  }
}

// One recvmmsg call: counts kernel drops, copies what the queue has room for into a chunk, queues
// it and posts its task. Returns how many datagrams the socket gave.
std::size_t UdpReceiver::read_batch(int fd, std::size_t* bytes_read) {
  Shared& s = *shared_;
  Batch& b = *batch_;
  const std::size_t batch_size = options_.batch_size;
  for (std::size_t i = 0; i < batch_size; ++i) {
    std::memset(&b.hdrs[i], 0, sizeof(mmsghdr));
    b.hdrs[i].msg_hdr.msg_iov = &b.iov[i];
    b.hdrs[i].msg_hdr.msg_iovlen = 1;
  }
  const int got =
      ::recvmmsg(fd, b.hdrs.data(), static_cast<unsigned>(batch_size), MSG_DONTWAIT, nullptr);
  if (got <= 0) {
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      LC_DEBUG("dogstatsd: recvmmsg failed: {}", std::strerror(errno));
    }
    return 0;
  }
  const auto received = static_cast<std::size_t>(got);
  if (bytes_read != nullptr) {
    for (std::size_t i = 0; i < received; ++i) *bytes_read += b.hdrs[i].msg_len;
  }
  // Before these datagrams are handed over: whoever sees them also sees the drops before them.
  if (fd == udp_fd_) count_kernel_drops();

  // Drop newest when the queue is full — by datagram count, then by queued bytes (queue_full) —
  // or when the memory budget refuses the bytes (memory_budget, lambda-agent.md §6.4).
  const std::size_t inflight = s.inflight.load();
  const std::size_t room = std::min(received, inflight >= s.queue_cap ? 0 : s.queue_cap - inflight);
  std::size_t keep = room;
  std::size_t bytes = 0;
  bool refused = false;
  const std::size_t bytes_inflight = s.inflight_bytes.load();
  // Read once per batch. The first always_admitted bytes of the queue need no headroom: a budget
  // the aggregators' state filled must not stop the datagrams that only update it in place.
  const std::size_t queued_charge = s.inflight_charged.load();
  const std::size_t headroom =
      std::max(s.budget->headroom(ValueClass::kMetrics),
               s.always_admitted > queued_charge ? s.always_admitted - queued_charge : 0);
  for (std::size_t i = 0; i < keep; ++i) {
    const std::size_t len = std::min<std::size_t>(b.hdrs[i].msg_len, options_.buffer_size);
    if (bytes_inflight + bytes + len > s.byte_budget) {
      keep = i;
      break;
    }
    if (Shared::charge_of(bytes + len, i + 1) > headroom) {
      keep = i;
      refused = true;
      break;
    }
    bytes += len;
  }
  if (refused) {
    memory_budget_.add(room - keep);
    s.budget->note_refused(ValueClass::kMetrics, room - keep);
    if (room < received) queue_full_.add(received - room);
  } else if (keep < received) {
    queue_full_.add(received - keep);
  }
  if (keep > 0) {
    Chunk* c = s.acquire(bytes, keep);
    for (std::size_t i = 0; i < keep; ++i) {
      const std::size_t len = std::min<std::size_t>(b.hdrs[i].msg_len, options_.buffer_size);
      c->data.append(static_cast<const char*>(b.iov[i].iov_base), len);
    }
    std::size_t off = 0;
    for (std::size_t i = 0; i < keep; ++i) {
      const std::size_t len = std::min<std::size_t>(b.hdrs[i].msg_len, options_.buffer_size);
      c->views[i].data = std::string_view(c->data.data() + off, len);
      c->views[i].truncated = (b.hdrs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      off += len;
    }
    c->count = keep;
    c->bytes = bytes;
    c->charged = Shared::charge_of(bytes, keep);
    s.inflight.fetch_add(keep);
    s.inflight_bytes.fetch_add(bytes);
    s.inflight_charged.fetch_add(c->charged);
    s.budget->charge(ValueClass::kMetrics, c->charged);
    if (s.enqueue(c)) {
      // The task keeps the shared state alive: it may run after the receiver is gone.
      s.poster([owner = shared_] { owner->hand_over(true); });
    }
  }
  // Counted last, so a reader that sees the count also sees the drops and posts above.
  s.received.fetch_add(received);
  return received;
}

}  // namespace lc::net
