# Run at build time (cmake -P, from core/CMakeLists.txt): writes the header that core/util/version.cpp compiles,
# so the commit is the one built, not the one configured. configure_file leaves an unchanged header alone, so a
# build with nothing new recompiles nothing.
#   -DSOURCE_DIR=<repository> -DVERSION=<project version> -DTORCH_CUDA=ON|OFF -DOUTPUT=<header>
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                OUTPUT_VARIABLE ATTNSCOPE_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE not_git ERROR_QUIET)
if(not_git OR NOT ATTNSCOPE_GIT_COMMIT)
  set(ATTNSCOPE_GIT_COMMIT unknown) # a source archive, or no git installed
else()
  # Uncommitted changes to tracked files: the commit alone would not say what was built.
  execute_process(COMMAND git -C "${SOURCE_DIR}" diff --quiet HEAD RESULT_VARIABLE dirty ERROR_QUIET)
  if(dirty)
    string(APPEND ATTNSCOPE_GIT_COMMIT "-dirty")
  endif()
endif()
set(ATTNSCOPE_VERSION "${VERSION}")
if(TORCH_CUDA)
  set(ATTNSCOPE_TORCH_CUDA true)
else()
  set(ATTNSCOPE_TORCH_CUDA false)
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/version_info.h.in" "${OUTPUT}" @ONLY)
