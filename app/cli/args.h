#pragma once
// Command-line options of one subcommand: "--name value", "--flag" and positionals.
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace attnscope::cli {

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Args {
  public:
    // Throws UsageError for an option not in either set or a value option without its value.
    Args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
         const std::set<std::string>& flag_options);

    std::optional<std::string> get(const std::string& name) const;
    std::string get(const std::string& name, const std::string& fallback) const;
    std::vector<std::string> get_all(const std::string& name) const; // a repeatable option, in order
    int get_int(const std::string& name, int fallback) const;
    bool flag(const std::string& name) const { return flags_.count(name) != 0; }
    const std::vector<std::string>& positional() const { return positional_; }

  private:
    std::vector<std::pair<std::string, std::string>> values_;
    std::set<std::string> flags_;
    std::vector<std::string> positional_;
};

} // namespace attnscope::cli
