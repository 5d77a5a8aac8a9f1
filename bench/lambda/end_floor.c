/* bench/lambda/end_floor.c — the floor for the added-latency benchmark (end_latency_bench.py): the
 * least an external extension that flushes at the end of each invocation must do, as a static C
 * program. It registers (INVOKE, SHUTDOWN), binds an HTTP listener on 127.0.0.1:0, subscribes it
 * to the Telemetry API (`platform` only, 25 ms buffering, as lastcall does), answers every POST
 * 200, and per INVOKE waits until the telemetry it received holds that invocation's
 * `platform.runtimeDone` before it calls /next again. Exits 0 at SHUTDOWN. Blocking sockets, one
 * listener thread (poll over the listening socket and its connections); no error recovery beyond
 * exiting. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floor_http.h"

#define MAX_CONNS 16
#define CONN_BUF (1 << 20)
#define MAX_DONE 64

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
/* Request ids whose runtimeDone arrived (a small ring: the main thread waits for one at a time). */
static char done_ids[MAX_DONE][64];
static int done_next = 0;

static void note_runtime_done(const char* body, size_t len) {
  const char* end = body + len;
  const char* p = body;
  static const char kType[] = "\"platform.runtimeDone\"";
  static const char kRid[] = "\"requestId\":\"";
  while ((p = memmem(p, (size_t)(end - p), kType, sizeof kType - 1)) != NULL) {
    p += sizeof kType - 1;
    const char* r = memmem(p, (size_t)(end - p), kRid, sizeof kRid - 1);
    if (r == NULL) break;
    r += sizeof kRid - 1;
    const char* q = memchr(r, '"', (size_t)(end - r));
    if (q == NULL || q - r >= 64) break;
    pthread_mutex_lock(&mu);
    memcpy(done_ids[done_next], r, (size_t)(q - r));
    done_ids[done_next][q - r] = 0;
    done_next = (done_next + 1) % MAX_DONE;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
  }
}

static int seen_done(const char* rid) {
  for (int i = 0; i < MAX_DONE; ++i) {
    if (strcmp(done_ids[i], rid) == 0) return 1;
  }
  return 0;
}

struct conn {
  int fd;
  size_t used;
  char* buf;
};

/* Consumes every complete request in c->buf; answers each 200. Returns -1 to close. */
static int serve(struct conn* c) {
  for (;;) {
    c->buf[c->used] = 0;
    char* hdr_end = strstr(c->buf, "\r\n\r\n");
    if (hdr_end == NULL) return c->used + 1 >= CONN_BUF ? -1 : 0;
    size_t head = (size_t)(hdr_end + 4 - c->buf);
    size_t body = 0;
    const char* cl = strcasestr(c->buf, "\r\nContent-Length:");
    if (cl != NULL && cl < hdr_end) body = (size_t)atol(cl + 17);
    if (head + body >= CONN_BUF) return -1;
    if (c->used < head + body) return 0;
    note_runtime_done(c->buf + head, body);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    if (write(c->fd, ok, sizeof ok - 1) != (ssize_t)(sizeof ok - 1)) return -1;
    memmove(c->buf, c->buf + head + body, c->used - head - body);
    c->used -= head + body;
  }
}

static void* listener(void* arg) {
  int lfd = *(int*)arg;
  struct conn conns[MAX_CONNS];
  struct pollfd pfds[MAX_CONNS + 1];
  int n = 0;
  for (;;) {
    pfds[0].fd = lfd;
    pfds[0].events = POLLIN;
    for (int i = 0; i < n; ++i) {
      pfds[i + 1].fd = conns[i].fd;
      pfds[i + 1].events = POLLIN;
    }
    if (poll(pfds, (nfds_t)(n + 1), -1) < 0) continue;
    for (int i = n - 1; i >= 0; --i) {
      if (pfds[i + 1].revents == 0) continue;
      ssize_t got = read(conns[i].fd, conns[i].buf + conns[i].used, CONN_BUF - 1 - conns[i].used);
      if (got <= 0 || (conns[i].used += (size_t)got, serve(&conns[i])) < 0) {
        close(conns[i].fd);
        free(conns[i].buf);
        conns[i] = conns[--n];
      }
    }
    if (pfds[0].revents & POLLIN) {
      int fd = accept(lfd, NULL, NULL);
      if (fd >= 0 && n < MAX_CONNS) {
        conns[n].fd = fd;
        conns[n].used = 0;
        conns[n].buf = malloc(CONN_BUF);
        ++n;
      } else if (fd >= 0) {
        close(fd);
      }
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  const char* api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == NULL) return 2;
  const char* name = strrchr(argv[0], '/');
  name = name ? name + 1 : argv[0];
  (void)argc;

  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in la;
  memset(&la, 0, sizeof la);
  la.sin_family = AF_INET;
  la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t lalen = sizeof la;
  if (lfd < 0 || bind(lfd, (struct sockaddr*)&la, sizeof la) != 0 || listen(lfd, 16) != 0 ||
      getsockname(lfd, (struct sockaddr*)&la, &lalen) != 0) {
    return 1;
  }
  pthread_t th;
  if (pthread_create(&th, NULL, listener, &lfd) != 0) return 1;

  int fd = connect_api(api);
  if (fd < 0) return 1;
  static char buf[1 << 16];
  char req[1024], id[128];
  const char* body = "{\"events\":[\"INVOKE\",\"SHUTDOWN\"]}";
  int len = snprintf(req, sizeof req,
                     "POST /2020-01-01/extension/register HTTP/1.1\r\nHost: %s\r\n"
                     "Lambda-Extension-Name: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     api, name, strlen(body), body);
  if (write(fd, req, (size_t)len) != len || read_response(fd, buf, sizeof buf) == NULL) return 1;
  const char* idp = strcasestr(buf, "Lambda-Extension-Identifier: ");
  if (idp == NULL) return 1;
  idp += 29;
  const char* eol = strstr(idp, "\r\n");
  if (eol == NULL || eol - idp >= (long)sizeof id) return 1;
  memcpy(id, idp, (size_t)(eol - idp));
  id[eol - idp] = 0;

  char sub[512];
  int sublen = snprintf(sub, sizeof sub,
                        "{\"schemaVersion\":\"2022-12-13\",\"types\":[\"platform\"],"
                        "\"buffering\":{\"maxItems\":1000,\"maxBytes\":262144,\"timeoutMs\":25},"
                        "\"destination\":{\"protocol\":\"HTTP\","
                        "\"URI\":\"http://sandbox.localdomain:%u/\"}}",
                        (unsigned)ntohs(la.sin_port));
  len = snprintf(req, sizeof req,
                 "PUT /2022-07-01/telemetry HTTP/1.1\r\nHost: %s\r\n"
                 "Lambda-Extension-Identifier: %s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n%s",
                 api, id, sublen, sub);
  if (write(fd, req, (size_t)len) != len || read_response(fd, buf, sizeof buf) == NULL) return 1;
  if (strncmp(buf, "HTTP/1.1 200", 12) != 0) return 1;

  len = snprintf(req, sizeof req,
                 "GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost: %s\r\n"
                 "Lambda-Extension-Identifier: %s\r\n\r\n",
                 api, id);
  for (;;) {
    if (write(fd, req, (size_t)len) != len) return 1;
    const char* ev = read_response(fd, buf, sizeof buf);
    if (ev == NULL) return 1;
    if (strstr(ev, "\"SHUTDOWN\"") != NULL) return 0;
    const char* r = strstr(ev, "\"requestId\":\"");
    if (r == NULL) continue;
    r += 13;
    const char* q = strchr(r, '"');
    char rid[64];
    if (q == NULL || q - r >= (long)sizeof rid) return 1;
    memcpy(rid, r, (size_t)(q - r));
    rid[q - r] = 0;
    pthread_mutex_lock(&mu);
    while (!seen_done(rid)) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
  }
}
