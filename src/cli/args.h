// A small command-line option parser for cairn's subcommands.
//
// Accepted forms: "--name", "--name VALUE", "--name=VALUE", "--" (everything after it is
// positional), and "-h" / "--help" on every subcommand. Anything else starting with '-'
// (except "-" alone) is an unknown option: a usage error that names the option and
// suggests the closest known one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cairn::cli {

struct OptionSpec {
  const char* name;        // long name without "--", e.g. "json"
  const char* value_name;  // nullptr for a flag; else shown in help, e.g. "DIR"
  const char* help;        // one line
};

class Args {
 public:
  // True if the option was given (flag or valued option).
  bool Has(std::string_view name) const;
  // The value given last for an option, or nullopt.
  std::optional<std::string> Get(std::string_view name) const;
  // Every value given for an option, in order.
  std::vector<std::string> GetAll(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  bool help() const { return help_; }

 private:
  friend Result<Args> ParseArgs(const std::vector<OptionSpec>& specs,
                                const std::vector<std::string>& argv);
  std::vector<std::pair<std::string, std::string>> options_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

// Parses the arguments that follow the subcommand name. Errors are kInvalidArgument with
// a message meant for the user ("unknown option '--jsn' (did you mean '--json'?)").
Result<Args> ParseArgs(const std::vector<OptionSpec>& specs, const std::vector<std::string>& argv);

// A whole number in lo..hi written with decimal digits only (no sign, no blanks, at most 9
// digits), or nullopt. The one check of every numeric option.
std::optional<long> WholeNumber(std::string_view s, long lo = 0, long hi = 999999999);

// The "Options:" block of a subcommand's help text (one line per option, plus --help).
std::string OptionsHelp(const std::vector<OptionSpec>& specs);

}  // namespace cairn::cli
