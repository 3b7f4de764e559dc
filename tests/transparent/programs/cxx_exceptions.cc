// C++ exceptions thrown across many frames (a recursion 40 deep through functions with
// destructors that must run) and caught by type, plus iostreams: an std::ofstream written every
// step (its position checked with tellp), an std::ifstream re-reading it, std::ostringstream
// formatting, and std::cout only at the end.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "mx.h"

MX_PROGRAM("cxx_exceptions");

namespace {

struct StepError : std::runtime_error {
  StepError(int d, int s) : std::runtime_error("step error"), depth(d), step(s) {}
  int depth, step;
};

int live_guards = 0;
struct Guard {
  Guard() { ++live_guards; }
  ~Guard() { --live_guards; }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
};

std::vector<std::unique_ptr<std::string>> trail;

[[gnu::noinline]] long dive(int depth, int step, int limit) {
  Guard g;
  auto s = std::make_unique<std::string>(std::to_string(depth));
  if (depth == limit) {
    if (step % 3 == 0) throw StepError(depth, step);
    if (step % 3 == 1) throw std::out_of_range("range " + std::to_string(step));
    return depth;
  }
  long r = dive(depth + 1, step, limit) + static_cast<long>(s->size());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = mx_workdir(argc, argv);
  const std::string path = dir + "/cxx_log.txt";
  std::ofstream log(path);
  MX_CHECK(log.good(), "ofstream %s", path.c_str());
  long caught_step = 0, caught_range = 0, returned = 0;
  std::streamoff expected_pos = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    for (int k = 0; k < 20; ++k) {
      int step = s * 20 + k;
      try {
        returned += dive(0, step, 40);
      } catch (const StepError& e) {
        MX_CHECK(e.depth == 40 && e.step == step, "wrong StepError %d %d", e.depth, e.step);
        ++caught_step;
      } catch (const std::exception& e) {
        MX_CHECK(std::string(e.what()) == "range " + std::to_string(step), "what() = %s", e.what());
        ++caught_range;
      }
      MX_CHECK(live_guards == 0, "step %d: %d destructors did not run", s, live_guards);
    }
    MX_CHECK(static_cast<std::streamoff>(log.tellp()) == expected_pos,
             "step %d: tellp %lld, want %lld", s, static_cast<long long>(log.tellp()),
             static_cast<long long>(expected_pos));
    std::ostringstream line;
    line << "step " << s << " caught " << caught_step << '/' << caught_range << " returned "
         << returned << '\n';
    log << line.str() << std::flush;
    MX_CHECK(log.good(), "step %d: ofstream failed", s);
    expected_pos += static_cast<std::streamoff>(line.str().size());
    if (s % 25 == 24) {
      std::ifstream in(path);
      std::string first;
      std::getline(in, first);
      MX_CHECK(first.rfind("step 0 caught", 0) == 0, "step %d: first line '%s'", s, first.c_str());
      int lines = 1;
      for (std::string l; std::getline(in, l);) ++lines;
      MX_CHECK(lines == s + 1, "step %d: the log has %d lines", s, lines);
    }
    trail.push_back(std::make_unique<std::string>(line.str()));
    mx_step_sleep();
  }
  log.close();
  size_t size = 0;
  uint64_t h = mx_file_hash(path.c_str(), &size);
  std::cout << "exceptions " << caught_step << " StepError, " << caught_range
            << " out_of_range, returned " << returned << "\n";
  std::cout << "cxx_log.txt " << size << ' ' << std::hex << h << std::dec << ", trail "
            << trail.size() << std::endl;
  return 0;
}
