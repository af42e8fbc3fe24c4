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

set(RLREC_WARNINGS -Wall -Wextra)
