#ifndef RLREC_COMMON_BASE_RUN_MAIN_H_
#define RLREC_COMMON_BASE_RUN_MAIN_H_

namespace rlrec::common {

// Runs `body` (a program's main work) and turns escaped rlrec errors into a one-line
// "PROGRAM: error: ..." on stderr and exit code 2 for invalid input, 1 otherwise.
int RunMain(const char* program, int (*body)(int, const char* const*), int argc,
            const char* const* argv);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_BASE_RUN_MAIN_H_
