// fuzz_decoders: feeds mutated real messages to every decoder a peer can reach — a learner's
// trajectory intake (decode, then the run's contract), an actor's weight snapshots (chunk
// assembly, run-ended, the finiteness check), the lead's control server (its answers, and its
// REP socket fed multi-frame shapes: split, extra, empty and oversized frames) and an actor's
// reading of its welcome — and counts what each did. Also the host's shared snapshot, which
// any process of the run's user can write: mutated segment files (header, reader slots, copies
// and their seals; at times a wider mode, a symlink, a folder or a FIFO in its place) opened by
// HostSegment::Open, read by a Reader and checked whole by a receiver; a state a reader would
// act on must be one the writer wrote. A decoder may accept a message or refuse
// it with common::Error; anything else (another exception, a crash, a sanitizer report) is a
// defect. Trajectories that pass the contract are also batched and run through the policy
// and the loss, as the learner would, to show that what is accepted is safe to compute on.
//
// Run it by hand under AddressSanitizer and UndefinedBehaviorSanitizer for the full count
// (build-asan/bench/fuzz_decoders --messages 1000000); CTest runs a short seeded pass.
//
//   fuzz_decoders [--messages N] [--seed S] [--only DECODER] [--json]
#include <fcntl.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "actors/snapshot/host_segment.h"
#include "actors/snapshot/segment_layout.h"
#include "common/base/error.h"
#include "common/base/json.h"
#include "common/model/policy_model.h"
#include "common/wire/capnp_frames.h"
#include "common/wire/control.capnp.h"
#include "common/wire/control.h"
#include "common/wire/trajectory_checks.h"
#include "common/wire/trajectory_codec.h"
#include "common/wire/weights_codec.h"
#include "learner/train/batch.h"
#include "learner/train/loss.h"
#include "learner/train/objective.h"
#include "tests/test_util.h"

namespace rlrec::bench {
namespace {

using Frames = std::vector<std::string>;

// A received message made of `frames`, as ZeroMQ would deliver it.
std::shared_ptr<const common::Multipart> ToMultipart(const Frames& frames) {
  auto message = std::make_shared<common::Multipart>();
  for (const std::string& f : frames) {
    zmq_msg_t* msg = message->AddFrame();
    zmq_msg_close(msg);
    if (zmq_msg_init_size(msg, f.size()) != 0) throw std::bad_alloc();
    if (!f.empty()) std::memcpy(zmq_msg_data(msg), f.data(), f.size());
  }
  return message;
}

// Applies one to four random mutations to a copy of `seed`: bit flips, interesting bytes and
// words, truncation, insertion, and frames dropped, repeated or swapped.
Frames Mutate(const Frames& seed, std::mt19937_64& rng) {
  Frames frames = seed;
  auto pick = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  static const uint64_t kWords[] = {
      0,          ~uint64_t{0}, uint64_t{1} << 31, uint64_t{1} << 32, uint64_t{1} << 63,
      0x7fffffff, 0xffffffff,   0x7fc00000,        0x7f800000,        0xff800000};
  for (int m = 0, n = 1 + static_cast<int>(rng() % 4); m < n && !frames.empty(); ++m) {
    std::string& f = frames[pick(frames.size())];
    switch (rng() % 9) {
      case 0:
      case 1:
      case 2:
        if (!f.empty()) f[pick(f.size())] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 3:
        if (!f.empty()) f[pick(f.size())] = "\x00\xff\x7f\x80\x01"[rng() % 5];
        break;
      case 4:
        if (f.size() >= 8) {
          const uint64_t w = kWords[pick(std::size(kWords))];
          std::memcpy(&f[pick(f.size() - 7) / 4 * 4], &w, rng() % 2 ? 8 : 4);
        }
        break;
      case 5:
        f.resize(pick(f.size() + 1));
        break;
      case 6:
        f.insert(pick(f.size() + 1), std::string(1 + rng() % 16, static_cast<char>(rng())));
        break;
      case 7:
        if (frames.size() > 1) {
          frames.erase(frames.begin() + static_cast<long>(pick(frames.size())));
        } else {
          frames.push_back(frames.front());
        }
        break;
      case 8:
        if (frames.size() > 1) std::swap(frames[pick(frames.size())], frames[pick(frames.size())]);
        break;
    }
  }
  return frames;
}

struct Tally {
  std::string decoder;
  uint64_t messages = 0, accepted = 0, refused = 0, unexpected = 0;
  uint64_t computed = 0, nonfinite_losses = 0;  // trajectories only
};

// Runs `decode` on `count` mutations of the `seeds`; it returns normally for an accepted
// message and throws common::Error for a refused one.
Tally Fuzz(const std::string& name, const std::vector<Frames>& seeds, uint64_t count,
           std::mt19937_64& rng,
           const std::function<void(std::shared_ptr<const common::Multipart>)>& decode) {
  Tally tally;
  tally.decoder = name;
  for (uint64_t i = 0; i < count; ++i) {
    const Frames frames = Mutate(seeds[rng() % seeds.size()], rng);
    ++tally.messages;
    try {
      decode(ToMultipart(frames));
      ++tally.accepted;
    } catch (const common::Error&) {
      ++tally.refused;
    } catch (const std::exception& e) {
      if (++tally.unexpected <= 5) {
        std::fprintf(stderr, "%s: message %llu: unexpected %s\n", name.c_str(),
                     static_cast<unsigned long long>(i), e.what());
      }
    }
  }
  return tally;
}

// Trajectories: decode, check against the contract, then batch and compute the loss.
Tally FuzzTrajectories(uint64_t count, std::mt19937_64& rng) {
  const int T = 2, E = 3, C = 4, F = 6, K = 2, H = 4;
  std::vector<Frames> seeds;
  for (uint32_t actor = 0; actor < 3; ++actor) {
    seeds.push_back(testing::CopyFrames(
        common::EncodeTrajectory(testing::MakeTestTrajectory(T, E, C, F, K, 5, actor, H))));
  }
  const common::TrajectoryContract contract = testing::TestContract(T, C, F, K, H);
  common::PolicyModelOptions options;
  options.feature_dim = F;
  options.hidden = 8;
  options.item_buckets = 50;
  options.topics = contract.topics;
  torch::manual_seed(1);
  common::PolicyModel model(options);
  const learner::LossOptions loss_options;
  Tally tally;
  uint64_t computed = 0, nonfinite = 0;
  tally = Fuzz("trajectory", seeds, count, rng, [&](std::shared_ptr<const common::Multipart> m) {
    common::Trajectory t = common::DecodeTrajectory(std::move(m));
    common::CheckTrajectory(t, contract);
    const learner::Batch batch = learner::MakeBatch({t}, torch::kCPU);
    const learner::LossTerms terms = learner::ObjectiveLoss(model, batch, loss_options);
    ++computed;
    if (!std::isfinite(terms.total.item<double>())) ++nonfinite;
  });
  tally.computed = computed;
  tally.nonfinite_losses = nonfinite;
  return tally;
}

// Weights: chunks of two versions and run-ended messages, into an actor's assembler with the
// run's rules; completed snapshots go through the finiteness check.
Tally FuzzWeights(uint64_t count, std::mt19937_64& rng) {
  auto blob = std::make_shared<common::SnapshotBlob>();
  blob->run_id = "run";
  blob->manifest = {{"w", common::DType::kFloat32, {300}}, {"b", common::DType::kFloat32, {20}}};
  blob->bytes.resize(320 * 4);
  for (size_t i = 0; i < 320; ++i) {
    const float x = 0.01f * static_cast<float>(i);
    std::memcpy(blob->bytes.data() + 4 * i, &x, 4);
  }
  std::vector<Frames> seeds;
  for (uint64_t version : {1, 2}) {
    blob->version = version;
    for (const auto& chunk : common::EncodeWeightChunks(blob, 512)) {
      seeds.push_back(testing::CopyFrames(chunk));
    }
  }
  seeds.push_back(testing::CopyFrames(common::EncodeRunEnded("run", "max_updates")));
  common::SnapshotAssembler assembler({"run", blob->manifest});
  return Fuzz("weights", seeds, count, rng, [&](std::shared_ptr<const common::Multipart> m) {
    if (m->size() > 0 && m->view(0) == common::kRunEndedTopic) {
      common::DecodeRunEnded(std::move(m));
      return;
    }
    if (auto done = assembler.Add(std::move(m))) common::CheckSnapshotFinite(*done);
  });
}

// Reshapes a request's frames as a hostile client might: a frame split into pieces, extra
// frames (empty, small, or large enough to pass the channel's byte limit), before the usual
// mutations.
Frames ReshapeRequest(const Frames& seed, std::mt19937_64& rng) {
  Frames frames = seed;
  switch (rng() % 5) {
    case 0:
      if (!frames.empty() && frames[0].size() > 1) {
        const std::string whole = frames[0];
        const size_t pieces = 2 + rng() % 12;
        frames.erase(frames.begin());
        for (size_t i = 0, step = std::max<size_t>(1, whole.size() / pieces); i < whole.size();
             i += step) {
          frames.insert(frames.begin() + static_cast<long>(i / step), whole.substr(i, step));
        }
      }
      break;
    case 1:
      for (size_t i = 0, n = 1 + rng() % 12; i < n; ++i) {
        frames.emplace_back(rng() % 64, static_cast<char>(rng()));
      }
      break;
    case 2:
      frames.insert(frames.begin() + static_cast<long>(rng() % (frames.size() + 1)), "");
      break;
    case 3:
      // Rarely: frames within the limit, together over it.
      if (rng() % 50 == 0) {
        for (int i = 0; i < 5; ++i) frames.emplace_back(size_t{240} << 10, 'x');
      }
      break;
    default:
      break;
  }
  return Mutate(frames, rng);
}

// The lead's control socket itself: reshaped requests from a DEALER, in batches, into a real
// REP socket and ControlServer::Serve, which must answer each exactly once (a refusal counts
// as refused) and go on answering.
Tally FuzzControlSocket(const std::vector<Frames>& seeds, const common::LearnerInfo& info,
                        uint64_t count, std::mt19937_64& rng) {
  common::ZmqContext context;
  common::ControlServer server(context, "inproc://fuzz-control");
  common::ZmqSocket dealer(context, ZMQ_DEALER, "fuzz DEALER");
  dealer.SetInt(ZMQ_SNDHWM, 0);
  dealer.SetInt(ZMQ_RCVHWM, 0);
  dealer.Connect(server.endpoint());
  Tally tally;
  tally.decoder = "control_socket";
  constexpr uint64_t kBatch = 64;
  for (uint64_t done = 0; done < count;) {
    const uint64_t batch = std::min(kBatch, count - done);
    for (uint64_t i = 0; i < batch; ++i) {
      Frames frames = ReshapeRequest(seeds[rng() % seeds.size()], rng);
      frames.insert(frames.begin(), "");  // the envelope's delimiter, which REP expects
      for (size_t f = 0; f < frames.size(); ++f) {
        dealer.SendCopy(frames[f], f + 1 < frames.size(), common::After(5));
      }
    }
    uint64_t answered = 0;
    const common::Deadline deadline = common::After(30);
    while (answered < batch && common::Clock::now() < deadline) {
      server.Serve(info, common::After(0.01));
      while (auto reply = dealer.Receive(common::Clock::now())) {
        ++answered;
        ++tally.messages;
        if (reply->size() < 2) {
          ++tally.unexpected;
          continue;
        }
        Frames body;
        for (size_t f = 1; f < reply->size(); ++f) body.emplace_back(reply->view(f));
        try {
          common::DecodeWelcome(ToMultipart(body), "refused: ");
          ++tally.accepted;
        } catch (const common::Error& e) {
          // A refusal, or a status reply ("not a welcome"): answers all the same.
          const std::string what = e.what();
          if (what.rfind("refused: ", 0) == 0) {
            ++tally.refused;
          } else if (what.find("is not a welcome") != std::string::npos) {
            ++tally.accepted;
          } else if (++tally.unexpected <= 5) {
            std::fprintf(stderr, "control_socket: unreadable reply: %s\n", what.c_str());
          }
        }
      }
    }
    if (answered < batch) {
      tally.unexpected += batch - answered;
      tally.messages += batch - answered;
      std::fprintf(stderr, "control_socket: %llu requests went unanswered\n",
                   static_cast<unsigned long long>(batch - answered));
    }
    done += batch;
  }
  if (server.rebinds() > 0) {
    ++tally.unexpected;
    std::fprintf(stderr, "control_socket: the socket had to be made afresh\n");
  }
  return tally;
}

// Control: hellos and status requests into the lead's server (answered, never thrown), its
// welcome into an actor's reader, and reshaped requests through its socket.
std::vector<Tally> FuzzControl(uint64_t count, std::mt19937_64& rng) {
  common::ZmqContext context;
  common::ControlServer server(context, "tcp://127.0.0.1:*");
  common::LearnerInfo info;
  info.run_id = "run";
  info.trajectory_endpoints = {"tcp://10.0.0.1:7000", "tcp://10.0.0.2:7000"};
  info.weights_endpoint = "tcp://10.0.0.1:7001";
  std::vector<Frames> requests;
  for (uint32_t actor : {0u, 7u, 4000u}) {
    auto message = std::make_shared<common::CapnpOutgoing>(256);
    auto hello = message->builder().initRoot<common::wire::ControlRequest>().initHello();
    hello.setProtocolVersion(common::kProtocolVersion);
    hello.setActorId(actor);
    hello.setHost("actor-host");
    hello.setPid(1234);
    requests.push_back(testing::CopyFrames(common::ToFrames(std::move(message))));
  }
  auto status = std::make_shared<common::CapnpOutgoing>(64);
  status->builder().initRoot<common::wire::ControlRequest>().setStatus();
  requests.push_back(testing::CopyFrames(common::ToFrames(std::move(status))));
  // The server answers everything: a refusal is its way of saying no.
  Tally served = Fuzz("control_request", requests, count, rng,
                      [&](std::shared_ptr<const common::Multipart> m) {
                        if (server.Answer(std::move(m), info).frames.empty()) {
                          throw std::logic_error("no reply");
                        }
                      });
  const std::vector<Frames> welcomes = {
      testing::CopyFrames(server.Answer(ToMultipart(requests[0]), info))};
  Tally read = Fuzz("control_welcome", welcomes, count, rng,
                    [&](std::shared_ptr<const common::Multipart> m) {
                      common::DecodeWelcome(std::move(m), "refused: ");
                    });
  return {served, read, FuzzControlSocket(requests, info, count, rng)};
}

// The host's shared snapshot: a segment of two sealed copies (versions 1 and 2, both readable),
// its file cut into frames (the header's fields, its reader slots, the padding, each copy) and
// mutated as messages are, written back and opened, read and checked as actors and a receiver
// do. Accepted: opened (whether or not a state was readable); refused: common::Error.
Tally FuzzHostSegment(uint64_t count, std::mt19937_64& rng) {
  testing::TempDir dir;
  const std::vector<common::ParamSpec> manifest = {{"w", common::DType::kFloat32, {300}},
                                                   {"b", common::DType::kFloat32, {20}}};
  const std::string name = "rlrec-snapshot-fuzz";
  const std::string path = dir.path() + "/" + name;
  std::string states[2];  // version 1's bytes and version 2's
  Frames seed;
  {
    auto writer = actors::HostSegment::Open(dir.path(), name, "run", manifest, 2);
    if (!writer->TryBecomeReceiver()) throw std::logic_error("no receiver role");
    std::atomic<bool> stop{false};
    for (uint32_t version : {1u, 2u}) {
      const uint32_t copy = 2 - version;
      if (!writer->BeginWrite(copy, common::After(5), stop)) throw std::logic_error("no write");
      for (size_t i = 0; i < writer->bytes(); ++i) {
        writer->mutable_data(copy)[i] = static_cast<uint8_t>(i * version + 3);
      }
      writer->EndWrite(copy, version, 42);
      states[version - 1].assign(reinterpret_cast<const char*>(writer->data(copy)),
                                 writer->bytes());
    }
    actors::HostSegment::Reader reading(writer);  // a reader's slot, as a live actor leaves it
    reading.TryBegin();
    std::ifstream in(path, std::ios::binary);
    const std::string file((std::istreambuf_iterator<char>(in)), {});
    const size_t fields = offsetof(actors::segment::SegmentHeader, readers);
    const size_t header = sizeof(actors::segment::SegmentHeader);
    const size_t stride = (file.size() - actors::segment::StateOffset()) / 2;
    seed = {file.substr(0, fields), file.substr(fields, header - fields),
            file.substr(header, actors::segment::StateOffset() - header),
            file.substr(actors::segment::StateOffset(), stride),
            file.substr(actors::segment::StateOffset() + stride)};
  }  // the fuzzed files are held by nobody else
  const auto place = [&](const Frames& frames) {
    unlink(path.c_str());
    rmdir(path.c_str());
    switch (rng() % 64) {
      case 0:
        symlink("/etc/passwd", path.c_str());
        return;
      case 1:
        mkdir(path.c_str(), 0700);
        return;
      case 2:
        mkfifo(path.c_str(), 0600);
        return;
    }
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write " + path);
    for (const std::string& frame : frames) {
      if (!frame.empty() &&
          write(fd, frame.data(), frame.size()) != static_cast<ssize_t>(frame.size())) {
        close(fd);
        throw std::runtime_error("cannot write " + path);
      }
    }
    fchmod(fd, rng() % 32 == 0 ? 0644 : 0600);
    close(fd);
  };
  return Fuzz("host_segment", {seed}, count, rng, [&](std::shared_ptr<const common::Multipart> m) {
    Frames frames;
    for (size_t i = 0; i < m->size(); ++i) frames.emplace_back(m->view(i));
    place(frames);
    auto segment = actors::HostSegment::Open(dir.path(), name, "run", manifest, 2);
    actors::HostSegment::Reader reader(segment);
    if (reader.TryBegin()) {
      const uint32_t copy = reader.copy();
      const uint64_t version = segment->version(copy);
      std::string why;
      const bool passes = reader.Check(&why);
      const std::string bytes(reinterpret_cast<const char*>(segment->data(copy)), segment->bytes());
      reader.End();
      if (passes && (version < 1 || version > 2 || bytes != states[version - 1])) {
        throw std::logic_error("a reader would act on a state nobody wrote (version " +
                               std::to_string(version) + ")");
      }
    }
    segment->ReceiverSilenceS();
    if (segment->TryBecomeReceiver()) {
      std::string why;
      segment->ClearStrayWriter();
      for (uint32_t copy = 0; copy < 2; ++copy) segment->CheckWhole(copy, &why);
    }
  });
}

}  // namespace
}  // namespace rlrec::bench

int main(int argc, char** argv) {
  using namespace rlrec;
  uint64_t messages = 100000, seed = 1;
  bool json = false;
  std::string only;  // one decoder's name, or all
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--messages" && i + 1 < argc) {
      messages = std::stoull(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::stoull(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: fuzz_decoders [--messages N] [--seed S] [--only DECODER] [--json]\n");
      return 2;
    }
  }
  std::mt19937_64 rng(seed);
  const auto wanted = [&](const std::string& decoder) { return only.empty() || only == decoder; };
  std::vector<bench::Tally> tallies;
  if (wanted("trajectory")) tallies.push_back(bench::FuzzTrajectories(messages, rng));
  if (wanted("weights")) tallies.push_back(bench::FuzzWeights(messages, rng));
  if (only.empty() || only.rfind("control_", 0) == 0) {
    for (auto& t : bench::FuzzControl(messages, rng)) {
      if (wanted(t.decoder)) tallies.push_back(t);
    }
  }
  if (wanted("host_segment")) tallies.push_back(bench::FuzzHostSegment(messages, rng));
  if (tallies.empty()) {
    std::fprintf(stderr, "fuzz_decoders: no decoder named '%s'\n", only.c_str());
    return 2;
  }
  uint64_t unexpected = 0;
  for (const auto& t : tallies) {
    unexpected += t.unexpected;
    if (json) {
      common::JsonObject o;
      o.Add("decoder", t.decoder)
          .Add("messages", t.messages)
          .Add("accepted", t.accepted)
          .Add("refused", t.refused)
          .Add("unexpected", t.unexpected)
          .Add("computed", t.computed)
          .Add("nonfinite_losses", t.nonfinite_losses);
      std::printf("%s\n", o.str().c_str());
    } else {
      std::printf("%-16s %10llu messages  %10llu accepted  %10llu refused  %llu unexpected",
                  t.decoder.c_str(), static_cast<unsigned long long>(t.messages),
                  static_cast<unsigned long long>(t.accepted),
                  static_cast<unsigned long long>(t.refused),
                  static_cast<unsigned long long>(t.unexpected));
      if (t.decoder == "trajectory") {
        std::printf("  (%llu batched and trained on, %llu non-finite losses)",
                    static_cast<unsigned long long>(t.computed),
                    static_cast<unsigned long long>(t.nonfinite_losses));
      }
      std::printf("\n");
    }
  }
  return unexpected == 0 ? 0 : 1;
}
