# Finds rlrec's dependencies and exposes each as an imported target.
# Works with Debian 12's packages and with the GPU machine's unpacked .debs
# (ZeroMQ without pkg-config, capnp tools passed as CAPNP_EXECUTABLE/CAPNPC_CXX_EXECUTABLE).

find_package(Torch REQUIRED)
find_package(CapnProto REQUIRED)
find_package(Boost REQUIRED COMPONENTS program_options)
find_package(Threads REQUIRED)

find_path(ZMQ_INCLUDE_DIR zmq.h REQUIRED)
find_library(ZMQ_LIBRARY NAMES zmq libzmq REQUIRED)
if(NOT TARGET rlrec::zmq)
  add_library(rlrec::zmq UNKNOWN IMPORTED)
  set_target_properties(rlrec::zmq PROPERTIES
    IMPORTED_LOCATION ${ZMQ_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${ZMQ_INCLUDE_DIR})
endif()

find_package(GTest)

# Learner ranks talk MPI (Open MPI from Debian's libopenmpi-dev).
find_package(MPI REQUIRED COMPONENTS CXX)
# How tests start ranks: more ranks than cores is fine, root is allowed (CI runs as root),
# and shared memory without single-copy (ptrace is often restricted in containers).
set(RLREC_MPIRUN_FLAGS --oversubscribe --allow-run-as-root --mca btl_vader_single_copy_mechanism none)

# The NCCL backend is built when NCCL and the CUDA runtime are found (a GPU machine, or a
# development machine with the CUDA toolkit: compiled, not run); RLREC_WITH_NCCL=OFF skips it.
set(RLREC_WITH_NCCL AUTO CACHE STRING "Build the NCCL backend: AUTO, ON or OFF")
set(RLREC_NCCL_FOUND FALSE)
if(NOT RLREC_WITH_NCCL STREQUAL "OFF")
  find_package(CUDAToolkit QUIET)
  find_path(NCCL_INCLUDE_DIR nccl.h
    HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
  find_library(NCCL_LIBRARY NAMES nccl
    HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64 /usr/local/cuda/lib
          /usr/lib/x86_64-linux-gnu)
  if(CUDAToolkit_FOUND AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(RLREC_NCCL_FOUND TRUE)
    if(NOT TARGET rlrec::nccl)
      add_library(rlrec::nccl UNKNOWN IMPORTED)
      set_target_properties(rlrec::nccl PROPERTIES
        IMPORTED_LOCATION ${NCCL_LIBRARY}
        INTERFACE_INCLUDE_DIRECTORIES ${NCCL_INCLUDE_DIR})
    endif()
    message(STATUS "rlrec: NCCL backend on (${NCCL_LIBRARY})")
  elseif(RLREC_WITH_NCCL STREQUAL "ON")
    message(FATAL_ERROR "RLREC_WITH_NCCL=ON but NCCL or the CUDA runtime was not found")
  else()
    message(STATUS "rlrec: NCCL backend off (NCCL or the CUDA toolkit not found)")
  endif()
endif()

# Watching a run: TensorBoard event files are Protocol Buffers records (Debian's
# libprotobuf-dev, protobuf-compiler) and /metrics is served by prometheus-cpp (Debian's
# prometheus-cpp-dev). launch/setup installs both; a machine without them (the GPU machine's
# unpacked .debs) builds without the feature: RLREC_WITH_OBSERVABILITY=ON insists on them.
set(RLREC_WITH_OBSERVABILITY AUTO CACHE STRING "TensorBoard files and Prometheus: AUTO, ON or OFF")
set(RLREC_TENSORBOARD_FOUND FALSE)
set(RLREC_PROMETHEUS_FOUND FALSE)
if(NOT RLREC_WITH_OBSERVABILITY STREQUAL "OFF")
  find_package(Protobuf QUIET)
  find_package(prometheus-cpp CONFIG QUIET)
  if(Protobuf_FOUND AND Protobuf_PROTOC_EXECUTABLE)
    set(RLREC_TENSORBOARD_FOUND TRUE)
  endif()
  if(prometheus-cpp_FOUND)
    set(RLREC_PROMETHEUS_FOUND TRUE)
  endif()
  if(RLREC_WITH_OBSERVABILITY STREQUAL "ON" AND
     NOT (RLREC_TENSORBOARD_FOUND AND RLREC_PROMETHEUS_FOUND))
    message(FATAL_ERROR "RLREC_WITH_OBSERVABILITY=ON but protobuf (with protoc) or "
                        "prometheus-cpp was not found")
  endif()
  message(STATUS "rlrec: TensorBoard files ${RLREC_TENSORBOARD_FOUND}, "
                 "Prometheus ${RLREC_PROMETHEUS_FOUND}")
endif()
