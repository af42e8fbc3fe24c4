#ifndef RLREC_LAUNCH_CLI_EXPORT_COMMAND_H_
#define RLREC_LAUNCH_CLI_EXPORT_COMMAND_H_

namespace rlrec::launch {

// `rlrec export --checkpoint C --out DIR [--config F]`: writes the policy of checkpoint C as a
// Triton model repository with a TorchScript module (common/model/policy_export.h). Without
// --config, a checkpoint at RUN/checkpoints/X.pt is read with RUN/config.ini.
int ExportCommand(int argc, const char* const* argv);

}  // namespace rlrec::launch

#endif  // RLREC_LAUNCH_CLI_EXPORT_COMMAND_H_
