@0xd78a01f2db9359d9;
# Control: actor ↔ lead learner, request/reply with a deadline and retries on the client side.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rlrec::common::wire");

struct ControlRequest {
  union {
    hello @0 :Hello;
    status @1 :Void;
    report @2 :ActorReport;
  }
}

# What an actor has done since it joined, sent every run.report_every_s (and once more when it
# leaves). Totals, not rates: a lost report loses no information, and the lead takes rates
# and shares from the difference between two reports.
struct ActorReport {
  protocolVersion @0 :UInt32;
  actorId @1 :UInt32;
  host @2 :Text;
  pid @3 :UInt32;
  uptimeS @4 :Float64;          # seconds since the actor joined the run
  envSteps @5 :UInt64;          # sent to the learners
  unrolls @6 :UInt64;
  snapshotVersion @7 :UInt64;   # of the weights it acts with now
  simulateS @8 :Float64;        # seconds in the simulator
  inferS @9 :Float64;           # in the policy's forward pass (slate sampling included)
  encodeS @10 :Float64;         # encoding trajectories
  sendBlockedS @11 :Float64;    # waiting on a full send queue (the learner is behind)
  leaving @12 :Bool;            # the actor is stopping: its silence from now on is expected
}

struct Hello {
  protocolVersion @0 :UInt32;
  actorId @1 :UInt32;
  host @2 :Text;
  pid @3 :UInt32;
}

struct ControlReply {
  union {
    welcome @0 :Welcome;
    refused @1 :Text;     # why the request was refused, for the requester to print
    status @2 :Status;
  }
}

struct Welcome {
  runId @0 :Text;
  trajectoryEndpoints @1 :List(Text);
  weightsEndpoint @2 :Text;
  latestVersion @3 :UInt64;
}

struct Status {
  runId @0 :Text;
  updates @1 :UInt64;
  envSteps @2 :UInt64;
  latestVersion @3 :UInt64;
}
