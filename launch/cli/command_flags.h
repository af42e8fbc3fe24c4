#ifndef RLREC_LAUNCH_CLI_COMMAND_FLAGS_H_
#define RLREC_LAUNCH_CLI_COMMAND_FLAGS_H_

#include <string>
#include <vector>

namespace rlrec::launch {

// The value of flag `name` ("--name V" or "--name=V") in `words`, or "" when absent.
std::string FlagValue(const std::vector<std::string>& words, const std::string& name);

// When `words` has no --config and `config` names a file that exists, appends
// "--config config": commands that read a run's artefact default to that run's settings.
void DefaultConfig(std::vector<std::string>* words, const std::string& config);

// `words` as the argv that ParseArgs takes (pointers into `words`).
std::vector<const char*> AsArgv(const std::vector<std::string>& words);

}  // namespace rlrec::launch

#endif  // RLREC_LAUNCH_CLI_COMMAND_FLAGS_H_
