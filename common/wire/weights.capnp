@0xc6b7f8741eba099f;
# Weight snapshots: learner → every actor over ZeroMQ PUB/SUB. A snapshot is one flat byte
# blob (all parameters, concatenated in manifest order; a delta: the dense parameters and the
# changed rows of the tables) cut into chunks, so that a model of any size travels as bounded
# messages. Every chunk names its snapshot, so a subscriber that
# joins late or loses a chunk discards the incomplete version and takes the next one.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rlrec::common::wire");

using import "tensor.capnp".DType;

struct ParamSpec {
  name @0 :Text;
  dtype @1 :DType;
  shape @2 :List(UInt32);
}

struct WeightChunk {
  protocolVersion @0 :UInt32;
  runId @1 :Text;
  version @2 :UInt64;
  chunkIndex @3 :UInt32;
  chunkCount @4 :UInt32;
  totalBytes @5 :UInt64;
  offset @6 :UInt64;
  manifest @7 :List(ParamSpec);  # only in chunk 0
  data @8 :Data;
  checksum @9 :UInt64;  # Checksum64 (common/base/checksum.h) of fields 2..6, 10..12, then data
  # 0: a full snapshot. Otherwise a delta (common/wire/snapshot_delta.h): the dense parameters and
  # the changed rows of the tables, to apply on version baseVersion exactly.
  baseVersion @10 :UInt64;
  # 0, or StateChecksum of the whole state this version rebuilds (a verification point).
  stateChecksum @11 :UInt64;
  # The publishing learner process (drawn at random when it starts). Versions count within one
  # publisher: a receiver that meets another one (a learner resumed from a checkpoint, whose
  # versions restart lower) starts over from that publisher's next full snapshot.
  publisher @12 :UInt64;
}

# Published on the same socket under its own topic when the run ends, so actors exit cleanly.
struct RunEnded {
  runId @0 :Text;
  reason @1 :Text;
}
