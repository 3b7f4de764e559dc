// Message: the unit of the backend protocol (client <-> `cairn backend`, and the
// `cairn status` query). A type plus ordered key/value fields; a key may repeat
// (e.g. one "region" field per region). Encoded as text lines, values
// percent-escaped, so messages are easy to log and to extend: unknown keys are
// ignored by readers. See docs/ARCHITECTURE.md "Async mode" for the message types.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cairn::ipc {

class Message {
 public:
  explicit Message(std::string type = "") : type_(std::move(type)) {}
  const std::string& type() const { return type_; }

  Message& Add(const std::string& key, const std::string& value);
  Message& Add(const std::string& key, long long value);
  std::optional<std::string> Get(const std::string& key) const;  // first occurrence
  std::string GetOr(const std::string& key, const std::string& def) const;
  long long GetInt(const std::string& key, long long def) const;
  std::vector<std::string> GetAll(const std::string& key) const;

  std::string Encode() const;
  static Result<Message> Decode(const std::string& bytes);

 private:
  std::string type_;
  std::vector<std::pair<std::string, std::string>> fields_;
};

// Splits "a:b:c" on ':' (used for compact repeated fields such as regions).
std::vector<std::string> SplitFields(const std::string& s, char sep);

}  // namespace cairn::ipc
