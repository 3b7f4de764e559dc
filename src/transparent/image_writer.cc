// ImageWriter (image.h).
#include <fcntl.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>

#include "transparent/image.h"
#include "transparent/image_records.h"

namespace cairn::transparent {

using namespace records;  // NOLINT(google-build-using-namespace): this file's own layer

Result<std::unique_ptr<ImageWriter>> ImageWriter::Create(Env* env, const std::string& final_path,
                                                         const WriteOptions& o) {
  if (env == nullptr) return Status::InvalidArgument("image writer: no Env");
  if (final_path.empty()) return Status::InvalidArgument("image writer: empty path");
  if (static_cast<uint16_t>(o.codec) > 2 || static_cast<uint16_t>(o.filter) > 1) {
    return Status::InvalidArgument("image writer: unknown codec or filter");
  }
  if (o.threads < 1) {
    return Status::InvalidArgument("image writer: threads must be >= 1, got " +
                                   std::to_string(o.threads));
  }
  if (o.writers < 1 || o.writers > 64) {
    return Status::InvalidArgument("image writer: writers must be in [1, 64], got " +
                                   std::to_string(o.writers));
  }
  if (o.batch_bytes == 0 || o.batch_bytes > kMaxPageBatchBytes) {
    return Status::InvalidArgument("image writer: batch_bytes must be in [1, " +
                                   Num(kMaxPageBatchBytes) + "], got " + Num(o.batch_bytes));
  }
  std::string tmp = final_path + ".tmp";
  auto f = env->NewWritableFile(tmp);
  if (!f.ok()) return f.status();
  return std::unique_ptr<ImageWriter>(new ImageWriter(env, final_path, o, std::move(f.value())));
}

ImageWriter::ImageWriter(Env* env, std::string final_path, const WriteOptions& o,
                         std::unique_ptr<WritableFile> file)
    : env_(env),
      final_path_(std::move(final_path)),
      tmp_path_(final_path_ + ".tmp"),
      opt_(o),
      batch_cap_(o.batch_bytes),
      file_(std::move(file)),
      buf_(new char[kBufSize]) {}

ImageWriter::~ImageWriter() {
  if (state_ == State::kOpen) Abort();
}

Status ImageWriter::CheckWritable(bool in_pages_ok) const {
  switch (state_) {
    case State::kOpen:
      break;
    case State::kFailed:
      return Status::FailedPrecondition("image '" + tmp_path_ +
                                        "' failed earlier: " + failure_.ToString());
    case State::kCommitted:
      return Status::FailedPrecondition("image '" + final_path_ + "' is committed already");
    case State::kAborted:
      return Status::FailedPrecondition("image '" + tmp_path_ + "' was aborted");
  }
  if (!in_pages_ok && in_pages_) {
    return Status::FailedPrecondition("image '" + tmp_path_ +
                                      "': a PAGES section is open (call EndPages first)");
  }
  return Status::Ok();
}

Status ImageWriter::Fail(Status st) {
  if (state_ == State::kOpen) {
    state_ = State::kFailed;
    failure_ = st;
    (void)file_->Close();
    (void)env_->RemoveFile(tmp_path_);
  }
  return st;
}

void ImageWriter::Abort() {
  if (state_ != State::kOpen) {
    if (state_ == State::kFailed) state_ = State::kAborted;
    return;
  }
  state_ = State::kAborted;
  (void)file_->Close();
  (void)env_->RemoveFile(tmp_path_);
}

Status ImageWriter::Flush() {
  if (buf_len_ == 0) return Status::Ok();
  Status st = file_->WriteAt(pos_ - buf_len_, buf_.get(), buf_len_);
  buf_len_ = 0;
  if (st.ok()) Writeback();
  return st;
}

// Every kWritebackStep bytes, the device starts on them: the disk works while the rest of the
// image is produced, and Commit's fdatasync has little left to wait for.
void ImageWriter::Writeback() {
  constexpr uint64_t kWritebackStep = 32u << 20;
  const uint64_t flushed = pos_ - buf_len_;
  if (flushed >= written_back_ + kWritebackStep) {
    file_->StartWriteback(written_back_, flushed - written_back_);
    written_back_ = flushed;
  }
}

Status ImageWriter::Put(const void* p, size_t n, Hasher* h1, Hasher* h2) {
  const char* c = static_cast<const char*>(p);
  if (n == 0) return Status::Ok();
  if (n >= kDirectMin) {
    CAIRN_RETURN_IF_ERROR(Flush());
    for (size_t done = 0; done < n;) {
      size_t k = std::min(kChunk, n - done);
      if (h1 != nullptr) h1->Update(c + done, k);
      if (h2 != nullptr) h2->Update(c + done, k);
      CAIRN_RETURN_IF_ERROR(file_->WriteAt(pos_, c + done, k));
      pos_ += k;
      done += k;
      Writeback();
    }
    return Status::Ok();
  }
  if (n > kBufSize - buf_len_) CAIRN_RETURN_IF_ERROR(Flush());
  char* dst = buf_.get() + buf_len_;
  std::memcpy(dst, c, n);
  if (h1 != nullptr) h1->Update(dst, n);
  if (h2 != nullptr) h2->Update(dst, n);
  buf_len_ += n;
  pos_ += n;
  return Status::Ok();
}

Status ImageWriter::Patch(uint64_t offset, const void* p, size_t n) {
  uint64_t base = pos_ - buf_len_;
  if (offset >= base) {
    std::memcpy(buf_.get() + (offset - base), p, n);
    return Status::Ok();
  }
  if (offset + n > base) return Status::Internal("image writer: patch straddles the buffer");
  return file_->WriteAt(offset, p, n);
}

void ImageWriter::ChainSection(uint32_t type, uint64_t length, uint64_t hash) {
  chain_ = ChainNext(chain_, type, length, hash);
  ++section_count_;
}

Status ImageWriter::WriteSection(uint32_t type, const void* payload, size_t n) {
  char hdr[kSectionHeaderSize];
  StoreLE(hdr, type);
  StoreLE<uint64_t>(hdr + 4, n);
  Status st = Put(hdr, sizeof(hdr), nullptr, nullptr);
  section_hasher_.Reset();
  if (st.ok()) st = Put(payload, n, &section_hasher_, nullptr);
  uint64_t hash = section_hasher_.Digest();
  char hb[8];
  StoreLE(hb, hash);
  if (st.ok()) st = Put(hb, sizeof(hb), nullptr, nullptr);
  if (!st.ok()) return Fail(st);
  if (type != static_cast<uint32_t>(SectionType::kEnd)) ChainSection(type, n, hash);
  return Status::Ok();
}

Status ImageWriter::WriteHeader(const ImageHeader& in) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(false));
  if (header_written_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': header written already");
  }
  ImageHeader h = in;
  h.format_version = kImageFormatVersion;
  if (h.image_id == 0) h.image_id = RandomId();
  if (h.created_ns == 0) h.created_ns = NowNs();
  if (h.page_size == 0) h.page_size = HostPageSize();
  if (h.arch.empty()) h.arch = HostArch();
  const bool encoded = Encoded(opt_.codec, opt_.filter);
  h.flags = (encoded ? kImageFlagCompressed : 0) | kImageFlagBatchHashes;
  std::string err = CheckPageSize(h.page_size);
  if (!err.empty()) return Status::InvalidArgument("image '" + tmp_path_ + "': " + err);

  uint64_t cap = opt_.batch_bytes;
  if (encoded) {
    uint64_t per_thread = 2u << 20;
    cap = std::max<uint64_t>(cap, static_cast<uint64_t>(std::min(opt_.threads, 64)) * per_thread);
  }
  cap = std::min(cap, kMaxPageBatchBytes);
  cap -= cap % h.page_size;
  batch_cap_ = std::max<uint64_t>(cap, h.page_size);

  Enc body;
  EncodeHeaderBody(h, &body);
  if (body.too_long() || body.str().size() > kMaxImageHeaderBody) {
    return Status::InvalidArgument("image '" + tmp_path_ + "': header larger than " +
                                   Num(kMaxImageHeaderBody) + " bytes (argv/environment?)");
  }
  std::string out(kImagePrefixSize, '\0');
  std::memcpy(out.data(), kImageMagic, sizeof(kImageMagic));
  StoreLE(&out[8], kImageFormatVersion);
  StoreLE(&out[10], kImageByteOrderMark);
  StoreLE(&out[12], h.flags);
  StoreLE(&out[16], static_cast<uint32_t>(body.str().size()));
  StoreLE(&out[20], uint32_t{0});
  out += body.str();
  h.header_hash = Hash64(out.data(), out.size());
  char hb[8];
  StoreLE(hb, h.header_hash);
  out.append(hb, sizeof(hb));
  Status st = Put(out.data(), out.size(), nullptr, nullptr);
  if (!st.ok()) return Fail(st);
  header_ = std::move(h);
  header_written_ = true;
  chain_ = header_.header_hash;
  return Status::Ok();
}

Status ImageWriter::WriteMetaSection(SectionType type, const std::string& payload, bool once) {
  if (once && (written_mask_ & Bit(type)) != 0) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': section " +
                                      SectionTypeName(static_cast<uint32_t>(type)) +
                                      " written already");
  }
  CAIRN_RETURN_IF_ERROR(WriteSection(static_cast<uint32_t>(type), payload.data(), payload.size()));
  written_mask_ |= Bit(type);
  return Status::Ok();
}

namespace {
template <class T, class CheckFn, class EncodeFn>
Status PrepareMeta(const std::string& tmp, const char* name, const T& v, CheckFn check,
                   EncodeFn encode, std::string* payload) {
  std::string err = check(v);
  bool too_long = false;
  if (err.empty()) {
    *payload = encode(v, &too_long);
    if (too_long) err = "a field is too long";
  }
  if (!err.empty()) return Status::InvalidArgument("image '" + tmp + "': " + name + ": " + err);
  return Status::Ok();
}
}  // namespace

Status ImageWriter::WriteRegions(const std::vector<Region>& regions) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(false));
  if (!header_written_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': write the header first");
  }
  std::string payload;
  const uint32_t ps = header_.page_size;
  CAIRN_RETURN_IF_ERROR(PrepareMeta(
      tmp_path_, "REGIONS", regions, [ps](const auto& v) { return CheckRegions(v, ps); },
      EncodeRegions, &payload));
  CAIRN_RETURN_IF_ERROR(WriteMetaSection(SectionType::kRegions, payload, true));
  regions_ = regions;
  return Status::Ok();
}

#define CAIRN_IMAGE_WRITE_META(Method, T, Name, Type, CheckFn, EncodeFn)                      \
  Status ImageWriter::Method(const T& v) {                                                    \
    CAIRN_RETURN_IF_ERROR(CheckWritable(false));                                              \
    if (!header_written_) {                                                                   \
      return Status::FailedPrecondition("image '" + tmp_path_ + "': write the header first"); \
    }                                                                                         \
    std::string payload;                                                                      \
    CAIRN_RETURN_IF_ERROR(PrepareMeta(tmp_path_, Name, v, CheckFn, EncodeFn, &payload));      \
    return WriteMetaSection(Type, payload, true);                                             \
  }

CAIRN_IMAGE_WRITE_META(WriteThreads, std::vector<ThreadState>, "THREADS", SectionType::kThreads,
                       CheckThreads, EncodeThreads)
CAIRN_IMAGE_WRITE_META(WriteFiles, std::vector<FileState>, "FILES", SectionType::kFiles, CheckFiles,
                       EncodeFiles)
CAIRN_IMAGE_WRITE_META(WriteSignals, SignalState, "SIGNALS", SectionType::kSignals, CheckSignals,
                       EncodeSignals)
CAIRN_IMAGE_WRITE_META(WriteTimers, TimerState, "TIMERS", SectionType::kTimers, CheckTimers,
                       EncodeTimers)
CAIRN_IMAGE_WRITE_META(WriteMisc, MiscState, "MISC", SectionType::kMisc, CheckMisc, EncodeMisc)

#undef CAIRN_IMAGE_WRITE_META

Status ImageWriter::WriteParent(const ParentRef& parent) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(false));
  if ((written_mask_ & Bit(SectionType::kRegions)) == 0) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': write REGIONS before PARENT");
  }
  const uint32_t ps = header_.page_size;
  std::string payload;
  CAIRN_RETURN_IF_ERROR(PrepareMeta(
      tmp_path_, "PARENT", parent, [&](const ParentRef& p) { return CheckParent(p, regions_, ps); },
      EncodeParent, &payload));
  return WriteMetaSection(SectionType::kParent, payload, true);
}

Status ImageWriter::WriteOptionalSection(uint32_t type, const void* data, size_t n) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(false));
  if (!header_written_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': write the header first");
  }
  if ((type & kOptionalSectionBit) == 0) {
    return Status::InvalidArgument("image '" + tmp_path_ + "': section type " + Hex(type) +
                                   " is not optional (bit 31 clear)");
  }
  if (data == nullptr && n > 0) return Status::InvalidArgument("image: null section data");
  return WriteSection(type, data, n);
}

Status ImageWriter::BeginPages(uint64_t region_start, uint64_t region_end) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(false));
  if (!header_written_ || (written_mask_ & Bit(SectionType::kRegions)) == 0) {
    return Status::FailedPrecondition("image '" + tmp_path_ +
                                      "': PAGES need the header and REGIONS written first");
  }
  auto it = std::lower_bound(regions_.begin(), regions_.end(), region_start,
                             [](const Region& r, uint64_t s) { return r.start < s; });
  if (it == regions_.end() || it->start != region_start || it->end != region_end) {
    return Status::InvalidArgument("image '" + tmp_path_ + "': PAGES for " +
                                   Range(region_start, region_end) + ", not a region in REGIONS");
  }
  if (std::find(paged_regions_.begin(), paged_regions_.end(), region_start) !=
      paged_regions_.end()) {
    return Status::InvalidArgument("image '" + tmp_path_ + "': region " +
                                   Range(region_start, region_end) + " has PAGES already");
  }
  char hdr[kSectionHeaderSize + 16];
  StoreLE(hdr, static_cast<uint32_t>(SectionType::kPages));
  StoreLE<uint64_t>(hdr + 4, 0);  // patched by EndPages
  StoreLE(hdr + 12, region_start);
  StoreLE(hdr + 20, region_end);
  pages_offset_ = pos_;
  section_hasher_.Reset();
  Status st = Put(hdr, kSectionHeaderSize, nullptr, nullptr);
  if (st.ok()) st = Put(hdr + kSectionHeaderSize, 16, &section_hasher_, nullptr);
  if (!st.ok()) return Fail(st);
  in_pages_ = true;
  pages_start_ = region_start;
  pages_end_ = region_end;
  next_addr_ = region_start;
  staged_runs_.clear();
  raw_.clear();
  return Status::Ok();
}

Status ImageWriter::AddPageRun(uint64_t addr, const void* data, uint64_t len) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(true));
  if (!in_pages_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': AddPageRun without BeginPages");
  }
  if (len == 0) return Status::Ok();
  if (data == nullptr) {
    return Status::InvalidArgument("image '" + tmp_path_ + "': page run " + Hex(addr) + "+" +
                                   Hex(len) + ": no data");
  }
  CAIRN_RETURN_IF_ERROR(CheckRun(addr, len));
  const char* p = static_cast<const char*>(data);
  if (!Encoded(opt_.codec, opt_.filter) && len >= kDirectRun) {
    // Large raw runs go straight from the caller's memory, a batch per batch_cap_ bytes.
    CAIRN_RETURN_IF_ERROR(FlushBatch());
    while (len > 0) {
      uint64_t piece = std::min(len, batch_cap_);
      std::vector<Run> one{{addr, piece}};
      CAIRN_RETURN_IF_ERROR(
          WriteBatch(one, p, piece, piece, format::Codec::kNone, format::Filter::kNone));
      addr += piece;
      p += piece;
      len -= piece;
    }
    return Status::Ok();
  }
  while (len > 0) {
    if (raw_.capacity() < batch_cap_) raw_.reserve(batch_cap_);
    uint64_t piece = std::min(len, batch_cap_ - raw_.size());
    raw_.append(p, piece);
    staged_runs_.push_back({addr, piece});
    addr += piece;
    p += piece;
    len -= piece;
    if (raw_.size() >= batch_cap_) CAIRN_RETURN_IF_ERROR(FlushBatch());
  }
  return Status::Ok();
}

Status ImageWriter::CheckRun(uint64_t addr, uint64_t len) {
  const uint64_t ps = header_.page_size;
  std::string what = "image '" + tmp_path_ + "': page run " + Hex(addr) + "+" + Hex(len);
  if (addr % ps != 0 || len % ps != 0) return Status::InvalidArgument(what + " not page-aligned");
  if (addr < next_addr_ || addr > pages_end_ || len > pages_end_ - addr) {
    return Status::InvalidArgument(what + " is outside region " + Range(pages_start_, pages_end_) +
                                   " or not after the previous run");
  }
  next_addr_ = addr + len;
  return Status::Ok();
}

Status ImageWriter::FlushBatch() {
  if (staged_runs_.empty()) return Status::Ok();
  Status st;
  if (!Encoded(opt_.codec, opt_.filter)) {
    st = WriteBatch(staged_runs_, raw_.data(), raw_.size(), raw_.size(), format::Codec::kNone,
                    format::Filter::kNone);
  } else {
    format::EncodeOptions eo;
    eo.codec = opt_.codec;
    eo.filter = opt_.filter;
    eo.level = opt_.level;
    eo.threads = opt_.threads;
    st = format::Encode(eo, raw_.data(), raw_.size(), &encoded_);
    if (!st.ok()) return Fail(st.Annotate("image '" + tmp_path_ + "'"));
    st = WriteBatch(staged_runs_, encoded_.data(), raw_.size(), encoded_.size(), opt_.codec,
                    opt_.filter);
  }
  staged_runs_.clear();
  raw_.clear();
  return st;
}

std::string ImageWriter::BatchHeaderBytes(const std::vector<Run>& runs, uint64_t raw_size,
                                          uint64_t stored_size, format::Codec codec,
                                          format::Filter filter) {
  std::string hdr(kBatchHeaderSize + kRunSize * runs.size(), '\0');
  StoreLE(&hdr[0], static_cast<uint32_t>(runs.size()));
  StoreLE(&hdr[4], static_cast<uint16_t>(codec));
  StoreLE(&hdr[6], static_cast<uint16_t>(filter));
  StoreLE(&hdr[8], raw_size);
  StoreLE(&hdr[16], stored_size);
  for (size_t i = 0; i < runs.size(); ++i) {
    StoreLE(&hdr[kBatchHeaderSize + kRunSize * i], runs[i].addr);
    StoreLE(&hdr[kBatchHeaderSize + kRunSize * i + 8], runs[i].len);
  }
  return hdr;
}

Status ImageWriter::WriteBatch(const std::vector<Run>& runs, const void* stored, uint64_t raw_size,
                               uint64_t stored_size, format::Codec codec, format::Filter filter) {
  const std::string hdr = BatchHeaderBytes(runs, raw_size, stored_size, codec, filter);
  batch_hasher_.Reset();
  Status st = Put(hdr.data(), hdr.size(), &batch_hasher_, nullptr);
  if (st.ok()) st = Put(stored, stored_size, &batch_hasher_, nullptr);
  char hb[8];
  StoreLE(hb, batch_hasher_.Digest());
  section_hasher_.Update(hb, sizeof(hb));  // kImageFlagBatchHashes
  if (st.ok()) st = Put(hb, sizeof(hb), nullptr, nullptr);
  if (!st.ok()) return Fail(st);
  page_raw_total_ += raw_size;
  page_stored_total_ += stored_size;
  return Status::Ok();
}

Status ImageWriter::EndPages() {
  CAIRN_RETURN_IF_ERROR(CheckWritable(true));
  if (!in_pages_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': EndPages without BeginPages");
  }
  CAIRN_RETURN_IF_ERROR(FlushBatch());
  const uint64_t length = pos_ - pages_offset_ - kSectionHeaderSize;
  const uint64_t hash = section_hasher_.Digest();
  char hb[8];
  StoreLE(hb, hash);
  Status st = Put(hb, sizeof(hb), nullptr, nullptr);
  char lb[8];
  StoreLE(lb, length);
  if (st.ok()) st = Patch(pages_offset_ + 4, lb, sizeof(lb));
  if (!st.ok()) return Fail(st);
  ChainSection(static_cast<uint32_t>(SectionType::kPages), length, hash);
  paged_regions_.push_back(pages_start_);
  in_pages_ = false;
  return Status::Ok();
}

Status ImageWriter::Commit() {
  CAIRN_RETURN_IF_ERROR(CheckWritable(true));
  if (!header_written_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': commit without a header");
  }
  if (in_pages_) CAIRN_RETURN_IF_ERROR(EndPages());
  char end[16];
  StoreLE(end, section_count_);
  StoreLE(end + 8, chain_);
  CAIRN_RETURN_IF_ERROR(WriteSection(static_cast<uint32_t>(SectionType::kEnd), end, sizeof(end)));
  Status st = Flush();
  if (st.ok() && opt_.sync) st = file_->Sync();
  if (st.ok()) st = file_->Close();
  if (st.ok()) st = env_->Rename(tmp_path_, final_path_);
  if (!st.ok()) return Fail(st);
  state_ = State::kCommitted;
  if (opt_.sync) {
    Status ds = env_->SyncDir(DirName(final_path_));
    if (!ds.ok()) return ds.Annotate("image '" + final_path_ + "' renamed but not durable");
  }
  return Status::Ok();
}

}  // namespace cairn::transparent
