# lc_add_subdirectories(a b c): adds each listed folder. A stage, tool, test or fuzz folder goes on
# its list when it is created; a listed folder without a CMakeLists.txt is a configure error, so
# no list names a placeholder.
function(lc_add_subdirectories)
  foreach(dir ${ARGN})
    if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt)
      file(RELATIVE_PATH here ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/${dir})
      message(FATAL_ERROR "lc_add_subdirectories: ${here}/CMakeLists.txt does not exist; "
                          "list a folder only once it exists")
    endif()
    add_subdirectory(${dir})
  endforeach()
endfunction()
