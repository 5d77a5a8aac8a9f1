# Every third-party dependency is a Debian 12 package installed by scripts/setup (architecture.md).
find_package(Threads REQUIRED)
set(Boost_USE_STATIC_LIBS ON)
find_package(Boost 1.81.0 EXACT REQUIRED COMPONENTS json CONFIG)
if(LASTCALL_STATIC)
  # One static file that runs on every Lambda runtime: link the .a of every dependency.
  set(OPENSSL_USE_STATIC_LIBS TRUE)
  set(ZLIB_USE_STATIC_LIBS TRUE)
endif()
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)

# lc_defer_static_initializers(target archive section): an INTERFACE target linking a copy of the
# static library `archive` whose objects keep their static initializers in `section` instead of
# .init_array, so the C runtime does not run them at process start; src/core/deferred_init.cpp
# runs them at the library's first use instead.
function(lc_defer_static_initializers target archive section)
  get_filename_component(name ${archive} NAME_WE)
  set(copy ${CMAKE_BINARY_DIR}/deps/${name}-deferred-init.a)
  add_custom_command(OUTPUT ${copy}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/deps
    COMMAND ${CMAKE_OBJCOPY} --rename-section .init_array=${section} ${archive} ${copy}
    DEPENDS ${archive} VERBATIM)
  add_custom_target(${target}_archive DEPENDS ${copy})
  add_library(${target} INTERFACE)
  target_link_libraries(${target} INTERFACE ${copy})
  add_dependencies(${target} ${target}_archive)
endfunction()

# yaml-cpp's objects include <iostream>: their initializers build the standard streams and the
# classic locale. Only datadog.yaml (extension mode) needs yaml-cpp, so the static binary runs them
# at its first use (lc_yaml_cpp_deferred), not at every start.
find_library(YAML_CPP_ARCHIVE NAMES libyaml-cpp.a)
if(YAML_CPP_ARCHIVE)
  lc_defer_static_initializers(lc_yaml_cpp_deferred ${YAML_CPP_ARCHIVE} lc_deferred_init_yaml_cpp)
endif()
if(LASTCALL_STATIC)
  if(NOT YAML_CPP_ARCHIVE)
    message(FATAL_ERROR "libyaml-cpp.a not found (libyaml-cpp-dev)")
  endif()
  set(YAML_CPP_LIBRARY lc_yaml_cpp_deferred)
  find_library(ZSTD_STATIC_LIBRARY NAMES libzstd.a REQUIRED)
else()
  find_package(yaml-cpp REQUIRED)
  set(YAML_CPP_LIBRARY yaml-cpp)
endif()
find_path(PROTOZERO_INCLUDE_DIR protozero/pbf_writer.hpp REQUIRED)
find_path(MSGPUCK_INCLUDE_DIR msgpuck.h REQUIRED)
find_library(MSGPUCK_LIBRARY NAMES libmsgpuck.a msgpuck REQUIRED)
find_path(FMT_INCLUDE_DIR fmt/format.h REQUIRED)
if(LASTCALL_STATIC)
  find_library(RE2_STATIC_LIBRARY NAMES libre2.a REQUIRED)
  set(RE2_LIBRARY ${RE2_STATIC_LIBRARY})
else()
  find_library(RE2_LIBRARY NAMES re2 REQUIRED)
endif()
find_path(RE2_INCLUDE_DIR re2/re2.h REQUIRED)

add_library(lc_deps_boost INTERFACE)
target_link_libraries(lc_deps_boost INTERFACE Boost::headers Boost::json Threads::Threads)
# Asio/Beast: no deprecated API, no exceptions escape our adapters (conventions.md §5).
target_compile_definitions(lc_deps_boost INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW
                                                   BOOST_JSON_NO_LIB BOOST_CONTAINER_NO_LIB)

add_library(lc_deps_fmt INTERFACE)
target_include_directories(lc_deps_fmt SYSTEM INTERFACE ${FMT_INCLUDE_DIR})
target_compile_definitions(lc_deps_fmt INTERFACE FMT_HEADER_ONLY)

add_library(lc_deps_protozero INTERFACE)
target_include_directories(lc_deps_protozero SYSTEM INTERFACE ${PROTOZERO_INCLUDE_DIR})

add_library(lc_deps_msgpuck INTERFACE)
target_include_directories(lc_deps_msgpuck SYSTEM INTERFACE ${MSGPUCK_INCLUDE_DIR})
target_link_libraries(lc_deps_msgpuck INTERFACE ${MSGPUCK_LIBRARY})

add_library(lc_deps_compress INTERFACE)
if(LASTCALL_STATIC)
  target_link_libraries(lc_deps_compress INTERFACE ${ZSTD_STATIC_LIBRARY} ZLIB::ZLIB)
else()
  target_link_libraries(lc_deps_compress INTERFACE PkgConfig::ZSTD ZLIB::ZLIB)
endif()

add_library(lc_deps_yaml INTERFACE)
target_link_libraries(lc_deps_yaml INTERFACE ${YAML_CPP_LIBRARY})

# A statically linked OpenSSL runs its CPU probe from the .init section at every process start;
# lc_defer_openssl_cpu_probe(target) makes it run at the first use of OpenSSL instead
# (src/app/openssl_cpu_probe.cpp). x86_64 only: on other CPUs the probe is a constructor inside
# OpenSSL's own object, which a wrap does not reach (and the wrap would be harmless there).
function(lc_defer_openssl_cpu_probe target)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src/app/openssl_cpu_probe.cpp)
    target_link_options(${target} PRIVATE -Wl,--wrap=OPENSSL_cpuid_setup)
  endif()
endfunction()

# Log processing rules (lambda-agent.md §5.5): user patterns run in linear time.
add_library(lc_deps_re2 INTERFACE)
target_include_directories(lc_deps_re2 SYSTEM INTERFACE ${RE2_INCLUDE_DIR})
target_link_libraries(lc_deps_re2 INTERFACE ${RE2_LIBRARY} Threads::Threads)
