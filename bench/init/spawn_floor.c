/* bench/init/spawn_floor.c — the floor of the wrapper start-up benchmark (serverless-init.md §2):
 * the least a wrapper must do before its child runs — fork, put the child in its own process group,
 * exec it — and then wait for it and return its status. Static. usage: spawn_floor cmd [args...] */
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    setpgid(0, 0);
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
