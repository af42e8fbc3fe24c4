@0xd78a01f2db9359d9;
# Control: actor ↔ lead learner, request/reply with a deadline and retries on the client side.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rlrec::common::wire");

struct ControlRequest {
  union {
    hello @0 :Hello;
    status @1 :Void;
  }
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
