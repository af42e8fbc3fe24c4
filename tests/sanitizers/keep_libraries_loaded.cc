// Linked into every program of an AddressSanitizer build (cmake/RlrecTargets.cmake): dlclose
// does nothing, so the libraries a process loads at run time (Open MPI's components) stay
// mapped until it exits. LeakSanitizer then sees their globals, and names them in its reports
// instead of "<unknown module>", so the suppressions in lsan.supp can match.
extern "C" int dlclose(void* /*handle*/) { return 0; }
