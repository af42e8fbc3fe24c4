#include "tests/table_snapshots.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "common/wire/snapshot_delta.h"

namespace rlrec::testing {

std::shared_ptr<common::SnapshotBlob> FlatBlob(uint64_t version, size_t floats) {
  auto blob = std::make_shared<common::SnapshotBlob>();
  blob->run_id = "run";
  blob->version = version;
  common::ParamSpec spec;
  spec.name = "w";
  spec.shape = {static_cast<int64_t>(floats)};
  blob->manifest.push_back(spec);
  blob->bytes.assign(floats * 4, static_cast<uint8_t>(version));
  return blob;
}

std::shared_ptr<common::SnapshotBlob> TableState(uint64_t version) {
  auto blob = std::make_shared<common::SnapshotBlob>();
  blob->run_id = "run";
  blob->version = version;
  blob->manifest = {{"dense", common::DType::kFloat32, {4}},
                    {"table", common::DType::kFloat32, {100, 4}}};
  std::vector<float> values(4 + 400, 0.0f);
  std::fill(values.begin(), values.begin() + 4, static_cast<float>(version));
  for (uint64_t v = 2; v <= version; ++v) {
    std::fill_n(values.begin() + 4 + 4 * (7 * v % 100), 4, static_cast<float>(v));
  }
  blob->bytes.resize(values.size() * 4);
  std::memcpy(blob->bytes.data(), values.data(), blob->bytes.size());
  return blob;
}

std::shared_ptr<common::SnapshotBlob> TableDelta(uint64_t version) {
  auto blob = std::make_shared<common::SnapshotBlob>();
  blob->run_id = "run";
  blob->version = version;
  blob->base_version = version - 1;
  blob->manifest = {
      {"dense", common::DType::kFloat32, {4}},
      {std::string("table") + common::kDeltaRowsSuffix, common::DType::kInt64, {1}},
      {std::string("table") + common::kDeltaValuesSuffix, common::DType::kFloat32, {1, 4}}};
  const std::vector<float> dense(4, static_cast<float>(version));
  const int64_t row = static_cast<int64_t>(7 * version % 100);
  blob->bytes.resize(16 + 8 + 16);
  std::memcpy(blob->bytes.data(), dense.data(), 16);
  std::memcpy(blob->bytes.data() + 16, &row, 8);
  std::memcpy(blob->bytes.data() + 24, dense.data(), 16);
  return blob;
}

bool WaitForSubscription(learner::WeightPublisher& publisher) {
  const auto deadline = common::After(10);
  while (publisher.subscriptions() == 0) {
    if (common::Clock::now() >= deadline) return false;
    publisher.RepublishIfDue();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace rlrec::testing
