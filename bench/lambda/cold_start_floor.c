/* bench/lambda/cold_start_floor.c — the floor for the cold-start benchmark: the least an external
 * Lambda extension can do before its first /next (register, then GET next), as a static C program.
 * Talks to $AWS_LAMBDA_RUNTIME_API with blocking sockets; no error recovery beyond exiting. */
#define _GNU_SOURCE /* strcasestr (floor_http.h) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floor_http.h"

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
  if (write(fd, req, (size_t)len) != len || read_response(fd, buf, sizeof buf) == NULL) return 1;
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
