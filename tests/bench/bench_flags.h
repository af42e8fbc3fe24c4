#ifndef RLREC_TESTS_BENCH_BENCH_FLAGS_H_
#define RLREC_TESTS_BENCH_BENCH_FLAGS_H_

#include <cstdio>
#include <string>

namespace rlrec::bench {

// Parses the flags benchmarks share: --seconds S, --json and, when `repeats` is given,
// --repeats N. Prints `usage` and returns false for anything else.
inline bool ParseBenchFlags(int argc, char** argv, const char* usage, double* seconds, bool* json,
                            int* repeats = nullptr) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      *json = true;
    } else if (a == "--seconds" && i + 1 < argc) {
      *seconds = std::stod(argv[++i]);
    } else if (repeats && a == "--repeats" && i + 1 < argc) {
      *repeats = std::stoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s\n", usage);
      return false;
    }
  }
  return true;
}

}  // namespace rlrec::bench

#endif  // RLREC_TESTS_BENCH_BENCH_FLAGS_H_
