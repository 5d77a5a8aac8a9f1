// tools/sandbox/scripted.h — the scripted processes lastcall-sandbox ships so tests need no
// language runtime: `fake-runtime` (a Runtime API client whose every event payload is an
// instruction object, lambda-platform.md §7.2) and `fake-extension` (an external extension scripted
// through the LASTCALL_FAKE_EXTENSIONS variable). Entered from main(); each runs as its own
// process.
#pragma once

#include <string>
#include <vector>

namespace lc::sandbox {

// args: the arguments after "fake-runtime".
int fake_runtime_main(const std::vector<std::string>& args);
// name: what it registers as (basename of argv[0] unless --name is given).
int fake_extension_main(const std::string& name, const std::vector<std::string>& args);

}  // namespace lc::sandbox
