#include "cli/args.h"

#include <algorithm>

namespace cairn::cli {
namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Suggestion(const std::vector<OptionSpec>& specs, std::string_view name) {
  const OptionSpec* best = nullptr;
  size_t best_d = 3;  // only suggest close matches
  for (const auto& s : specs) {
    size_t d = EditDistance(name, s.name);
    if (d < best_d) {
      best = &s;
      best_d = d;
    }
  }
  if (best == nullptr) return "";
  return std::string(" (did you mean '--") + best->name + "'?)";
}

const OptionSpec* Find(const std::vector<OptionSpec>& specs, std::string_view name) {
  for (const auto& s : specs) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

}  // namespace

bool Args::Has(std::string_view name) const {
  return std::any_of(options_.begin(), options_.end(),
                     [&](const auto& o) { return o.first == name; });
}

std::optional<std::string> Args::Get(std::string_view name) const {
  std::optional<std::string> v;
  for (const auto& o : options_) {
    if (o.first == name) v = o.second;
  }
  return v;
}

std::vector<std::string> Args::GetAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& o : options_) {
    if (o.first == name) out.push_back(o.second);
  }
  return out;
}

Result<Args> ParseArgs(const std::vector<OptionSpec>& specs, const std::vector<std::string>& argv) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      args.positional_.insert(args.positional_.end(), argv.begin() + static_cast<long>(i) + 1,
                              argv.end());
      break;
    }
    if (a == "-h" || a == "--help") {
      args.help_ = true;
      continue;
    }
    if (a.size() < 2 || a[0] != '-') {
      args.positional_.push_back(a);
      continue;
    }
    if (a[1] != '-') {
      return Status::InvalidArgument("unknown option '" + a + "'" +
                                     Suggestion(specs, std::string_view(a).substr(1)));
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const OptionSpec* spec = Find(specs, name);
    if (spec == nullptr) {
      return Status::InvalidArgument("unknown option '--" + name + "'" + Suggestion(specs, name));
    }
    if (spec->value_name == nullptr) {
      if (value) return Status::InvalidArgument("option '--" + name + "' takes no value");
      args.options_.emplace_back(name, "");
      continue;
    }
    if (!value) {
      if (i + 1 >= argv.size()) {
        return Status::InvalidArgument("option '--" + name + "' needs a value (" +
                                       spec->value_name + ")");
      }
      value = argv[++i];
    }
    args.options_.emplace_back(name, *value);
  }
  return args;
}

std::string OptionsHelp(const std::vector<OptionSpec>& specs) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& s : specs) {
    std::string left = std::string("--") + s.name;
    if (s.value_name != nullptr) left += std::string(" ") + s.value_name;
    rows.emplace_back(left, s.help);
  }
  rows.emplace_back("-h, --help", "show this help and exit");
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  std::string out = "Options:\n";
  for (const auto& r : rows) {
    out += "  " + r.first + std::string(width - r.first.size() + 2, ' ') + r.second + "\n";
  }
  return out;
}

std::optional<long> WholeNumber(std::string_view s, long lo, long hi) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const long v = std::stol(std::string(s));
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

}  // namespace cairn::cli
