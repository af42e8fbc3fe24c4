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
# static library of rlrec code, its headers included from the source root ("common/base/logging.h").
function(rlrec_library name)
  cmake_parse_arguments(L "" "ALIAS" "SOURCES;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  add_library(${name} STATIC ${L_SOURCES})
  if(L_ALIAS)
    add_library(${L_ALIAS} ALIAS ${name})
  endif()
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PUBLIC ${L_PUBLIC_LIBS} PRIVATE ${L_PRIVATE_LIBS})
  target_compile_options(${name} PRIVATE ${RLREC_WARNINGS})
  rlrec_use_torch_pch(${name})
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
  rlrec_use_torch_pch(${name})
endfunction()

# LibTorch's torch/torch.h takes ~15 s to parse, in each of the ~65 sources that include it
# (itself or through an rlrec header). Those sources share one precompiled header instead:
# rlrec_torch_pch builds it once per build folder and every target reuses it
# (REUSE_FROM) for its sources that include LibTorch; its other sources skip it, since
# loading the ~550 MB header costs them more than they would parse. RLREC_TORCH_PCH=OFF
# compiles every source on its own.
option(RLREC_TORCH_PCH "Share one precompiled torch/torch.h among the sources that use it" ON)
if(RLREC_TORCH_PCH)
  set(rlrec_pch_source ${PROJECT_BINARY_DIR}/rlrec_torch_pch.cc)
  if(NOT EXISTS ${rlrec_pch_source})
    file(WRITE ${rlrec_pch_source} "// Compiles the shared torch/torch.h header (RlrecTargets.cmake).\n")
  endif()
  add_library(rlrec_torch_pch OBJECT ${rlrec_pch_source})
  target_link_libraries(rlrec_torch_pch PRIVATE ${TORCH_LIBRARIES})
  target_compile_options(rlrec_torch_pch PRIVATE ${RLREC_WARNINGS})
  target_precompile_headers(rlrec_torch_pch PRIVATE <torch/torch.h>)
endif()

# rlrec_includes_torch(FILE OUT): OUT is TRUE when FILE includes LibTorch (torch/, ATen/,
# c10/), itself or through the rlrec headers it includes ("folder/name.h" from the source
# root). Each file is read once per configure.
function(rlrec_includes_torch file out)
  string(MAKE_C_IDENTIFIER "${file}" key)
  get_property(known GLOBAL PROPERTY rlrec_torch_${key} SET)
  if(known)
    get_property(result GLOBAL PROPERTY rlrec_torch_${key})
    set(${out} ${result} PARENT_SCOPE)
    return()
  endif()
  # FALSE while it is being read: an include cycle ends here.
  set_property(GLOBAL PROPERTY rlrec_torch_${key} FALSE)
  set(result FALSE)
  if(EXISTS "${file}")
    file(STRINGS "${file}" includes REGEX "^#include ")
    foreach(line IN LISTS includes)
      if(line MATCHES "^#include <(torch|ATen|c10)/")
        set(result TRUE)
        break()
      elseif(line MATCHES "^#include \"([^\"]+)\"")
        rlrec_includes_torch("${PROJECT_SOURCE_DIR}/${CMAKE_MATCH_1}" nested)
        if(nested)
          set(result TRUE)
          break()
        endif()
      endif()
    endforeach()
  endif()
  set_property(GLOBAL PROPERTY rlrec_torch_${key} ${result})
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# rlrec_use_torch_pch(TARGET): TARGET's sources that include LibTorch use the shared
# precompiled header; the rest skip it. Call it after the target has all its sources.
function(rlrec_use_torch_pch target)
  if(NOT RLREC_TORCH_PCH)
    return()
  endif()
  get_target_property(sources ${target} SOURCES)
  set(any FALSE)
  foreach(source IN LISTS sources)
    get_filename_component(path "${source}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT path MATCHES "\\.cc$")
      continue()
    endif()
    rlrec_includes_torch("${path}" uses_torch)
    if(uses_torch)
      set(any TRUE)
    else()
      set_source_files_properties("${path}" PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
  if(any)
    target_precompile_headers(${target} REUSE_FROM rlrec_torch_pch)
  endif()
endfunction()
