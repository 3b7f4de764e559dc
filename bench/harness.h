// Shared pieces of the stand-alone benchmarks: fatal errors, the common command line
// (--size-mib N, --reps N, --json PATH, --help) and a clock. Header-only; each bench is
// one executable.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace cairn::bench {

// The program name used in messages; set by ParseCommonArgs.
inline const char*& ProgramName() {
  static const char* name = "cairn_bench";
  return name;
}

[[noreturn]] inline void Die(const std::string& msg) {
  std::fprintf(stderr, "%s: error: %s\n", ProgramName(), msg.c_str());
  std::exit(1);
}

inline double GBps(size_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / 1e9 / seconds : 0;
}

inline double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct CommonArgs {
  size_t size_mib = 64;
  int reps = 3;
  std::string json;
};

// Parses the common options; `max_mib` bounds --size-mib; `usage` is printed by --help.
// Anything else is a fatal usage error.
inline CommonArgs ParseCommonArgs(int argc, char** argv, const char* program, CommonArgs defaults,
                                  long max_mib, const char* usage) {
  ProgramName() = program;
  CommonArgs a = defaults;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + s);
      return argv[++i];
    };
    if (s == "--size-mib") {
      long v = std::strtol(value().c_str(), nullptr, 10);
      if (v < 1 || v > max_mib) Die("--size-mib must be 1.." + std::to_string(max_mib));
      a.size_mib = static_cast<size_t>(v);
    } else if (s == "--reps") {
      long v = std::strtol(value().c_str(), nullptr, 10);
      if (v < 1 || v > 100) Die("--reps must be 1..100");
      a.reps = static_cast<int>(v);
    } else if (s == "--json") {
      a.json = value();
    } else if (s == "-h" || s == "--help") {
      std::printf("usage: %s %s\n", program, usage);
      std::exit(0);
    } else {
      Die("unknown argument '" + s + "' (try --help)");
    }
  }
  return a;
}

}  // namespace cairn::bench
