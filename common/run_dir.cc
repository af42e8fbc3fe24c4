#include "common/run_dir.h"

#include <ctime>
#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"
#include "common/config.h"

namespace rlrec::common {

RunDir::RunDir(std::string path) : path_(std::move(path)) {}

RunDir RunDir::ForConfig(const RunConfig& config) {
  std::string name = config.run.name;
  if (name.empty()) {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "run-%Y%m%d-%H%M%S", &tm);
    name = buf;
  }
  return RunDir(config.run.runs_root + "/" + name);
}

std::string RunDir::Path(RunFile file, int actor_id) const {
  for (const auto& spec : kRunFiles) {
    if (spec.file != file) continue;
    std::string relative = spec.path;
    const auto id = relative.find("{id}");
    if (id != std::string::npos) relative.replace(id, 4, std::to_string(actor_id));
    return path_ + "/" + relative;
  }
  return path_;
}

std::string RunDir::run_id() const { return std::filesystem::path(path_).filename().string(); }

bool RunDir::HoldsRun() const { return std::filesystem::exists(metrics()); }

void RunDir::WriteConfig(const RunConfig& config) const {
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  WriteFileAtomically(this->config(), {ConfigIni(config)});
}

std::string RunDir::ReadControlEndpoint() const {
  std::ifstream in(control_endpoint());
  std::string line;
  std::getline(in, line);
  return line;
}

std::string RunDir::ConfigOfCheckpoint(const std::string& checkpoint) {
  const std::filesystem::path run = std::filesystem::path(checkpoint).parent_path().parent_path();
  return RunDir(run.empty() ? "." : run.string()).config();
}

std::string RunDirLayoutForShell() {
  std::string out;
  for (const auto& spec : kRunFiles) {
    out += std::string("RLREC_RUN_") + spec.shell_name + "=" + spec.path + "\n";
  }
  return out;
}

}  // namespace rlrec::common
