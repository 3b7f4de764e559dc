// ImageWriter::AddMemoryRuns (image.h): page batches of an uncompressed image, checked for
// zero pages, copied, hashed and written by several threads from the process's memory.
//
// The batches' places in the file are handed out in order: batch j starts where batch j-1
// ends, which is known once j-1 has dropped its zero pages (a scan that cannot fail, so every
// batch publishes its end and no thread waits forever). The section hash (kImageFlagBatchHashes)
// is made from the batch hashes in order, after all threads are done.
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>

#include "transparent/image.h"
#include "transparent/image_records.h"
#include "transparent/pagemap.h"

namespace cairn::transparent {

using namespace records;  // NOLINT(google-build-using-namespace): this file's own layer

namespace {

constexpr uint64_t kWindow = 1u << 20;  // copied, hashed and written while it is in cache

struct Piece {
  uint64_t addr, len;
};

struct Batch {
  size_t first = 0, count = 0;  // its pieces
  std::atomic<int64_t> end{-1};
  uint64_t raw = 0, digest = 0;
  Status status;
};

struct Shared {
  ImageWriter* writer = nullptr;
  const std::vector<Piece>* pieces = nullptr;
  Batch* batches = nullptr;
  size_t nbatches = 0;
  uint64_t base = 0;
  uint64_t window = 0;  // bytes: kWindow, or less when no batch is that large
  bool skip_zero = false;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
};

}  // namespace

Status ImageWriter::WriteMemoryBatch(uint64_t at, const std::vector<Run>& runs, uint64_t raw,
                                     char* window, uint64_t window_size, uint64_t* digest) {
  const std::string hdr =
      BatchHeaderBytes(runs, raw, raw, format::Codec::kNone, format::Filter::kNone);
  Hasher h;
  h.Update(hdr.data(), hdr.size());
  CAIRN_RETURN_IF_ERROR(file_->WriteAt(at, hdr.data(), hdr.size()));
  uint64_t off = at + hdr.size(), used = 0;
  // The bytes are copied into `window` first and hashed and written from there, so that what
  // is written is what was hashed even where memory changes meanwhile (the checkpoint's own
  // stacks): the image may hold a torn page there, never a batch that fails its hash.
  for (const Run& r : runs) {
    for (uint64_t done = 0; done < r.len;) {
      const uint64_t n = std::min(r.len - done, window_size - used);
      std::memcpy(window + used, reinterpret_cast<const char*>(r.addr + done), n);
      used += n;
      done += n;
      if (used == window_size) {
        h.Update(window, used);
        CAIRN_RETURN_IF_ERROR(file_->WriteAt(off, window, used));
        off += used;
        used = 0;
      }
    }
  }
  h.Update(window, used);
  *digest = h.Digest();
  StoreLE(window + used, *digest);
  CAIRN_RETURN_IF_ERROR(file_->WriteAt(off, window, used + 8));
  off += used + 8;
  if (off - at >= window_size) file_->StartWriteback(at, off - at);
  return Status::Ok();
}

Status ImageWriter::AddMemoryRuns(const std::vector<AddressRange>& runs, bool skip_zero) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(true));
  if (!in_pages_) {
    return Status::FailedPrecondition("image '" + tmp_path_ +
                                      "': AddMemoryRuns without BeginPages");
  }
  if (Encoded(opt_.codec, opt_.filter)) {
    return Status::FailedPrecondition("image '" + tmp_path_ +
                                      "': AddMemoryRuns needs an uncompressed image");
  }
  const uint64_t next_before = next_addr_;
  for (const AddressRange& r : runs) {
    Status bad = r.end < r.start ? Status::InvalidArgument("image '" + tmp_path_ + "': bad run")
                                 : Status::Ok();
    if (bad.ok() && r.end > r.start) bad = CheckRun(r.start, r.end - r.start);
    if (!bad.ok()) {
      next_addr_ = next_before;  // nothing taken: the writer stays as it was
      return bad;
    }
  }
  // What is staged or buffered goes first: the batches below take the file from pos_ on.
  Status st = FlushBatch();
  if (st.ok()) st = Flush();
  if (!st.ok()) return Fail(st);

  // Batches of at most batch_cap_ bytes.
  std::vector<Piece> pieces;
  std::vector<std::pair<size_t, size_t>> spans;  // first piece, count
  uint64_t in_batch = batch_cap_;
  for (const AddressRange& r : runs) {
    for (uint64_t addr = r.start; addr < r.end;) {
      if (in_batch == batch_cap_) {
        spans.push_back({pieces.size(), 0});
        in_batch = 0;
      }
      const uint64_t n = std::min(r.end - addr, batch_cap_ - in_batch);
      pieces.push_back({addr, n});
      ++spans.back().second;
      in_batch += n;
      addr += n;
    }
  }
  if (spans.empty()) return Status::Ok();
  std::unique_ptr<Batch[]> batches(new (std::nothrow) Batch[spans.size()]);
  if (!batches) return Fail(Status::Internal("image writer: out of memory for batches"));
  for (size_t j = 0; j < spans.size(); ++j) {
    batches[j].first = spans[j].first;
    batches[j].count = spans[j].second;
  }
  Shared sh;
  sh.writer = this;
  sh.pieces = &pieces;
  sh.batches = batches.get();
  sh.nbatches = spans.size();
  sh.base = pos_;
  for (const auto& [first, count] : spans) {
    uint64_t bytes = 0;
    for (size_t i = first; i < first + count; ++i) bytes += pieces[i].len;
    sh.window = std::max(sh.window, std::min(bytes, kWindow));
  }
  sh.skip_zero = skip_zero;
  auto body = [](void* arg, int) {
    auto* s = static_cast<Shared*>(arg);
    std::vector<Piece> kept;
    std::vector<Run> table;
    std::unique_ptr<char[]> window(new (std::nothrow) char[s->window + 8]);
    for (;;) {
      const size_t j = s->next.fetch_add(1);
      if (j >= s->nbatches) return;
      Batch& b = s->batches[j];
      kept.clear();
      int64_t size = 0;
      try {
        for (size_t i = b.first; i < b.first + b.count; ++i) {
          const Piece& p = (*s->pieces)[i];
          if (s->skip_zero) {
            for (const AddressRange& r : ScanZeroPages({{p.addr, p.addr + p.len}})) {
              kept.push_back({r.start, r.size()});
            }
          } else {
            kept.push_back(p);
          }
        }
      } catch (const std::bad_alloc&) {
        b.status = Status::Internal("image writer: out of memory");
        kept.clear();
      }
      for (const Piece& p : kept) b.raw += p.len;
      if (!kept.empty()) {
        size = static_cast<int64_t>(kBatchHeaderSize + kRunSize * kept.size() + b.raw + 8);
      }
      int64_t start = static_cast<int64_t>(s->base);
      if (j > 0) {
        while ((start = s->batches[j - 1].end.load(std::memory_order_acquire)) < 0) ::sched_yield();
      }
      b.end.store(start + size, std::memory_order_release);
      if (!b.status.ok()) s->failed.store(true);
      if (size == 0 || s->failed.load(std::memory_order_relaxed)) continue;
      if (!window) {
        b.status = Status::Internal("image writer: out of memory for a write window");
        s->failed.store(true);
        continue;
      }
      try {
        table.clear();
        for (const Piece& p : kept) table.push_back({p.addr, p.len});
        b.status = s->writer->WriteMemoryBatch(static_cast<uint64_t>(start), table, b.raw,
                                               window.get(), s->window, &b.digest);
      } catch (const std::bad_alloc&) {
        b.status = Status::Internal("image writer: out of memory");
      }
      if (!b.status.ok()) s->failed.store(true);
    }
  };
  const int threads =
      static_cast<int>(std::min<size_t>(static_cast<size_t>(opt_.writers), spans.size()));
  format::RunOnThreads(threads, body, &sh);

  for (size_t j = 0; j < spans.size(); ++j) {
    if (!batches[j].status.ok())
      return Fail(batches[j].status.Annotate("image '" + tmp_path_ + "'"));
  }
  for (size_t j = 0; j < spans.size(); ++j) {
    const Batch& b = batches[j];
    if (b.raw == 0) continue;
    char hb[8];
    StoreLE(hb, b.digest);
    section_hasher_.Update(hb, sizeof(hb));  // kImageFlagBatchHashes
    page_raw_total_ += b.raw;
    page_stored_total_ += b.raw;
  }
  pos_ = static_cast<uint64_t>(batches[spans.size() - 1].end.load());
  written_back_ = pos_;
  return Status::Ok();
}

}  // namespace cairn::transparent
