#include "cli/json.h"

#include <cassert>
#include <cstdio>

namespace cairn::cli {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
  }
  if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
  if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
  if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
  if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
  return n;
}

}  // namespace

std::string JsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\\ufffd";  // not UTF-8: replacement character
      ++i;
      continue;
    }
    std::string_view seq = s.substr(i, n);
    if (seq == "\xE2\x80\xA8") {
      out += "\\u2028";  // valid JSON as is, but not valid JavaScript
    } else if (seq == "\xE2\x80\xA9") {
      out += "\\u2029";
    } else {
      out += seq;
    }
    i += n;
  }
  out += '"';
  return out;
}

void JsonWriter::Newline() {
  os_ << '\n';
  for (size_t i = 0; i < stack_.size(); ++i) os_ << "  ";
}

void JsonWriter::BeforeValue() {
  assert(!done_ && "JSON document already complete");
  if (stack_.empty()) return;
  if (stack_.back().array) {
    if (!stack_.back().empty) os_ << ',';
    stack_.back().empty = false;
    Newline();
  } else {
    assert(after_key_ && "JSON object member without a key");
    after_key_ = false;
  }
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  assert(!stack_.empty() && !stack_.back().array && !after_key_);
  if (!stack_.back().empty) os_ << ',';
  stack_.back().empty = false;
  Newline();
  os_ << JsonQuote(key) << ": ";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::BeginObject() {
  BeforeValue();
  os_ << '{';
  stack_.push_back({false, true});
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  BeforeValue();
  os_ << '[';
  stack_.push_back({true, true});
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  assert(!stack_.empty() && !stack_.back().array && !after_key_);
  bool empty = stack_.back().empty;
  stack_.pop_back();
  if (!empty) Newline();
  os_ << '}';
  if (stack_.empty()) done_ = true;
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  assert(!stack_.empty() && stack_.back().array);
  bool empty = stack_.back().empty;
  stack_.pop_back();
  if (!empty) Newline();
  os_ << ']';
  if (stack_.empty()) done_ = true;
  return *this;
}

JsonWriter& JsonWriter::Value(std::string_view s) {
  BeforeValue();
  os_ << JsonQuote(s);
  if (stack_.empty()) done_ = true;
  return *this;
}

JsonWriter& JsonWriter::Value(const char* s) {
  if (s == nullptr) return Null();
  return Value(std::string_view(s));
}

JsonWriter& JsonWriter::Value(bool b) {
  BeforeValue();
  os_ << (b ? "true" : "false");
  if (stack_.empty()) done_ = true;
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  os_ << "null";
  if (stack_.empty()) done_ = true;
  return *this;
}

JsonWriter& JsonWriter::Signed(long long v) {
  BeforeValue();
  os_ << v;
  if (stack_.empty()) done_ = true;
  return *this;
}

JsonWriter& JsonWriter::Unsigned(unsigned long long v) {
  BeforeValue();
  os_ << v;
  if (stack_.empty()) done_ = true;
  return *this;
}

void JsonWriter::Finish() {
  assert(stack_.empty() && done_ && "unfinished JSON document");
  os_ << '\n';
  os_.flush();
}

}  // namespace cairn::cli
