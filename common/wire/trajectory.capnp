@0xdb59caebfbd67a34;
# Trajectories: actor → learner over ZeroMQ PUSH/PULL. One ZeroMQ multipart message carries one
# Cap'n Proto message, one segment per frame, so that large tensor payloads travel as segments
# of their own and are read in place on arrival.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rlrec::common::wire");

using import "tensor.capnp".Tensor;

# What the agent knows of a state beyond its feature rows, with leading dimensions [T, E] in a
# trajectory's steps and [E] for its bootstrap state. H is the history length (may be 0).
struct Context {
  candidateItems @0 :Tensor;    # int64   [..., C]: stable item ids (fixed corpus), -1 for fresh documents
  historyItems @1 :Tensor;      # int64   [..., H]: the user's last H impressions, newest first; -1: none yet
  historyTopics @2 :Tensor;     # int32   [..., H]: their topics; -1: none yet
  historyResponses @3 :Tensor;  # float32 [..., H]: watch time, 0 for an impression without a click
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
  context @12 :Context;              # [T, E, ...]
  bootstrapContext @13 :Context;     # [E, ...]
}
