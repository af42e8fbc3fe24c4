#include "launch/cli/command_flags.h"

#include <filesystem>

namespace rlrec::launch {

std::string FlagValue(const std::vector<std::string>& words, const std::string& name) {
  std::string value;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] == name && i + 1 < words.size()) value = words[i + 1];
    if (words[i].rfind(name + "=", 0) == 0) value = words[i].substr(name.size() + 1);
  }
  return value;
}

void DefaultConfig(std::vector<std::string>* words, const std::string& config) {
  for (const auto& w : *words) {
    if (w == "--config" || w.rfind("--config=", 0) == 0) return;
  }
  if (config.empty() || !std::filesystem::exists(config)) return;
  words->push_back("--config");
  words->push_back(config);
}

std::vector<const char*> AsArgv(const std::vector<std::string>& words) {
  std::vector<const char*> args;
  for (const auto& w : words) args.push_back(w.c_str());
  return args;
}

}  // namespace rlrec::launch
