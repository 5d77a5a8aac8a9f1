/* bench/init/start_probe.c — the child of the wrapper start-up benchmark: writes the monotonic
 * clock (ns, 8 bytes) to fd 3 as its first action, then exits 0. Static, so its own start costs the
 * same under every parent. */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  return write(3, &ns, sizeof ns) == (ssize_t)sizeof ns ? 0 : 1;
}
