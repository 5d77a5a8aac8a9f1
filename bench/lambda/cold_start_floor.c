/* bench/lambda/cold_start_floor.c — the floor for the cold-start benchmark: the least an external
 * Lambda extension can do before its first /next (register, then GET next), as a static C program.
 * Talks to $AWS_LAMBDA_RUNTIME_API with blocking sockets; no error recovery beyond exiting. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
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

static int read_response(int fd, char* buf, size_t cap) {
  size_t used = 0;
  while (used + 1 < cap) {
    ssize_t n = read(fd, buf + used, cap - 1 - used);
    if (n <= 0) return -1;
    used += (size_t)n;
    buf[used] = 0;
    char* end = strstr(buf, "\r\n\r\n");
    if (end != NULL) {
      const char* cl = strstr(buf, "Content-Length: ");
      size_t body = cl ? (size_t)atoi(cl + 16) : 0;
      if (used >= (size_t)(end + 4 - buf) + body) return 0;
    }
  }
  return -1;
}

int main(int argc, char** argv) {
  const char* api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == NULL) return 2;
  const char* name = strrchr(argv[0], '/');
  name = name ? name + 1 : argv[0];
  (void)argc;
  int fd = connect_api(api);
  if (fd < 0) return 1;
  char req[512], buf[4096];
  const char* body = "{\"events\":[\"INVOKE\",\"SHUTDOWN\"]}";
  int len = snprintf(req, sizeof req,
                     "POST /2020-01-01/extension/register HTTP/1.1\r\nHost: %s\r\n"
                     "Lambda-Extension-Name: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     api, name, strlen(body), body);
  if (write(fd, req, (size_t)len) != len || read_response(fd, buf, sizeof buf) != 0) return 1;
  const char* id = strstr(buf, "Lambda-Extension-Identifier: ");
  if (id == NULL) return 1;
  id += 29;
  const char* eol = strstr(id, "\r\n");
  len = snprintf(req, sizeof req,
                 "GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost: %s\r\n"
                 "Lambda-Extension-Identifier: %.*s\r\n\r\n",
                 api, (int)(eol - id), id);
  if (write(fd, req, (size_t)len) != len) return 1;
  read_response(fd, buf, sizeof buf);
  return 0;
}
