#include "common/base/run_main.h"

#include <exception>
#include <iostream>

#include "common/base/error.h"

namespace rlrec::common {

int RunMain(const char* program, int (*body)(int, const char* const*), int argc,
            const char* const* argv) {
  try {
    return body(argc, argv);
  } catch (const Error& e) {
    std::cerr << program << ": error: " << e.what() << std::endl;
    return e.kind() == ErrorKind::kInvalidInput ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace rlrec::common
