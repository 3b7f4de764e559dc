// image_check IMAGE THREADS MAX_BYTES: opens a transparent-checkpoint image with ImageReader
// (every hash checked, page data included) and checks that it has THREADS thread records
// (exactly one of them the checkpoint thread), [heap] and [stack] regions with saved pages,
// and at most MAX_BYTES bytes. Prints a summary; exit 0 if all holds, 1 otherwise.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "env/env.h"
#include "transparent/image.h"

using namespace cairn;  // NOLINT(build/namespaces)

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: image_check IMAGE THREADS MAX_BYTES\n");
    return 2;
  }
  const std::string path = argv[1];
  const size_t want_threads = std::strtoull(argv[2], nullptr, 10);
  const uint64_t max_bytes = std::strtoull(argv[3], nullptr, 10);
  auto r = transparent::ImageReader::Open(Env::Default(), path);
  if (!r.ok()) {
    std::fprintf(stderr, "image_check: %s\n", r.status().ToString().c_str());
    return 1;
  }
  auto& img = *r.value();
  int bad = 0;
  size_t ckpt_threads = 0;
  for (const auto& t : img.threads()) {
    if (t.checkpoint_thread) ++ckpt_threads;
    if (t.context.empty() || t.fs_base == 0) {
      std::fprintf(stderr, "image_check: thread %d lacks context or FS base\n", t.tid);
      ++bad;
    }
  }
  if (img.threads().size() != want_threads || ckpt_threads != 1) {
    std::fprintf(stderr, "image_check: %zu thread records (%zu checkpoint threads), want %zu\n",
                 img.threads().size(), ckpt_threads, want_threads);
    ++bad;
  }
  bool heap = false, stack = false;
  for (const auto& reg : img.regions()) {
    bool paged = false;
    for (const auto& p : img.pages()) paged |= p.region_start == reg.start;
    if (reg.path == "[heap]" && paged && (reg.flags & transparent::kRegionHeap)) heap = true;
    if (reg.path == "[stack]" && paged && (reg.flags & transparent::kRegionStack)) stack = true;
  }
  if (!heap || !stack) {
    std::fprintf(stderr, "image_check: [heap] saved: %d, [stack] saved: %d\n", heap, stack);
    ++bad;
  }
  if (img.file_size() > max_bytes) {
    std::fprintf(stderr, "image_check: image is %llu bytes, more than the limit %llu\n",
                 static_cast<unsigned long long>(img.file_size()),
                 static_cast<unsigned long long>(max_bytes));
    ++bad;
  }
  if (img.files().empty() || img.signals().actions.empty() || img.misc().rlimits.empty()) {
    std::fprintf(stderr, "image_check: FILES, SIGNALS or MISC is empty\n");
    ++bad;
  }
  std::printf("%s: %llu bytes, %zu regions, %zu PAGES sections, %zu threads, %zu files\n",
              path.c_str(), static_cast<unsigned long long>(img.file_size()), img.regions().size(),
              img.pages().size(), img.threads().size(), img.files().size());
  return bad == 0 ? 0 : 1;
}
