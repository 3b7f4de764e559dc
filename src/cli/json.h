// A tiny streaming JSON writer for the CLI's --json output.
//
//   JsonWriter w(std::cout);
//   w.BeginObject();
//   w.Field("name", "ckpt").Field("version", 3);
//   w.Key("ranks").BeginArray().Value(0).Value(1).EndArray();
//   w.EndObject();
//   w.Finish();  // final newline
//
// Output is pretty-printed with two-space indentation. Strings are escaped per RFC 8259;
// bytes that are not valid UTF-8 (file names can hold any byte) become U+FFFD, so the
// document is always valid UTF-8. Misuse (a value where a key is due, unbalanced
// End*) is a programming error, checked with assert().
#pragma once

#include <concepts>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::cli {

// `s` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view s);

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& os) : os_(os) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // The key of the next member (inside an object).
  JsonWriter& Key(std::string_view key);

  JsonWriter& Value(std::string_view s);
  JsonWriter& Value(const char* s);  // nullptr writes null
  JsonWriter& Value(const std::string& s) { return Value(std::string_view(s)); }
  JsonWriter& Value(bool b);
  template <std::integral T>
  requires(!std::same_as<T, bool>) JsonWriter& Value(T v) {
    if constexpr (std::signed_integral<T>) {
      return Signed(static_cast<long long>(v));
    } else {
      return Unsigned(static_cast<unsigned long long>(v));
    }
  }
  JsonWriter& Null();

  template <class T>
  JsonWriter& Field(std::string_view key, const T& v) {
    Key(key);
    return Value(v);
  }

  // Ends the document with a newline; every container must be closed.
  void Finish();

 private:
  JsonWriter& Signed(long long v);
  JsonWriter& Unsigned(unsigned long long v);
  void BeforeValue();
  void Newline();

  struct Frame {
    bool array = false;
    bool empty = true;
  };
  std::ostream& os_;
  std::vector<Frame> stack_;
  bool after_key_ = false;
  bool done_ = false;  // a complete top-level value was written
};

}  // namespace cairn::cli
