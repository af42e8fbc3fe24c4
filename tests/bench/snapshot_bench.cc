// How fast weight snapshots reach an actor host over loopback: the lead's WeightPublisher (real
// XPUB) sends full snapshots of an item table of --rows x --dim floats (the xl preset by
// default: 20M x 64, 5.2 GB) and a subscribing SnapshotCache (real SUB) assembles, checks and
// holds them: the first into fresh memory (cold), the third into the memory of a snapshot the
// cache retired (the steady state). Then a delta of --changed rows: its bytes against the full
// snapshot's, and the time from publish to the cache holding the rebuilt version. Every state
// received is compared with what was sent (checksum of the whole state). JSON with --json.
// With --segment, the cache is a host's receiver and writes into a shared segment
// (actors/snapshot/host_segment.h) in this user's folder of /dev/shm, of --copies copies (1, as
// configs/xl.ini keeps, by default; with 2 the full snapshots alternate between them): the
// first full snapshot into fresh pages of the file, the third into pages already mapped (a
// re-sync). Every state is sealed as an actor host's receiver seals it.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "actors/snapshot/host_segment.h"
#include "actors/snapshot/owned_files.h"
#include "actors/snapshot/snapshot_cache.h"
#include "common/base/deadline.h"
#include "common/wire/snapshot_delta.h"
#include "learner/weight_publisher.h"

namespace rlrec::bench {
namespace {

std::vector<common::ParamSpec> Manifest(int64_t rows, int64_t dim) {
  return {{"dense", common::DType::kFloat32, {4096}},
          {"item_embedding.weight", common::DType::kFloat32, {rows, dim}},
          {"item_score_bias.weight", common::DType::kFloat32, {rows, 1}}};
}

std::shared_ptr<common::SnapshotBlob> FullBlob(int64_t rows, int64_t dim) {
  auto blob = std::make_shared<common::SnapshotBlob>();
  blob->run_id = "bench";
  blob->version = 1;
  blob->manifest = Manifest(rows, dim);
  size_t bytes = 0;
  for (const auto& spec : blob->manifest) bytes += spec.bytes();
  blob->bytes.resize(bytes);
  auto* f = reinterpret_cast<float*>(blob->bytes.data());
  for (size_t i = 0; i < bytes / 4; ++i) f[i] = static_cast<float>(i % 1000) * 1e-3f;
  return blob;
}

// A delta of version 2 on 1 that sets `changed` rows (spread over the table) of both tables.
std::shared_ptr<common::SnapshotBlob> DeltaBlob(int64_t rows, int64_t dim, int64_t changed) {
  auto blob = std::make_shared<common::SnapshotBlob>();
  blob->run_id = "bench";
  blob->version = 2;
  blob->base_version = 1;
  const auto full = Manifest(rows, dim);
  blob->manifest.push_back(full[0]);
  std::vector<int64_t> ids(changed);
  for (int64_t i = 0; i < changed; ++i) ids[i] = i * (rows / changed);
  size_t bytes = full[0].bytes();
  for (size_t t = 1; t < full.size(); ++t) {
    const int64_t width = full[t].shape[1];
    blob->manifest.push_back(
        {full[t].name + common::kDeltaRowsSuffix, common::DType::kInt64, {changed}});
    blob->manifest.push_back(
        {full[t].name + common::kDeltaValuesSuffix, common::DType::kFloat32, {changed, width}});
    bytes += changed * 8 + changed * width * 4;
  }
  blob->bytes.assign(bytes, 0);
  size_t at = full[0].bytes();
  for (size_t t = 1; t < full.size(); ++t) {
    std::memcpy(blob->bytes.data() + at, ids.data(), ids.size() * 8);
    at += ids.size() * 8 + changed * full[t].shape[1] * 4;
  }
  return blob;
}

// What the cache holds: its version (0: none) and the checksum of its whole state.
struct Held {
  const actors::SnapshotCache* cache = nullptr;
  const actors::HostSegment* segment = nullptr;  // with --segment
  uint64_t version() const {
    if (segment) return segment->readable() ? segment->version() : 0;
    const auto held = cache->Latest();
    return held ? held->version : 0;
  }
  uint64_t checksum() const {
    return segment ? common::StateChecksum(segment->data(segment->active()), segment->bytes())
                   : common::StateChecksum(*cache->Latest());
  }
};

// Publishes `blob` and serves until the cache holds its version; returns the seconds it took,
// or a negative number after `timeout_s`.
double Deliver(learner::WeightPublisher& publisher, const Held& held,
               std::shared_ptr<const common::SnapshotBlob> blob, double timeout_s) {
  const auto start = common::Clock::now();
  const uint64_t version = blob->version;
  publisher.Publish(std::move(blob));
  while (common::SecondsSince(start) < timeout_s) {
    if (held.version() >= version) return common::SecondsSince(start);
    publisher.RepublishIfDue();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return -1;
}

// A full snapshot of version `version` made of `from`'s bytes (already delivered, so free to
// move): the benchmark never holds more than one.
std::shared_ptr<common::SnapshotBlob> Renumbered(std::shared_ptr<common::SnapshotBlob> from,
                                                 uint64_t version) {
  auto blob = std::make_shared<common::SnapshotBlob>();
  blob->run_id = from->run_id;
  blob->version = version;
  blob->manifest = from->manifest;
  blob->bytes = std::move(from->bytes);
  return blob;
}

int Run(int64_t rows, int64_t dim, int64_t changed, bool segment_mode, uint32_t copies, bool json) {
  common::ZmqContext context;
  const size_t chunk = size_t{1} << 20;  // transport.weights_chunk_kib = 1024
  uint64_t snapshot_bytes = 0;
  for (const auto& spec : Manifest(rows, dim)) snapshot_bytes += spec.bytes();
  learner::WeightPublisher publisher(context, "tcp://127.0.0.1:*", chunk, /*republish_s=*/3600, {},
                                     snapshot_bytes);
  std::shared_ptr<actors::HostSegment> segment;
  if (segment_mode) {
    segment = actors::HostSegment::Open(actors::MakePrivateFolder("/dev/shm"),
                                        "rlrec-snapshot-bench-" + std::to_string(getpid()), "bench",
                                        Manifest(rows, dim), copies);
    if (!segment->TryBecomeReceiver()) return 1;
  }
  actors::SnapshotCache cache(context, publisher.endpoint(), {"bench", Manifest(rows, dim)},
                              common::MaxWeightMessageBytes(chunk), {}, segment);
  const Held held{&cache, segment.get()};
  for (int i = 0; i < 250 && publisher.subscriptions() == 0; ++i) {
    publisher.RepublishIfDue();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Versions 1 and 2 land in fresh memory (the first is the cold figure); from version 3 on
  // the cache writes into the memory of a snapshot it retired: the steady state.
  auto full = FullBlob(rows, dim);
  const uint64_t full_bytes = full->bytes.size();
  const uint64_t full_sum = common::StateChecksum(*full);
  double seconds[3] = {0, 0, 0};
  for (uint64_t version = 1; version <= 3; ++version) {
    if (version > 1) full = Renumbered(full, version);
    seconds[version - 1] = Deliver(publisher, held, full, 600);
    if (seconds[version - 1] < 0 || held.checksum() != full_sum) {
      std::fprintf(stderr, "full snapshot %llu did not arrive intact\n",
                   static_cast<unsigned long long>(version));
      return 1;
    }
  }
  auto delta = DeltaBlob(rows, dim, changed);
  delta->version = 4;
  delta->base_version = 3;
  const uint64_t delta_bytes = delta->bytes.size();
  // What the delta makes of the state, without another copy of it: the dense tensor and the
  // changed rows of both tables become zeros. The full blob is delivered; change it in place.
  {
    const auto manifest = Manifest(rows, dim);
    std::memset(full->bytes.data(), 0, manifest[0].bytes());
    size_t table_at = manifest[0].bytes();
    for (size_t t = 1; t < manifest.size(); ++t) {
      const size_t row_bytes = manifest[t].shape[1] * 4;
      for (int64_t i = 0; i < changed; ++i) {
        std::memset(full->bytes.data() + table_at + i * (rows / changed) * row_bytes, 0, row_bytes);
      }
      table_at += manifest[t].bytes();
    }
  }
  const uint64_t expected_sum = common::StateChecksum(*full);
  const double delta_s = Deliver(publisher, held, delta, 600);
  if (delta_s < 0 || held.checksum() != expected_sum) {
    std::fprintf(stderr, "the delta was not applied exactly\n");
    return 1;
  }
  const double cold = static_cast<double>(full_bytes) / seconds[0] / 1e9;
  const double warm = static_cast<double>(full_bytes) / seconds[2] / 1e9;
  const double fraction = static_cast<double>(delta_bytes) / static_cast<double>(full_bytes);
  if (json) {
    std::printf(
        "{\"segment\": %s, \"rows\": %lld, \"dim\": %lld, \"full_bytes\": %llu, "
        "\"full_seconds_cold\": %.3f, "
        "\"full_gb_per_s_cold\": %.3f, \"full_seconds\": %.3f, \"full_gb_per_s\": %.3f, "
        "\"changed_rows\": %lld, \"delta_bytes\": %llu, \"delta_fraction\": %.6f, "
        "\"delta_seconds\": %.3f}\n",
        segment_mode ? "true" : "false", static_cast<long long>(rows), static_cast<long long>(dim),
        static_cast<unsigned long long>(full_bytes), seconds[0], cold, seconds[2], warm,
        static_cast<long long>(changed), static_cast<unsigned long long>(delta_bytes), fraction,
        delta_s);
  } else {
    std::printf(
        "table %lld x %lld, full snapshot %.2f GB: reached the %s in %.2f s "
        "(%.2f GB/s) into reused memory, %.2f s (%.2f GB/s) into fresh memory\n",
        static_cast<long long>(rows), static_cast<long long>(dim), full_bytes / 1e9,
        segment_mode ? "host's segment" : "cache", seconds[2], warm, seconds[0], cold);
    std::printf("delta of %lld rows: %.2f MB (%.3f%% of full), applied and held in %.2f s\n",
                static_cast<long long>(changed), delta_bytes / 1e6, 100 * fraction, delta_s);
  }
  return 0;
}

}  // namespace
}  // namespace rlrec::bench

int main(int argc, char** argv) {
  int64_t rows = 20000000, dim = 64, changed = 20000, copies = 1;
  bool json = false, segment = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--segment") {
      segment = true;
    } else if (a == "--rows" && i + 1 < argc) {
      rows = std::stoll(argv[++i]);
    } else if (a == "--dim" && i + 1 < argc) {
      dim = std::stoll(argv[++i]);
    } else if (a == "--changed" && i + 1 < argc) {
      changed = std::stoll(argv[++i]);
    } else if (a == "--copies" && i + 1 < argc) {
      copies = std::stoll(argv[++i]);
    } else {
      std::fprintf(
          stderr,
          "usage: snapshot_bench [--rows N] [--dim D] [--changed K] [--segment [--copies 1|2]] "
          "[--json]\n");
      return 2;
    }
  }
  if (rows < 1 || dim < 1 || changed < 1 || changed > rows || copies < 1 || copies > 2) {
    std::fprintf(stderr,
                 "snapshot_bench: need 1 <= --changed <= --rows, --dim >= 1, --copies 1 or 2\n");
    return 2;
  }
  return rlrec::bench::Run(rows, dim, changed, segment, static_cast<uint32_t>(copies), json);
}
