/* bench/metrics/statsd_gen.c — the paced DogStatsD load generator of the peers benchmark
 * (statsd_peers.py). Sends counters (value 1, so every server's totals are checkable) over a fixed
 * set of contexts to 127.0.0.1:PORT at a given number of lines per second for a given time, with
 * sendmmsg from one connected UDP socket, and prints one JSON line with exactly what it sent and
 * whether it kept the asked rate.
 *
 *   single: one ~100 B line per datagram; packed: lines joined by '\n' up to --packet bytes.
 *   dogstatsd dialect: name:1|c|#tag,tag,tag; statsd dialect: the three tags folded into the name
 *   (for servers that reject DogStatsD tags), so the contexts and line sizes stay the same.
 * Every line has the same length, so every packed datagram holds the same number of lines.
 *
 * usage: statsd_gen --port P --rate LINES_PER_S --seconds S [--kind single|packed]
 *                   [--dialect dogstatsd|statsd] [--contexts N] [--packet BYTES] */
#define _GNU_SOURCE /* sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kMaxBatch = 64, kLineCap = 160 };

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t) {
  struct timespec ts;
  ts.tv_sec = (time_t)t;
  ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

/* Context i as one line (no newline); returns its length. */
static int format_line(char* out, int i, int statsd_dialect) {
  if (statsd_dialect) {
    return snprintf(out, kLineCap,
                    "peers.bench.http.requests.m%04d.environment_benchmark.service_checkout-api."
                    "route_api_v1_cart:1|c",
                    i);
  }
  return snprintf(out, kLineCap,
                  "peers.bench.http.requests.m%04d:1|c|#environment:benchmark,"
                  "service:checkout-api,route:/api/v1/cart",
                  i);
}

static int usage(void) {
  fprintf(stderr,
          "usage: statsd_gen --port P --rate LINES_PER_S --seconds S [--kind single|packed]\n"
          "                  [--dialect dogstatsd|statsd] [--contexts N] [--packet BYTES]\n");
  return 2;
}

int main(int argc, char** argv) {
  int port = 0, contexts = 1000, packet = 8000, packed = 0, statsd_dialect = 0;
  double rate = 0, seconds = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* k = argv[i];
    const char* v = argv[i + 1];
    if (strcmp(k, "--port") == 0) {
      port = atoi(v);
    } else if (strcmp(k, "--rate") == 0) {
      rate = atof(v);
    } else if (strcmp(k, "--seconds") == 0) {
      seconds = atof(v);
    } else if (strcmp(k, "--contexts") == 0) {
      contexts = atoi(v);
    } else if (strcmp(k, "--packet") == 0) {
      packet = atoi(v);
    } else if (strcmp(k, "--kind") == 0) {
      if (strcmp(v, "packed") == 0) {
        packed = 1;
      } else if (strcmp(v, "single") != 0) {
        return usage();
      }
    } else if (strcmp(k, "--dialect") == 0) {
      if (strcmp(v, "statsd") == 0) {
        statsd_dialect = 1;
      } else if (strcmp(v, "dogstatsd") != 0) {
        return usage();
      }
    } else {
      return usage();
    }
  }
  if ((argc - 1) % 2 != 0 || port <= 0 || port > 65535 || rate <= 0 || seconds <= 0 ||
      contexts <= 0 || contexts > 10000 || packet < kLineCap || packet > 65000) {
    return usage();
  }

  /* All lines have the same length (zero-padded context numbers). `text` holds contexts
   * 0..N-1 and then enough of them again that any run of `per` lines from any context is one
   * contiguous span: a packed datagram is text + start * stride, `per` lines long. */
  char line[kLineCap];
  const int len = format_line(line, 0, statsd_dialect);
  const int stride = len + 1;
  const int per = packed ? (packet + 1) / stride : 1;
  const int total_lines = contexts + per;
  char* text = malloc((size_t)total_lines * (size_t)stride);
  if (text == NULL) return 1;
  for (int i = 0; i < total_lines; ++i) {
    if (format_line(text + (size_t)i * (size_t)stride, i % contexts, statsd_dialect) != len) {
      return 1;
    }
    text[(size_t)i * (size_t)stride + (size_t)len] = '\n';
  }
  const size_t datagram_bytes = (size_t)per * (size_t)stride - 1;

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return 1;
  const int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    perror("connect");
    return 1;
  }

  /* Datagrams per second, and a batch small enough that sends are spread over at least ~1000
   * wake-ups a second (bursts stay tiny next to any receive buffer). */
  const double dgram_rate = rate / per;
  const uint64_t target = (uint64_t)(dgram_rate * seconds + 0.5);
  int batch = (int)(dgram_rate / 1000.0);
  if (batch < 1) batch = 1;
  if (batch > kMaxBatch) batch = kMaxBatch;

  struct mmsghdr msgs[kMaxBatch];
  struct iovec iov[kMaxBatch];
  uint64_t sent = 0, errors = 0, next_context = 0;
  double max_lag = 0;
  const double start = now_s();
  while (sent < target) {
    const double due = start + (double)sent / dgram_rate;
    const double t = now_s();
    if (t < due) {
      sleep_until(due);
    } else if (t - due > max_lag) {
      max_lag = t - due;
    }
    uint64_t n = target - sent;
    if (n > (uint64_t)batch) n = (uint64_t)batch;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t c = (next_context + i * (uint64_t)per) % (uint64_t)contexts;
      iov[i].iov_base = text + c * (uint64_t)stride;
      iov[i].iov_len = packed ? datagram_bytes : (size_t)len;
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int r = sendmmsg(fd, msgs, (unsigned)n, 0);
    if (r < 0) {
      /* Loopback refuses only when something is badly wrong (e.g. ECONNREFUSED: nothing bound).
       * Count it and stop rather than spin. */
      ++errors;
      if (errno != EINTR && errno != ENOBUFS && errno != EAGAIN) break;
      continue;
    }
    sent += (uint64_t)r;
    next_context = (next_context + (uint64_t)r * (uint64_t)per) % (uint64_t)contexts;
  }
  const double took = now_s() - start;
  close(fd);
  const uint64_t lines = sent * (uint64_t)per;
  const double achieved = took > 0 ? (double)lines / took : 0;
  /* Kept up: everything sent, and the last send no later than 1 % of the run (or 20 ms). */
  const double slack = seconds * 0.01 > 0.02 ? seconds * 0.01 : 0.02;
  const int kept_up = sent == target && took <= seconds + slack;
  printf(
      "{\"kind\":\"%s\",\"dialect\":\"%s\",\"contexts\":%d,\"line_bytes\":%d,"
      "\"lines_per_datagram\":%d,\"datagram_bytes\":%zu,\"asked_lines_per_s\":%.0f,"
      "\"asked_seconds\":%.3f,\"datagrams\":%llu,\"lines\":%llu,\"seconds\":%.3f,"
      "\"achieved_lines_per_s\":%.0f,\"max_lag_ms\":%.1f,\"send_errors\":%llu,\"kept_up\":%s}\n",
      packed ? "packed" : "single", statsd_dialect ? "statsd" : "dogstatsd", contexts, len, per,
      packed ? datagram_bytes : (size_t)len, rate, seconds, (unsigned long long)sent,
      (unsigned long long)lines, took, achieved, max_lag * 1e3, (unsigned long long)errors,
      kept_up ? "true" : "false");
  free(text);
  return errors > 0 ? 1 : 0;
}
