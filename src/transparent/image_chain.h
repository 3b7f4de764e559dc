// Chains of incremental images (image.h ParentRef): following one from its newest image to
// the full image it starts from, and reading the memory the newest one restores.
//
// Contract:
//   - OpenChain opens `path` and, while the image opened last has a PARENT, its parent (the
//     named file in the same directory): newest first, a full image last. Every member is
//     opened with `options` (so verify_pages hashes every member's pages). kNotFound when a
//     parent file is missing; kCorruption when a parent's image id is not the one its child
//     names, a depth does not decrease by one, or the chain is longer than kMaxChainLength;
//     any error of ImageReader::Open otherwise. Each message names the chain's newest image.
//   - ReadChainPages calls `fn` for every piece of memory the newest image restores: its own
//     PAGES, then, from each older image, its pages at addresses still inherited (a page an
//     image neither holds nor inherits is absent there, so it is absent in memory too). Each
//     piece is verified as ImageReader::ReadPages verifies it; the order is not addresses'.
//   - ChainFiles names the files `path` needs (itself first), reading only metadata; it stops
//     quietly at the first one it cannot read. For retention, which must keep what a kept
//     image needs; the restore (OpenChain) is what refuses a broken chain.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "env/env.h"
#include "transparent/image.h"

namespace cairn::transparent {

inline constexpr size_t kMaxChainLength = 1024;

using ImageChain = std::vector<std::unique_ptr<ImageReader>>;  // newest first

Result<ImageChain> OpenChain(Env* env, const std::string& path, const OpenOptions& options = {});
Status ReadChainPages(const ImageChain& chain, const ImageReader::PageFn& fn);
std::vector<std::string> ChainFiles(Env* env, const std::string& path);

}  // namespace cairn::transparent
