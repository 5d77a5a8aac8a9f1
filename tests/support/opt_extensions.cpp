#include "support/opt_extensions.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <system_error>

#include "support/process.h"

namespace lc::test {
namespace {

// Run by /bin/sh inside the new mount namespace: $1 scratch dir, $2 file name, $3 link target ("":
// an empty file), $4 working directory ("": unchanged), then the command. Every mount made here is
// private to the namespace; /opt itself is never written.
constexpr const char* kScript = R"sh(set -e
scratch=$1 name=$2 target=$3 dir=$4
shift 4
mount -t tmpfs -o mode=0755 lastcall-opt-scratch "$scratch"
mkdir "$scratch/upper" "$scratch/work"
if [ -d /opt ] && mount -t overlay -o "lowerdir=/opt,upperdir=$scratch/upper,workdir=$scratch/work" \
     lastcall-opt /opt 2>/dev/null; then :; else
  mount -t tmpfs -o mode=0755 lastcall-opt /opt
fi
mkdir -p /opt/extensions
rm -f "/opt/extensions/$name"
if [ -n "$target" ]; then
  ln -s "$target" "/opt/extensions/$name"
else
  : > "/opt/extensions/$name"
  chmod 0755 "/opt/extensions/$name"
fi
if [ -n "$dir" ]; then cd "$dir"; fi
exec "$@"
)sh";

}  // namespace

std::string find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  std::string path;
  if (const char* p = std::getenv("PATH")) path = p;
  path += ":/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

OptExtensions::OptExtensions(OptExtensionsOptions options) : options_(std::move(options)) {
  unshare_ = find_executable("unshare");
  if (unshare_.empty()) {
    missing_ = "`unshare` is not installed (util-linux)";
    return;
  }
  if (find_executable("mount").empty()) {
    missing_ = "`mount` is not installed (mount)";
    return;
  }
  std::error_code ec;
  std::string tmpl = (std::filesystem::temp_directory_path(ec) / "lastcall-opt-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    missing_ = "cannot create a scratch directory in " + tmpl;
    return;
  }
  scratch_ = tmpl;
  as_user_ = ::geteuid() != 0;

  ProcessOptions probe;
  probe.argv = wrap({"/bin/sh", "-c", "test -e \"$0\"", path()});
  auto child = ChildProcess::start(probe, &missing_);
  if (!child) return;
  const auto status = child->wait_exit(std::chrono::seconds(10));
  if (status && *status == 0) {
    available_ = true;
    return;
  }
  missing_ = "a private mount namespace for " + path() + " (`" + unshare_ +
             (as_user_ ? " --user --map-root-user" : "") + " --mount` then mount) failed" +
             (status ? " with status " + std::to_string(*status) : " to finish in 10 s") + ": " +
             child->output(ChildProcess::Stream::kStderr) +
             (as_user_ ? " (not root, and unprivileged user namespaces are refused here; run as "
                         "root, as CI does)"
                       : "");
}

OptExtensions::~OptExtensions() {
  if (!scratch_.empty()) {
    std::error_code ec;
    std::filesystem::remove(scratch_, ec);  // empty outside the namespace; a leftover is harmless
  }
}

std::vector<std::string> OptExtensions::wrap(const std::vector<std::string>& command,
                                             const std::string& cwd) const {
  std::vector<std::string> out = {unshare_};
  if (as_user_) {
    out.push_back("--user");
    out.push_back("--map-root-user");
  }
  for (const char* a : {"--mount", "--propagation", "private", "--", "/bin/sh", "-c", kScript,
                        "lastcall-opt-extensions"}) {
    out.emplace_back(a);
  }
  out.push_back(scratch_.string());
  out.push_back(options_.name);
  out.push_back(options_.target);
  out.push_back(cwd);
  for (std::size_t i = 0; i < command.size(); ++i) {
    std::string arg = command[i];
    if (i == 0) {
      const std::string found = find_executable(arg);
      if (!found.empty()) arg = found;
    }
    out.push_back(std::move(arg));
  }
  return out;
}

}  // namespace lc::test
