#include "common/run/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>

#include "common/base/atomic_file.h"
#include "common/base/error.h"
#include "common/config/config.h"

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

RunDirLock::RunDirLock(const RunDir& run_dir) {
  std::filesystem::create_directories(run_dir.path());
  const std::string path = run_dir.lock();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Unavailable("cannot open the run folder lock '" + path + "': " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    std::string holder(256, '\0');
    const ssize_t n = ::pread(fd_, holder.data(), holder.size() - 1, 0);
    holder.resize(n > 0 ? static_cast<size_t>(n) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (error != EWOULDBLOCK) {
      throw Unavailable("cannot lock the run folder '" + run_dir.path() +
                        "': " + std::strerror(error));
    }
    throw InvalidInput("run folder '" + run_dir.path() + "' is in use by another learner (" +
                       (holder.empty() ? std::string("unknown process") : holder) +
                       "); stop it first, or give this run another run.name");
  }
  char host[256] = "";
  ::gethostname(host, sizeof(host) - 1);
  const std::time_t now = std::time(nullptr);
  char since[32] = "";
  std::strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  const std::string who =
      "pid " + std::to_string(::getpid()) + " on " + host + " since " + since + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, who.data(), who.size(), 0) < 0) {
    // The lock holds even when the note of who holds it cannot be written.
  }
}

RunDirLock::~RunDirLock() {
  if (fd_ < 0) return;
  if (::ftruncate(fd_, 0) != 0) {
    // Nothing to do: the lock goes with the descriptor.
  }
  ::close(fd_);
}

// Reading the files.

double FileAgeSeconds(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return std::max(0.0, std::difftime(std::time(nullptr), st.st_mtime));
}

std::vector<CheckpointFile> ListCheckpoints(const std::string& dir) {
  static const std::regex name(R"(ckpt-(\d{1,19})\.pt)");
  std::vector<CheckpointFile> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    CheckpointFile c;
    c.path = entry.path().string();
    c.update = std::stoull(m[1]);
    c.bytes = entry.file_size(ec);
    c.age_s = FileAgeSeconds(c.path);
    out.push_back(c);
  }
  std::sort(out.begin(), out.end(),
            [](const CheckpointFile& a, const CheckpointFile& b) { return a.update < b.update; });
  return out;
}

std::vector<std::string> TailLines(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > std::streamoff(max_bytes) ? size - max_bytes : 0;
  in.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  std::vector<std::string> lines;
  size_t at = 0;
  if (start > 0) {  // the first line may be cut: start after the first newline
    at = text.find('\n');
    at = at == std::string::npos ? text.size() : at + 1;
  }
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    if (end == std::string::npos) break;  // a line still being written
    if (end > at) lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return lines;
}

}  // namespace rlrec::common
