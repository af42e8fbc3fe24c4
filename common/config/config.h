#ifndef RLREC_COMMON_CONFIG_CONFIG_H_
#define RLREC_COMMON_CONFIG_CONFIG_H_

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config_keys.h"

namespace rlrec::common {

// Reading a RunConfig (common/config/config_keys.h: every key, its default, range and help) from a
// program's command line and an INI file ([learner] batch_trajectories is the key
// learner.batch_trajectories).

// The outcome of parsing a program's arguments.
struct ParsedArgs {
  RunConfig config;
  std::string config_path;                   // empty when no --config was given
  boost::program_options::variables_map vm;  // includes the program's own options
};

// Parses `argv` of `program`: --config FILE, --help, every RunConfig key as --section.key
// (the command line wins over the file), and the program's own `extra` options.
// Returns nullopt after printing help (--help) or the effective configuration
// (--print-config) to stdout: the program then exits with 0.
// Throws Error(kInvalidInput) with a one-line message naming the key or file when the file is
// missing or unreadable, a key is unknown, a value is malformed, out of range or not one of
// the key's choices (the message lists them).
std::optional<ParsedArgs> ParseArgs(int argc, const char* const* argv, const char* program,
                                    const char* usage,
                                    const boost::program_options::options_description& extra);

// argv with every "section.key=value" word after argv[0] rewritten as "--section.key=value",
// so launcher commands take overrides the way `rlrec train ... learner.discount=0.9` reads.
std::vector<std::string> OverridesAsFlags(int argc, const char* const* argv);

// Checks every value of `config` against its key's range and the cross-key rules; throws
// Error(kInvalidInput) naming the first bad key and the rule it breaks.
void ValidateConfig(const RunConfig& config);

// `config` as an INI file: every key with its value, by section, in the table's order. What
// a run folder's config.ini and a checkpoint hold; ParseArgs reads it back to the same config.
std::string ConfigIni(const RunConfig& config);

// Runs `body` (a program's main work) and turns escaped rlrec errors into a one-line
// "PROGRAM: error: ..." on stderr and exit code 2 for invalid input, 1 otherwise.
int RunMain(const char* program, int (*body)(int, const char* const*), int argc,
            const char* const* argv);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_CONFIG_CONFIG_H_
