#include "common/run_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>

namespace rlrec::common {

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
