// app/openssl_cpu_probe.cpp — OpenSSL's CPU probe at its first use instead of at process start.
// Linked into executables with OpenSSL linked statically, by lc_defer_openssl_cpu_probe()
// (cmake/Dependencies.cmake), together with -Wl,--wrap=OPENSSL_cpuid_setup.
//
// A statically linked libcrypto puts a call to OPENSSL_cpuid_setup() into the .init section, so
// the probe (a series of cpuid instructions, each a trap to the hypervisor in a VM) runs before
// main in every process, the init wrapper's included, whose child waits for it
// (serverless-init.md §2) although lastcall sets up TLS only at its first flush. OpenSSL makes the
// same call again from OPENSSL_init_crypto(), which it runs before any use of itself (SSL_CTX_new()
// included); the probe runs once, whichever call comes first. The wrapper below skips the call
// made before any constructor ran — the one from .init — so that the probe runs at that first use.
// Until then the capability vector is zero, which no code of lastcall reads.

namespace {

bool constructors_started = false;

// The first constructor: .init runs before every entry of .init_array.
__attribute__((constructor(101))) void mark_constructors_started() { constructors_started = true; }

}  // namespace

// The names are the linker's (--wrap): the real function and its replacement.
// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming)
extern "C" void __real_OPENSSL_cpuid_setup();

extern "C" __attribute__((used)) void __wrap_OPENSSL_cpuid_setup() {
  if (!constructors_started) return;
  __real_OPENSSL_cpuid_setup();
}
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)
