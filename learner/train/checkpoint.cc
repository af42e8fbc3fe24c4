#include "learner/train/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/base/error.h"
#include "common/model/checkpoint_file.h"
#include "common/wire/control.h"

namespace rlrec::learner {
namespace {

constexpr char kPrefix[] = "ckpt-";
constexpr char kSuffix[] = ".pt";

torch::Tensor Int64(uint64_t value) { return torch::tensor(static_cast<int64_t>(value)); }

// The admitted actor ids a checkpoint holds: none in one of an older rlrec, which has no such
// entry; Error(kInvalidInput) for an entry that is not a list of actor ids.
std::vector<uint32_t> ReadActorsSeen(torch::serialize::InputArchive& archive,
                                     const std::string& path) {
  torch::Tensor ids;
  if (!archive.try_read("actors_seen", ids)) return {};
  if (ids.scalar_type() != torch::kInt64 || ids.dim() != 1 ||
      ids.numel() > int64_t{common::kMaxActorId}) {
    throw common::InvalidInput("checkpoint '" + path + "': actors_seen is not a list of actor ids");
  }
  std::vector<uint32_t> out;
  const auto* id = ids.data_ptr<int64_t>();
  for (int64_t i = 0; i < ids.numel(); ++i) {
    if (id[i] < 0 || id[i] >= int64_t{common::kMaxActorId}) {
      throw common::InvalidInput("checkpoint '" + path + "': actors_seen holds " +
                                 std::to_string(id[i]) + ", not an actor id");
    }
    out.push_back(static_cast<uint32_t>(id[i]));
  }
  return out;
}

}  // namespace

void SaveCheckpoint(const std::string& path, torch::nn::Module& model,
                    torch::optim::Optimizer& optimizer, const TrainingCounters& counters,
                    const std::string& config_ini) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive, optimizer_archive;
  model.save(model_archive);
  optimizer.save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("updates", Int64(counters.updates));
  archive.write("env_steps", Int64(counters.env_steps));
  archive.write("snapshot_version", Int64(counters.snapshot_version));
  archive.write("actors_seen", torch::tensor(std::vector<int64_t>(counters.actors_seen.begin(),
                                                                  counters.actors_seen.end()),
                                             torch::kInt64));
  archive.write("rng_state", at::detail::getDefaultCPUGenerator().get_state());
  archive.write("config_ini",
                torch::from_blob(const_cast<char*>(config_ini.data()),
                                 {static_cast<int64_t>(config_ini.size())}, torch::kUInt8)
                    .clone());
  common::WriteCheckpointFile(path, archive);
}

CheckpointContents LoadCheckpoint(const std::string& path, torch::nn::Module& model,
                                  torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive archive;
  common::ReadCheckpointModel(path, model, &archive);
  CheckpointContents contents;
  contents.counters.updates = common::ReadCheckpointCounter(archive, "updates", path);
  contents.counters.env_steps = common::ReadCheckpointCounter(archive, "env_steps", path);
  contents.counters.snapshot_version =
      common::ReadCheckpointCounter(archive, "snapshot_version", path);
  contents.counters.actors_seen = ReadActorsSeen(archive, path);
  try {
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    torch::Tensor rng, config;
    archive.read("rng_state", rng);
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle to it
    generator.set_state(rng);
    archive.read("config_ini", config);
    contents.config_ini.assign(reinterpret_cast<const char*>(config.data_ptr<uint8_t>()),
                               static_cast<size_t>(config.numel()));
  } catch (const c10::Error& e) {
    throw common::InvalidInput("checkpoint '" + path + "': " + e.what_without_backtrace());
  }
  return contents;
}

std::string CheckpointPath(const std::string& dir, uint64_t updates) {
  char name[64];
  std::snprintf(name, sizeof(name), "%s%012llu%s", kPrefix,
                static_cast<unsigned long long>(updates), kSuffix);
  return dir + "/" + name;
}

std::vector<std::string> ListCheckpoints(const std::string& dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) == 0 && name.size() > sizeof(kSuffix) &&
        name.compare(name.size() - 3, 3, kSuffix) == 0) {
      paths.push_back(entry.path().string());
    }
  }
  // Fixed-width numbers: the names sort as the update counts do.
  std::sort(paths.rbegin(), paths.rend());
  return paths;
}

void PruneCheckpoints(const std::string& dir, int keep) {
  auto paths = ListCheckpoints(dir);
  for (size_t i = static_cast<size_t>(std::max(keep, 1)); i < paths.size(); ++i) {
    std::error_code ec;
    std::filesystem::remove(paths[i], ec);
  }
}

Resumed LoadNewestCheckpoint(const std::string& dir, torch::nn::Module& model,
                             torch::optim::Optimizer& optimizer) {
  Resumed resumed;
  const auto paths = ListCheckpoints(dir);
  if (paths.empty()) {
    throw common::InvalidInput("cannot resume: no checkpoint (ckpt-*.pt) in '" + dir + "'");
  }
  for (const auto& path : paths) {
    try {
      resumed.contents = LoadCheckpoint(path, model, optimizer);
      resumed.path = path;
      return resumed;
    } catch (const common::Error& e) {
      resumed.refused.push_back(e.what());
    }
  }
  std::string why;
  for (const auto& r : resumed.refused) why += "\n  " + r;
  throw common::InvalidInput("cannot resume: no checkpoint in '" + dir + "' loads:" + why);
}

}  // namespace rlrec::learner
