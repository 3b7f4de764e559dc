// ImageReader (image.h).
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

Status ImageReader::Corrupt(const std::string& msg) const {
  return Status::Corruption("image '" + path_ + "': " + msg);
}

Result<std::unique_ptr<ImageReader>> ImageReader::Open(Env* env, const std::string& path,
                                                       const OpenOptions& options) {
  if (env == nullptr) return Status::InvalidArgument("image reader: no Env");
  auto f = env->NewRandomAccessFile(path);
  if (!f.ok()) return f.status();
  std::unique_ptr<ImageReader> r(new ImageReader(path, std::move(f.value()), options));
  CAIRN_RETURN_IF_ERROR(r->Load());
  return r;
}

bool ImageReader::has_section(SectionType t) const {
  if (t == SectionType::kPages) return !pages_.empty();
  return (seen_mask_ & Bit(t)) != 0;
}

Status ImageReader::ParseHeader(uint64_t* end) {
  const uint64_t size = file_->size();
  char prefix[kImagePrefixSize];
  if (size < sizeof(kImageMagic)) {
    return Corrupt("not a cairn process image (only " + Num(size) + " bytes)");
  }
  CAIRN_RETURN_IF_ERROR(file_->ReadAt(0, prefix, std::min<uint64_t>(size, sizeof(prefix))));
  if (std::memcmp(prefix, kImageMagic, sizeof(kImageMagic)) != 0) {
    return Corrupt("not a cairn process image (bad magic)");
  }
  if (size < kImagePrefixSize + 8) return Corrupt("truncated header (" + Num(size) + " bytes)");
  const uint16_t version = LoadLE<uint16_t>(prefix + 8);
  const uint16_t bom = LoadLE<uint16_t>(prefix + 10);
  if (bom != kImageByteOrderMark) {
    if (bom == 0x0201) return Corrupt("written on a host of the other byte order");
    return Corrupt("bad byte-order mark " + Hex(bom));
  }
  if (version == 0) return Corrupt("bad format version 0");
  if (version > kImageFormatVersion) {
    return Status::InvalidArgument("image '" + path_ + "': format version " + Num(version) +
                                   " is newer than this cairn supports (" +
                                   Num(kImageFormatVersion) + ")");
  }
  const uint32_t flags = LoadLE<uint32_t>(prefix + 12);
  const uint32_t body_len = LoadLE<uint32_t>(prefix + 16);
  if (body_len > kMaxImageHeaderBody) return Corrupt("header body of " + Num(body_len) + " bytes");
  const uint64_t hdr_end = kImagePrefixSize + uint64_t{body_len} + 8;
  if (hdr_end > size) {
    return Corrupt("truncated: header needs " + Num(hdr_end) + " bytes, file has " + Num(size));
  }
  std::string hdr(static_cast<size_t>(hdr_end), '\0');
  CAIRN_RETURN_IF_ERROR(file_->ReadAt(0, hdr.data(), hdr.size()));
  const uint64_t want = LoadLE<uint64_t>(hdr.data() + hdr_end - 8);
  const uint64_t got = Hash64(hdr.data(), static_cast<size_t>(hdr_end - 8));
  if (want != got) return Corrupt("header checksum mismatch");
  if ((flags & ~kKnownImageFlags) != 0) {
    return Status::InvalidArgument("image '" + path_ + "': unknown header flags " + Hex(flags) +
                                   " (written by a newer cairn?)");
  }
  ImageHeader h;
  h.format_version = version;
  h.flags = flags;
  Dec d(hdr.data() + kImagePrefixSize, body_len);
  if (!DecodeHeaderBody(&d, &h)) return Corrupt("header body is truncated");
  std::string err = CheckPageSize(h.page_size);
  if (!err.empty()) return Corrupt("header: " + err);
  if (h.arch != HostArch()) {
    return Status::InvalidArgument("image '" + path_ + "' is for architecture '" + h.arch +
                                   "', this host is '" + HostArch() + "'");
  }
  h.header_hash = got;
  header_ = std::move(h);
  *end = hdr_end;
  return Status::Ok();
}

Status ImageReader::ParseMeta(const SectionInfo& s, const std::string& payload) {
  const std::string where =
      "section " + SectionTypeName(s.type) + " at offset " + Num(s.offset) + ": ";
  Dec d(payload.data(), payload.size());
  std::string err;
  bool ok = false;
  switch (static_cast<SectionType>(s.type)) {
    case SectionType::kRegions:
      ok = DecodeRegions(&d, &regions_);
      if (ok) err = CheckRegions(regions_, header_.page_size);
      break;
    case SectionType::kThreads:
      ok = DecodeThreads(&d, &threads_, &err);
      if (ok) err = CheckThreads(threads_);
      break;
    case SectionType::kFiles:
      ok = DecodeFiles(&d, &files_, &err);
      if (ok) err = CheckFiles(files_);
      break;
    case SectionType::kSignals:
      ok = DecodeSignals(&d, &signals_);
      if (ok) err = CheckSignals(signals_);
      break;
    case SectionType::kTimers:
      ok = DecodeTimers(&d, &timers_);
      if (ok) err = CheckTimers(timers_);
      break;
    case SectionType::kMisc:
      ok = DecodeMisc(&d, &misc_);
      if (ok) err = CheckMisc(misc_);
      break;
    default:
      return Corrupt(where + "not a metadata section");
  }
  if (!ok && err.empty()) err = "record data is truncated";
  if (!err.empty()) return Corrupt(where + err);
  return Status::Ok();
}

// kImageFlagBatchHashes: every batch's hash over its bytes, and the section's hash over its
// region bounds and the batch hashes in order. One sequential read.
Status ImageReader::VerifyBatchHashes(const SectionInfo& s) {
  const std::string where = "PAGES section at offset " + Num(s.offset) + ": ";
  const uint64_t begin = s.offset + kSectionHeaderSize;
  const uint64_t end = begin + s.length;
  if (s.length < 16) return Corrupt(where + "too short for its region bounds");
  Hasher section, batch;
  std::string buf(16, '\0');
  CAIRN_RETURN_IF_ERROR(file_->ReadAt(begin, buf.data(), 16));
  section.Update(buf.data(), 16);
  for (uint64_t at = begin + 16; at < end;) {
    const std::string bwhere = where + "batch at offset " + Num(at) + ": ";
    if (end - at < kBatchHeaderSize) return Corrupt(bwhere + "header cut off");
    char bh[kBatchHeaderSize];
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(at, bh, sizeof(bh)));
    BatchHeader b = ParseBatchHeader(bh);
    std::string err = CheckBatchHeader(b, compressed(), end - at - kBatchHeaderSize);
    if (!err.empty()) return Corrupt(bwhere + err);
    const uint64_t body = kBatchHeaderSize + kRunSize * b.runs + b.stored;  // hashed bytes
    batch.Reset();
    for (uint64_t done = 0; done < body;) {
      const uint64_t n = std::min<uint64_t>(kReadChunk, body - done);
      buf.resize(static_cast<size_t>(n));
      CAIRN_RETURN_IF_ERROR(file_->ReadAt(at + done, buf.data(), buf.size()));
      batch.Update(buf.data(), buf.size());
      done += n;
    }
    char hb[8];
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(at + body, hb, sizeof(hb)));
    if (batch.Digest() != LoadLE<uint64_t>(hb)) return Corrupt(bwhere + "checksum mismatch");
    section.Update(hb, sizeof(hb));
    at += body + 8;
  }
  if (section.Digest() != s.hash) return Corrupt(where + "checksum mismatch");
  return Status::Ok();
}

Status ImageReader::ScanPages(const SectionInfo& s, PagesInfo* info) {
  const std::string where = "PAGES section at offset " + Num(s.offset) + ": ";
  const uint64_t begin = s.offset + kSectionHeaderSize;
  const uint64_t end = begin + s.length;
  if (opt_.verify_pages && (header_.flags & kImageFlagBatchHashes) != 0) {
    CAIRN_RETURN_IF_ERROR(VerifyBatchHashes(s));
  } else if (opt_.verify_pages) {
    Hasher h;
    std::string buf;
    for (uint64_t at = begin; at < end;) {
      uint64_t n = std::min<uint64_t>(kReadChunk, end - at);
      buf.resize(static_cast<size_t>(n));
      CAIRN_RETURN_IF_ERROR(file_->ReadAt(at, buf.data(), buf.size()));
      h.Update(buf.data(), buf.size());
      at += n;
    }
    if (h.Digest() != s.hash) return Corrupt(where + "checksum mismatch");
  }
  if (s.length < 16) return Corrupt(where + "too short for its region bounds");
  char rb[16];
  CAIRN_RETURN_IF_ERROR(file_->ReadAt(begin, rb, sizeof(rb)));
  info->region_start = LoadLE<uint64_t>(rb);
  info->region_end = LoadLE<uint64_t>(rb + 8);
  auto it = std::lower_bound(regions_.begin(), regions_.end(), info->region_start,
                             [](const Region& r, uint64_t v) { return r.start < v; });
  if (it == regions_.end() || it->start != info->region_start || it->end != info->region_end) {
    return Corrupt(where + "region " + Range(info->region_start, info->region_end) +
                   " is not in REGIONS");
  }
  for (const PagesInfo& p : pages_) {
    if (p.region_start == info->region_start) {
      return Corrupt(where + "second PAGES section for region " +
                     Range(info->region_start, info->region_end));
    }
  }
  uint64_t next = info->region_start;
  std::string runs;
  for (uint64_t at = begin + 16; at < end;) {
    if (end - at < kBatchHeaderSize) return Corrupt(where + "batch header cut off");
    char bh[kBatchHeaderSize];
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(at, bh, sizeof(bh)));
    BatchHeader b = ParseBatchHeader(bh);
    std::string err = CheckBatchHeader(b, compressed(), end - at - kBatchHeaderSize);
    if (!err.empty()) return Corrupt(where + "batch at offset " + Num(at) + ": " + err);
    runs.resize(kRunSize * b.runs);
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(at + kBatchHeaderSize, runs.data(), runs.size()));
    err = CheckRuns(b, runs.data(), info->region_start, info->region_end, header_.page_size, &next);
    if (!err.empty()) return Corrupt(where + "batch at offset " + Num(at) + ": " + err);
    ++info->batches;
    info->runs += b.runs;
    info->raw_bytes += b.raw;
    info->stored_bytes += b.stored;
    at += kBatchHeaderSize + runs.size() + b.stored + 8;
  }
  return Status::Ok();
}

Status ImageReader::Load() {
  const uint64_t size = file_->size();
  uint64_t off = 0;
  CAIRN_RETURN_IF_ERROR(ParseHeader(&off));
  uint64_t chain = header_.header_hash;
  uint64_t count = 0;
  while (off < size) {
    const std::string at = " at offset " + Num(off);
    if (size - off < kSectionHeaderSize) {
      return Corrupt("truncated: section header" + at + " is cut off (file has " + Num(size) +
                     " bytes)");
    }
    char sh[kSectionHeaderSize];
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(off, sh, sizeof(sh)));
    SectionInfo s;
    s.type = LoadLE<uint32_t>(sh);
    s.offset = off;
    s.length = LoadLE<uint64_t>(sh + 4);
    const std::string name = "section " + Num(count) + " (" + SectionTypeName(s.type) + ")" + at;
    if (s.length > size - off - kSectionHeaderSize ||
        size - off - kSectionHeaderSize - s.length < 8) {
      return Corrupt("truncated: " + name + " claims " + Num(s.length) +
                     " payload bytes but the file ends " + Num(size - off) +
                     " bytes after its start");
    }
    char hb[8];
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(off + kSectionHeaderSize + s.length, hb, sizeof(hb)));
    s.hash = LoadLE<uint64_t>(hb);
    const uint64_t next = off + kSectionOverhead + s.length;

    const bool optional = (s.type & kOptionalSectionBit) != 0;
    if (s.type == static_cast<uint32_t>(SectionType::kEnd)) {
      if (s.length != 16) return Corrupt(name + ": END payload must be 16 bytes");
      char e[16];
      CAIRN_RETURN_IF_ERROR(file_->ReadAt(off + kSectionHeaderSize, e, sizeof(e)));
      if (Hash64(e, sizeof(e)) != s.hash) return Corrupt(name + ": checksum mismatch");
      const uint64_t want_count = LoadLE<uint64_t>(e);
      const uint64_t want_chain = LoadLE<uint64_t>(e + 8);
      if (want_count != count) {
        return Corrupt("END records " + Num(want_count) + " sections but the image has " +
                       Num(count) + " (sections missing or added)");
      }
      if (want_chain != chain) {
        return Corrupt("section chain mismatch: sections reordered, replaced or missing");
      }
      if (next != size) {
        return Corrupt(Num(size - next) + " trailing bytes after the END section");
      }
      sections_.push_back(s);
      seen_mask_ |= Bit(SectionType::kEnd);
      return Status::Ok();
    } else if (s.type == static_cast<uint32_t>(SectionType::kPages)) {
      if ((seen_mask_ & Bit(SectionType::kRegions)) == 0) {
        return Corrupt(name + ": PAGES before the REGIONS section");
      }
      PagesInfo info;
      info.section = sections_.size();
      CAIRN_RETURN_IF_ERROR(ScanPages(s, &info));
      pages_.push_back(info);
    } else if (optional) {
      auto payload = ReadSection(s);
      if (!payload.ok()) return payload.status();
    } else if (s.type == static_cast<uint32_t>(SectionType::kParent)) {
      if ((seen_mask_ & Bit(SectionType::kRegions)) == 0) {
        return Corrupt(name + ": PARENT before the REGIONS section");
      }
      if (has_parent_) return Corrupt(name + ": second section of this type");
      auto payload = ReadSection(s);
      if (!payload.ok()) return payload.status();
      Dec d(payload.value().data(), payload.value().size());
      if (!DecodeParent(&d, &parent_)) return Corrupt(name + ": record data is truncated");
      std::string err = CheckParent(parent_, regions_, header_.page_size);
      if (!err.empty()) return Corrupt(name + ": " + err);
      has_parent_ = true;
    } else if (s.type >= 1 && s.type <= 7) {
      const uint32_t bit = 1u << s.type;
      if ((seen_mask_ & bit) != 0) return Corrupt(name + ": second section of this type");
      auto payload = ReadSection(s);
      if (!payload.ok()) return payload.status();
      CAIRN_RETURN_IF_ERROR(ParseMeta(s, payload.value()));
      seen_mask_ |= bit;
    } else {
      return Corrupt(name + ": unknown section type (not optional; written by a newer cairn?)");
    }
    sections_.push_back(s);
    chain = ChainNext(chain, s.type, s.length, s.hash);
    ++count;
    off = next;
  }
  return Corrupt("truncated: no END section (file ends after " + Num(count) + " sections at " +
                 Num(size) + " bytes)");
}

Result<std::string> ImageReader::ReadSection(const SectionInfo& s) const {
  if (s.length > file_->size()) return Corrupt("section larger than the file");
  std::string payload(static_cast<size_t>(s.length), '\0');
  CAIRN_RETURN_IF_ERROR(file_->ReadAt(s.offset + kSectionHeaderSize, payload.data(), s.length));
  if (Hash64(payload.data(), payload.size()) != s.hash) {
    return Corrupt("section " + SectionTypeName(s.type) + " at offset " + Num(s.offset) +
                   ": checksum mismatch");
  }
  return payload;
}

Status ImageReader::ReadPages(const PageFn& fn) {
  for (const PagesInfo& p : pages_) CAIRN_RETURN_IF_ERROR(ReadPages(p, fn));
  return Status::Ok();
}

Status ImageReader::ReadPages(const PagesInfo& info, const PageFn& fn) {
  return WalkPages(
      info,
      [&](uint64_t addr, const void* data, uint64_t len, uint64_t) { return fn(addr, data, len); },
      true);
}

Status ImageReader::ReadPageLocations(const PageLocationFn& fn) {
  for (const PagesInfo& p : pages_) CAIRN_RETURN_IF_ERROR(WalkPages(p, fn, true));
  return Status::Ok();
}

Status ImageReader::ReadPageLayout(const BatchFn& on_batch, const PageLocationFn& fn) {
  for (const PagesInfo& p : pages_) CAIRN_RETURN_IF_ERROR(WalkPages(p, fn, false, &on_batch));
  return Status::Ok();
}

Status ImageReader::WalkPages(const PagesInfo& info, const PageLocationFn& fn, bool with_data,
                              const BatchFn* on_batch) {
  if (info.section >= sections_.size() ||
      sections_[info.section].type != static_cast<uint32_t>(SectionType::kPages)) {
    return Status::InvalidArgument("image '" + path_ + "': not a PAGES section of this image");
  }
  const SectionInfo& s = sections_[info.section];
  const std::string where = "PAGES section at offset " + Num(s.offset) + ": ";
  const uint64_t begin = s.offset + kSectionHeaderSize;
  const uint64_t end = begin + s.length;
  Hasher section;
  char rb[16];
  CAIRN_RETURN_IF_ERROR(file_->ReadAt(begin, rb, sizeof(rb)));
  section.Update(rb, sizeof(rb));
  const uint64_t region_start = LoadLE<uint64_t>(rb);
  const uint64_t region_end = LoadLE<uint64_t>(rb + 8);
  if (region_start != info.region_start || region_end != info.region_end) {
    return Corrupt(where + "region bounds changed since Open");
  }
  uint64_t next = region_start;
  std::string table;
  Hasher batch;
  for (uint64_t at = begin + 16; at < end;) {
    const std::string bwhere = where + "batch at offset " + Num(at) + ": ";
    if (end - at < kBatchHeaderSize) return Corrupt(bwhere + "header cut off");
    table.resize(kBatchHeaderSize);
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(at, table.data(), kBatchHeaderSize));
    BatchHeader b = ParseBatchHeader(table.data());
    std::string err = CheckBatchHeader(b, compressed(), end - at - kBatchHeaderSize);
    if (!err.empty()) return Corrupt(bwhere + err);
    table.resize(kBatchHeaderSize + kRunSize * b.runs);
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(at + kBatchHeaderSize, table.data() + kBatchHeaderSize,
                                        table.size() - kBatchHeaderSize));
    const uint64_t data_at = at + table.size();
    const size_t stored = static_cast<size_t>(b.stored);
    if (!with_data) {  // layout only: where the raw runs are; nothing hashed
      if (Encoded(static_cast<format::Codec>(b.codec), static_cast<format::Filter>(b.filter))) {
        return Status::InvalidArgument("image '" + path_ + "': compressed pages have no layout");
      }
      uint64_t check_next = next;
      err = CheckRuns(b, table.data() + kBatchHeaderSize, region_start, region_end,
                      header_.page_size, &check_next);
      if (!err.empty()) return Corrupt(bwhere + err);
      next = check_next;
      if (on_batch != nullptr)
        CAIRN_RETURN_IF_ERROR((*on_batch)(at, table.size(), data_at + stored));
      uint64_t file_at = data_at;
      for (uint32_t i = 0; i < b.runs; ++i) {
        const char* r = table.data() + kBatchHeaderSize + kRunSize * i;
        const uint64_t len = LoadLE<uint64_t>(r + 8);
        CAIRN_RETURN_IF_ERROR(fn(LoadLE<uint64_t>(r), nullptr, len, file_at));
        file_at += len;
      }
      at = data_at + stored + 8;
      continue;
    }
    if (io_.size() < stored + 8) io_.resize(stored + 8);
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(data_at, io_.data(), stored + 8));
    batch.Reset();
    batch.Update(table.data(), table.size());
    batch.Update(io_.data(), stored);
    if (batch.Digest() != LoadLE<uint64_t>(io_.data() + stored)) {
      return Corrupt(bwhere + "checksum mismatch");
    }
    if ((header_.flags & kImageFlagBatchHashes) != 0) {
      section.Update(io_.data() + stored, 8);
    } else {
      section.Update(table.data(), table.size());
      section.Update(io_.data(), stored + 8);
    }
    uint64_t check_next = next;
    err = CheckRuns(b, table.data() + kBatchHeaderSize, region_start, region_end, header_.page_size,
                    &check_next);
    if (!err.empty()) return Corrupt(bwhere + err);
    next = check_next;
    const char* data = io_.data();
    uint64_t file_at = data_at;  // of the run's bytes, while they are stored raw
    const auto codec = static_cast<format::Codec>(b.codec);
    const auto filter = static_cast<format::Filter>(b.filter);
    if (Encoded(codec, filter)) {
      file_at = kNotInFile;
      if (raw_.size() < b.raw) raw_.resize(static_cast<size_t>(b.raw));
      Status st = format::Decode(codec, filter, io_.data(), stored, raw_.data(),
                                 static_cast<size_t>(b.raw), opt_.threads);
      if (!st.ok()) return Corrupt(bwhere + st.message());
      data = raw_.data();
    }
    for (uint32_t i = 0; i < b.runs; ++i) {
      const char* r = table.data() + kBatchHeaderSize + kRunSize * i;
      const uint64_t addr = LoadLE<uint64_t>(r);
      const uint64_t len = LoadLE<uint64_t>(r + 8);
      CAIRN_RETURN_IF_ERROR(fn(addr, data, len, file_at));
      data += len;
      if (file_at != kNotInFile) file_at += len;
    }
    at = data_at + stored + 8;
  }
  if (with_data && section.Digest() != s.hash) return Corrupt(where + "checksum mismatch");
  return Status::Ok();
}

}  // namespace cairn::transparent
