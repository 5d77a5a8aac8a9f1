# Every third-party dependency is a Debian 12 package installed by scripts/setup (architecture.md).
find_package(Threads REQUIRED)
set(Boost_USE_STATIC_LIBS ON)
find_package(Boost 1.81.0 EXACT REQUIRED COMPONENTS json CONFIG)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
find_package(yaml-cpp REQUIRED)
find_path(PROTOZERO_INCLUDE_DIR protozero/pbf_writer.hpp REQUIRED)
find_path(MSGPUCK_INCLUDE_DIR msgpuck.h REQUIRED)
find_library(MSGPUCK_LIBRARY NAMES libmsgpuck.a msgpuck REQUIRED)
find_path(FMT_INCLUDE_DIR fmt/format.h REQUIRED)
find_library(RE2_LIBRARY NAMES re2 REQUIRED)

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
target_link_libraries(lc_deps_compress INTERFACE PkgConfig::ZSTD ZLIB::ZLIB)
