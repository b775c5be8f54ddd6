// Defaults for the sanitizers of --config=asan and --config=tsan, compiled
// into every test binary (through //testing:gtest_main) so no environment
// variable or file path is needed. Harmless in builds without sanitizers:
// nothing calls these hooks then.

extern "C" {

// Debian's shared libraries are not built with -fsanitize=thread, so TSan
// cannot see the happens-before edges of absl::Mutex (futex based) inside
// them, and reports their bookkeeping, and gRPC's hand-off of a call's
// buffers between its threads and the caller's, as races. Reports whose
// stack runs through these libraries (upb is gRPC's own protobuf runtime;
// libcrypto is OpenSSL, under gRPC's TLS; spdlog frees its loggers at
// exit while gRPC threads still run), or
// through gRPC's inline header code (functions named grpc...), are suppressed.
// So are "thread leaks" of threads gRPC starts itself (libgpr): its
// executor threads may still be winding down when a test process exits.
// absl::Status shares its message between copies with a reference count
// whose decrement (Status::UnrefNonInlined) is in libabsl, out of TSan's
// sight: the last copy's free, on another thread than an earlier copy,
// looks like a race with that copy's increment; suppressed by the inline
// caller's name (Status::Unref), since the free's stack does not show the
// library.
// anvil's own runtime synchronizes with std::atomic and std::mutex, which TSan
// does see, and is checked in full.
const char* __tsan_default_suppressions() {
  return "race:libabsl_\n"
         "race:absl::*Status::Unref\n"
         "race:libgrpc\n"
         "race:libgpr\n"
         "race:libprotobuf\n"
         "race:libspdlog\n"
         "race:libupb\n"
         "race:libcrypto\n"
         "race:libssl\n"
         "race:grpc\n"
         "thread:libgpr\n";
}

const char* __tsan_default_options() {
  return "halt_on_error=1:second_deadlock_stack=1";
}

const char* __asan_default_options() {
  return "detect_leaks=1:detect_stack_use_after_return=1";
}

// OpenSSL objects that gRPC's TLS keeps for the life of the process (its
// root store and contexts, held by statics) are still allocated at exit;
// libcrypto has no frame pointers, so LeakSanitizer's stack stops inside
// it and the leak can only be matched by the library's name. anvil's own
// allocations are checked in full.
const char* __lsan_default_suppressions() { return "leak:libcrypto\n"; }

const char* __ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1";
}

}  // extern "C"
