/* bench/lambda/floor_http.h — the blocking HTTP/1.1 client the C floor extensions share
 * (cold_start_floor.c, end_floor.c): connect to $AWS_LAMBDA_RUNTIME_API ("127.0.0.1:port") and
 * read one response. No error recovery beyond returning -1 / NULL. */
#ifndef LASTCALL_BENCH_FLOOR_HTTP_H
#define LASTCALL_BENCH_FLOOR_HTTP_H

/* strcasestr: the including file defines _GNU_SOURCE before its first #include. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_api(const char* api) {
  char host[64];
  const char* colon = strrchr(api, ':');
  if (colon == NULL || (size_t)(colon - api) >= sizeof host) return -1;
  memcpy(host, api, (size_t)(colon - api));
  host[colon - api] = 0;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)atoi(colon + 1));
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return -1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) return -1;
  return fd;
}

/* Reads one response into buf (headers and Content-Length body); returns the body or NULL. */
static char* read_response(int fd, char* buf, size_t cap) {
  size_t used = 0;
  while (used + 1 < cap) {
    ssize_t n = read(fd, buf + used, cap - 1 - used);
    if (n <= 0) return NULL;
    used += (size_t)n;
    buf[used] = 0;
    char* end = strstr(buf, "\r\n\r\n");
    if (end != NULL) {
      const char* cl = strcasestr(buf, "\r\nContent-Length:");
      size_t body = cl ? (size_t)atol(cl + 17) : 0;
      if (used >= (size_t)(end + 4 - buf) + body) return end + 4;
    }
  }
  return NULL;
}

#endif
