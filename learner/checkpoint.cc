#include "learner/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/error.h"

namespace rlrec::learner {
namespace {

void FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    throw common::Unavailable("cannot open '" + path + "' to sync it: " + std::strerror(errno));
  }
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw common::Unavailable("fsync '" + path + "': " + std::strerror(errno));
}

}  // namespace

void SaveCheckpoint(const std::string& path, torch::nn::Module& model,
                    torch::optim::Optimizer& optimizer, const TrainingCounters& counters) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive, optimizer_archive;
  model.save(model_archive);
  optimizer.save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("updates", torch::tensor(static_cast<int64_t>(counters.updates)));
  archive.write("env_steps", torch::tensor(static_cast<int64_t>(counters.env_steps)));
  archive.write("snapshot_version", torch::tensor(static_cast<int64_t>(counters.snapshot_version)));
  const std::string temporary = path + ".tmp";
  try {
    archive.save_to(temporary);
  } catch (const c10::Error& e) {
    throw common::Unavailable("cannot write checkpoint '" + temporary +
                              "': " + e.what_without_backtrace());
  }
  FsyncPath(temporary, O_RDONLY);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    throw common::Unavailable("cannot rename '" + temporary + "' to '" + path +
                              "': " + std::strerror(errno));
  }
  auto slash = path.rfind('/');
  FsyncPath(slash == std::string::npos ? "." : path.substr(0, slash), O_RDONLY | O_DIRECTORY);
}

TrainingCounters LoadCheckpoint(const std::string& path, torch::nn::Module& model,
                                torch::optim::Optimizer& optimizer) {
  try {
    torch::serialize::InputArchive archive, model_archive, optimizer_archive;
    archive.load_from(path);
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    model.load(model_archive);
    optimizer.load(optimizer_archive);
    TrainingCounters counters;
    torch::Tensor value;
    archive.read("updates", value);
    counters.updates = static_cast<uint64_t>(value.item<int64_t>());
    archive.read("env_steps", value);
    counters.env_steps = static_cast<uint64_t>(value.item<int64_t>());
    archive.read("snapshot_version", value);
    counters.snapshot_version = static_cast<uint64_t>(value.item<int64_t>());
    return counters;
  } catch (const c10::Error& e) {
    throw common::InvalidInput("cannot load checkpoint '" + path +
                               "': " + e.what_without_backtrace());
  }
}

}  // namespace rlrec::learner
