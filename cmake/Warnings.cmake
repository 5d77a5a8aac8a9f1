# Warnings are errors in our own code (conventions.md §17). Third-party headers come in as SYSTEM.
add_library(lc_warnings INTERFACE)
target_compile_options(lc_warnings INTERFACE -Wall -Wextra -Wpedantic -Werror -Wno-unused-parameter)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  target_compile_options(lc_warnings INTERFACE -Wthread-safety -Wno-gnu-zero-variadic-macro-arguments)
endif()

# lc_add_library(name SOURCES ... DEPS ...): one static library per pipeline stage.
function(lc_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_BINARY_DIR}/generated)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE lc_warnings)
endfunction()
