#include "transparent/image_chain.h"

#include <algorithm>

namespace cairn::transparent {

namespace {

std::string ParentPath(const std::string& child, const ParentRef& p) {
  const size_t slash = child.rfind('/');
  return slash == std::string::npos ? p.name : child.substr(0, slash + 1) + p.name;
}

}  // namespace

Result<ImageChain> OpenChain(Env* env, const std::string& path, const OpenOptions& options) {
  ImageChain chain;
  std::string at = path;
  for (;;) {
    auto r = ImageReader::Open(env, at, options);
    if (!r.ok()) {
      if (chain.empty()) return r.status();
      if (!env->Exists(at)) {
        return Status::NotFound("the chain of incremental image '" + path + "' is broken: '" + at +
                                "' is missing");
      }
      return r.status().Annotate("the chain of incremental image '" + path + "'");
    }
    if (!chain.empty()) {
      const ParentRef& want = *chain.back()->parent();
      if (r.value()->header().image_id != want.image_id) {
        return Status::Corruption("the chain of incremental image '" + path + "' is broken: '" +
                                  at + "' is another image than the one its child was taken after");
      }
      const ParentRef* mine = r.value()->parent();
      if ((mine == nullptr && want.depth != 1) ||
          (mine != nullptr && mine->depth + 1 != want.depth)) {
        return Status::Corruption("the chain of incremental image '" + path +
                                  "' is broken: chain depths of '" + at + "' do not match");
      }
    }
    chain.push_back(std::move(r).value());
    const ParentRef* p = chain.back()->parent();
    if (p == nullptr) return chain;
    if (chain.size() >= kMaxChainLength) {
      return Status::Corruption("the chain of incremental image '" + path + "' is longer than " +
                                std::to_string(kMaxChainLength) + " images");
    }
    at = ParentPath(at, *p);
  }
}

Status ReadChainPages(const ImageChain& chain, const ImageReader::PageFn& fn) {
  if (chain.empty()) return Status::InvalidArgument("ReadChainPages: an empty chain");
  CAIRN_RETURN_IF_ERROR(chain.front()->ReadPages(fn));
  RangeSet wanted;
  if (chain.front()->parent() != nullptr) wanted = chain.front()->parent()->inherited;
  for (size_t i = 1; i < chain.size() && !wanted.empty(); ++i) {
    ImageReader& im = *chain[i];
    // The wanted ranges that end after `addr`, in order.
    auto from = [&](uint64_t addr) {
      return std::upper_bound(wanted.begin(), wanted.end(), addr,
                              [](uint64_t a, const AddressRange& r) { return a < r.end; });
    };
    for (const PagesInfo& pi : im.pages()) {
      auto w = from(pi.region_start);
      if (w == wanted.end() || w->start >= pi.region_end) continue;
      Status st = im.ReadPages(pi, [&](uint64_t addr, const void* data, uint64_t len) -> Status {
        const uint64_t end = addr + len;
        for (auto r = from(addr); r != wanted.end() && r->start < end; ++r) {
          const uint64_t lo = std::max(addr, r->start), hi = std::min(end, r->end);
          CAIRN_RETURN_IF_ERROR(fn(lo, static_cast<const char*>(data) + (lo - addr), hi - lo));
        }
        return Status::Ok();
      });
      if (!st.ok()) return st;
    }
    // What this image inherits itself stays wanted; the rest was here or is absent.
    wanted = im.parent() != nullptr ? IntersectRanges(wanted, im.parent()->inherited) : RangeSet{};
  }
  return Status::Ok();
}

std::vector<std::string> ChainFiles(Env* env, const std::string& path) {
  std::vector<std::string> out{path};
  OpenOptions o;
  o.verify_pages = false;
  std::string at = path;
  while (out.size() < kMaxChainLength) {
    auto r = ImageReader::Open(env, at, o);
    if (!r.ok() || r.value()->parent() == nullptr) break;
    at = ParentPath(at, *r.value()->parent());
    if (std::find(out.begin(), out.end(), at) != out.end()) break;
    out.push_back(at);
  }
  return out;
}

}  // namespace cairn::transparent
