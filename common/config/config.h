#ifndef RLREC_COMMON_CONFIG_CONFIG_H_
#define RLREC_COMMON_CONFIG_CONFIG_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/config/config_keys.h"

namespace rlrec::common {

// Reading a RunConfig (common/config/config_keys.h: every key, its default, range and help) from a
// program's command line and an INI file ([learner] batch_trajectories is the key
// learner.batch_trajectories).

struct ParsedArgs;

// A program's own options, besides --config and the config keys: each stores what the command
// line gives into a variable of the caller's, which must outlive the ParseArgs call.
class ProgramOptions {
 public:
  // `title` heads the options in --help ("Actor options").
  explicit ProgramOptions(const std::string& title = "");
  ~ProgramOptions();
  ProgramOptions(const ProgramOptions&) = delete;
  ProgramOptions& operator=(const ProgramOptions&) = delete;

  // --`name` VALUE into `*value` (T: std::string, int, uint32_t, uint64_t or double); --help
  // shows `help` and, with `show_default`, the value `*value` holds now as the default.
  template <typename T>
  ProgramOptions& Add(const char* name, T* value, const char* help, bool show_default = false);
  // --`name` alone sets `*value` to true.
  ProgramOptions& Flag(const char* name, bool* value, const char* help);
  // After ParseArgs: whether --`name` was on the command line.
  bool given(const std::string& name) const { return given_.count(name) > 0; }

 private:
  friend std::optional<ParsedArgs> ParseArgs(int, const char* const*, const char*, const char*,
                                             ProgramOptions&);
  struct Described;  // the options as Boost.Program_options describes them (config.cc)
  std::unique_ptr<Described> described_;
  std::set<std::string> given_;
};

// The outcome of parsing a program's arguments.
struct ParsedArgs {
  RunConfig config;
  std::string config_path;  // empty when no --config was given
};

// Parses `argv` of `program`: --config FILE, --help, every RunConfig key as --section.key
// (the command line wins over the file), and the program's own options `extra` (stored into
// their variables; extra.given() says which were on the command line).
// Returns nullopt after printing help (--help) or the effective configuration
// (--print-config) to stdout: the program then exits with 0.
// Throws Error(kInvalidInput) with a one-line message naming the key or file when the file is
// missing or unreadable, a key is unknown, a value is malformed, out of range or not one of
// the key's choices (the message lists them).
std::optional<ParsedArgs> ParseArgs(int argc, const char* const* argv, const char* program,
                                    const char* usage, ProgramOptions& extra);
// The same for a program with no options of its own.
std::optional<ParsedArgs> ParseArgs(int argc, const char* const* argv, const char* program,
                                    const char* usage);

// argv with every "section.key=value" word after argv[0] rewritten as "--section.key=value",
// so launcher commands take overrides the way `rlrec train ... learner.discount=0.9` reads.
std::vector<std::string> OverridesAsFlags(int argc, const char* const* argv);

// Checks every value of `config` against its key's range and the cross-key rules; throws
// Error(kInvalidInput) naming the first bad key and the rule it breaks.
void ValidateConfig(const RunConfig& config);

// `config` as an INI file: every key with its value, by section, in the table's order. What
// a run folder's config.ini and a checkpoint hold; ParseArgs reads it back to the same config.
std::string ConfigIni(const RunConfig& config);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_CONFIG_CONFIG_H_
