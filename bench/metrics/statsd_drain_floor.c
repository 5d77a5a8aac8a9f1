/* bench/metrics/statsd_drain_floor.c — the floor of the peers benchmark (statsd_peers.py): the
 * least a DogStatsD server can do, as a static C program. Binds UDP 127.0.0.1:PORT (0 = any free
 * port), asks the same receive buffer as lastcall's default (min(net.core.rmem_max, 8 MiB), not
 * forced; lambda-agent.md §8.2), and drains it with poll + recvmmsg, 32 datagrams of up to
 * 8192 B per call (lastcall's batch and DD_DOGSTATSD_BUFFER_SIZE). It only counts what it read.
 *
 * With --linger-us N it sleeps N µs after each read that found datagrams before it polls again,
 * as lastcall's receive thread does under load (net/udp_receiver.h, `linger`): the floor for
 * reading the same datagrams in the same batches.
 *
 * Prints {"port":P,"rcvbuf":GRANTED} when bound; on SIGTERM or SIGINT prints
 * {"datagrams":N,"bytes":B} and exits 0.
 * usage: statsd_drain_floor [--port P] [--rcvbuf BYTES] [--linger-us N]
 *        (--rcvbuf 0: the kernel's default) */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kBatch = 32, kBufferSize = 8192, kMaxDefaultRcvbuf = 8 << 20 };

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

/* lastcall's default ask: min(rmem_max, 8 MiB); 8 MiB when rmem_max cannot be read. */
static int default_rcvbuf(void) {
  FILE* f = fopen("/proc/sys/net/core/rmem_max", "r");
  long long v = -1;
  if (f != NULL) {
    if (fscanf(f, "%lld", &v) != 1) v = -1;
    fclose(f);
  }
  if (v <= 0 || v > kMaxDefaultRcvbuf) return kMaxDefaultRcvbuf;
  return (int)v;
}

int main(int argc, char** argv) {
  int port = 0, rcvbuf = default_rcvbuf(), linger_us = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0) {
      port = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "--rcvbuf") == 0) {
      rcvbuf = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "--linger-us") == 0) {
      linger_us = atoi(argv[i + 1]);
    } else {
      fprintf(stderr, "usage: statsd_drain_floor [--port P] [--rcvbuf BYTES] [--linger-us N]\n");
      return 2;
    }
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return 1;
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) {
    perror("SO_RCVBUF");
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    perror("bind");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(fd, (struct sockaddr*)&addr, &alen);
  int granted = 0;
  socklen_t glen = sizeof granted;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen);
  printf("{\"port\":%d,\"rcvbuf\":%d}\n", ntohs(addr.sin_port), granted);
  fflush(stdout);

  static char arena[kBatch][kBufferSize];
  struct mmsghdr msgs[kBatch];
  struct iovec iov[kBatch];
  uint64_t datagrams = 0, bytes = 0;
  while (!stop_requested) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, -1) <= 0) continue;
    uint64_t before = datagrams;
    for (;;) {
      for (int i = 0; i < kBatch; ++i) {
        iov[i].iov_base = arena[i];
        iov[i].iov_len = kBufferSize;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int r = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, NULL);
      if (r <= 0) break;
      datagrams += (uint64_t)r;
      for (int i = 0; i < r; ++i) bytes += msgs[i].msg_len;
      if (r < kBatch) break;
    }
    if (linger_us > 0 && datagrams != before) {
      const struct timespec ts = {linger_us / 1000000, (long)(linger_us % 1000000) * 1000};
      nanosleep(&ts, NULL);
    }
  }
  printf("{\"datagrams\":%llu,\"bytes\":%llu}\n", (unsigned long long)datagrams,
         (unsigned long long)bytes);
  close(fd);
  return 0;
}
