@0xe3b1c8f20a6d4e57;
# The tensor every message carries: trajectories (trajectory.capnp) and weight snapshots'
# manifests (weights.capnp). Moved here from trajectory.capnp with the ids it had there, so the
# types, and every byte on the wire, are the same.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rlrec::common::wire");

enum DType @0xaa74502d293ab8c2 {
  float32 @0;
  int32 @1;
  uint8 @2;
  int64 @3;
}

# A dense, row-major tensor: element type, dimensions, and the raw little-endian bytes.
struct Tensor @0xce526b2ef98c214a {
  dtype @0 :DType;
  shape @1 :List(UInt32);
  data @2 :Data;
}
