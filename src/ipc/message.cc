#include "ipc/message.h"

#include <charconv>

namespace cairn::ipc {
namespace {

std::string Escape(const std::string& v) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(v.size());
  for (unsigned char c : v) {
    if (c == '%' || c == '\n' || c == '\r' || c == 0) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool Unescape(const std::string& v, std::string* out) {
  out->clear();
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      *out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return false;
    int hi = HexVal(v[i + 1]), lo = HexVal(v[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace

Message& Message::Add(const std::string& key, const std::string& value) {
  fields_.emplace_back(key, value);
  return *this;
}

Message& Message::Add(const std::string& key, long long value) {
  return Add(key, std::to_string(value));
}

std::optional<std::string> Message::Get(const std::string& key) const {
  for (const auto& [k, v] : fields_) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::string Message::GetOr(const std::string& key, const std::string& def) const {
  auto v = Get(key);
  return v ? *v : def;
}

long long Message::GetInt(const std::string& key, long long def) const {
  auto v = Get(key);
  if (!v) return def;
  long long out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) return def;
  return out;
}

std::vector<std::string> Message::GetAll(const std::string& key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields_) {
    if (k == key) out.push_back(v);
  }
  return out;
}

std::string Message::Encode() const {
  std::string out = type_ + "\n";
  for (const auto& [k, v] : fields_) out += k + "=" + Escape(v) + "\n";
  return out;
}

Result<Message> Message::Decode(const std::string& bytes) {
  size_t nl = bytes.find('\n');
  if (nl == std::string::npos || nl == 0) return Status::Corruption("message without a type");
  Message m(bytes.substr(0, nl));
  size_t pos = nl + 1;
  while (pos < bytes.size()) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string::npos) return Status::Corruption("message line without newline");
    std::string line = bytes.substr(pos, end - pos);
    pos = end + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) return Status::Corruption("bad message field");
    std::string value;
    if (!Unescape(line.substr(eq + 1), &value)) return Status::Corruption("bad escape in message");
    m.fields_.emplace_back(line.substr(0, eq), std::move(value));
  }
  return m;
}

std::vector<std::string> SplitFields(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

}  // namespace cairn::ipc
