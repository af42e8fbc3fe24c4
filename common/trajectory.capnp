@0xdb59caebfbd67a34;
# Trajectories: actor → learner over ZeroMQ PUSH/PULL. One ZeroMQ multipart message carries one
# Cap'n Proto message, one segment per frame, so that large tensor payloads travel as segments
# of their own and are read in place on arrival.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rlrec::common::wire");

enum DType {
  float32 @0;
  int32 @1;
  uint8 @2;
  int64 @3;
}

# A dense, row-major tensor: element type, dimensions, and the raw little-endian bytes.
struct Tensor {
  dtype @0 :DType;
  shape @1 :List(UInt32);
  data @2 :Data;
}

# `unrollLength` steps of `numUsers` simulated users, all under snapshot `policyVersion`.
# C candidates with F features each; K items per slate.
struct Trajectory {
  protocolVersion @0 :UInt32;
  actorId @1 :UInt32;
  policyVersion @2 :UInt64;
  unrollLength @3 :UInt32;
  numUsers @4 :UInt32;
  observations @5 :Tensor;           # float32 [T, E, 1 + C, F]: row 0 the user, rows 1..C candidates
  slates @6 :Tensor;                 # int32   [T, E, K]: candidate indices, in slate order
  behaviourLogProbs @7 :Tensor;      # float32 [T, E]: log-probability of the slate under the snapshot
  rewards @8 :Tensor;                # float32 [T, E]
  dones @9 :Tensor;                  # uint8   [T, E]: 1 when the session ended at this step
  bootstrapObservation @10 :Tensor;  # float32 [E, 1 + C, F]: the state after the last step
  episodeReturns @11 :List(Float32); # returns of the sessions that ended inside this unroll
}
