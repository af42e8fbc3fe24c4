# How every rlrec target is built: the warnings, the output folders, the sanitizers.
#
#   rlrec_library(NAME [ALIAS ns::name] SOURCES ... [PUBLIC_LIBS ...] [PRIVATE_LIBS ...])
#   rlrec_executable(NAME [KIND bin|tests|bench] SOURCES ... [LIBS ...])
#
# Options (cache variables):
#   RLREC_WERROR=ON            warnings in rlrec's own code are errors
#   RLREC_SANITIZE=LIST        build everything with these sanitizers: "address,undefined" or
#                              "thread" (ThreadSanitizer cannot be combined with the others)

option(RLREC_WERROR "Treat warnings in rlrec's own code as errors" OFF)
set(RLREC_SANITIZE "" CACHE STRING "Sanitizers to build with: address,undefined | thread")

set(RLREC_WARNINGS -Wall -Wextra)
if(RLREC_WERROR)
  list(APPEND RLREC_WARNINGS -Werror)
endif()

if(RLREC_SANITIZE)
  string(REPLACE "," ";" rlrec_sanitizers "${RLREC_SANITIZE}")
  foreach(s IN LISTS rlrec_sanitizers)
    if(NOT s MATCHES "^(address|undefined|thread)$")
      message(FATAL_ERROR "RLREC_SANITIZE: unknown sanitizer '${s}' (address, undefined, thread)")
    endif()
  endforeach()
  if("thread" IN_LIST rlrec_sanitizers AND NOT RLREC_SANITIZE STREQUAL "thread")
    message(FATAL_ERROR "RLREC_SANITIZE: thread cannot be combined with other sanitizers")
  endif()
  # Every object of ours, libraries and tests alike, so that shared buffers are instrumented
  # on both sides. A report fails the test that caused it (no recovery).
  add_compile_options(-fsanitize=${RLREC_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${RLREC_SANITIZE})
  if(NOT RLREC_SANITIZE STREQUAL "thread")
    add_compile_options(-fno-sanitize-recover=all)
  endif()
  # Instrumented code at -O1 makes GCC's flow analysis see uninitialised reads inside
  # LibTorch's inlined headers that are not there (c10::optional<at::Generator>).
  list(APPEND RLREC_WARNINGS -Wno-maybe-uninitialized)
  message(STATUS "rlrec: sanitizers ${RLREC_SANITIZE}")
endif()

# rlrec_library(NAME [ALIAS ns::name] SOURCES ... [PUBLIC_LIBS ...] [PRIVATE_LIBS ...]): a
# static library of rlrec code, its headers included from the source root ("common/x.h").
function(rlrec_library name)
  cmake_parse_arguments(L "" "ALIAS" "SOURCES;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  add_library(${name} STATIC ${L_SOURCES})
  if(L_ALIAS)
    add_library(${L_ALIAS} ALIAS ${name})
  endif()
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PUBLIC ${L_PUBLIC_LIBS} PRIVATE ${L_PRIVATE_LIBS})
  target_compile_options(${name} PRIVATE ${RLREC_WARNINGS})
endfunction()

# rlrec_executable(NAME [KIND bin|tests|bench] SOURCES ... [LIBS ...]): a program, in
# build/bin (programs: the launcher and tests find their siblings there), build/tests or
# build/bench.
function(rlrec_executable name)
  cmake_parse_arguments(E "" "KIND" "SOURCES;LIBS" ${ARGN})
  if(NOT E_KIND)
    set(E_KIND bin)
  endif()
  add_executable(${name} ${E_SOURCES})
  if(RLREC_SANITIZE MATCHES "address")
    target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/sanitizers/keep_libraries_loaded.cc)
  endif()
  target_link_libraries(${name} PRIVATE ${E_LIBS})
  target_compile_options(${name} PRIVATE ${RLREC_WARNINGS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/${E_KIND})
endfunction()
