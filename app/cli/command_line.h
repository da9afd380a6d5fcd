#pragma once
// One subcommand's command line, parsed by CLI11 with our messages: `--help` and `-h` print the command's
// options with their defaults, and every mistake is a UsageError that names the option and what it wants.
#include "usage_error.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
class Option;
} // namespace CLI

namespace attnscope::cli {

class CommandLine {
  public:
    // `command` as the user types it ("generate", "inspect-int8"); `about` heads its --help.
    CommandLine(const std::string& command, const std::string& about);
    ~CommandLine();
    CommandLine(const CommandLine&) = delete;
    CommandLine& operator=(const CommandLine&) = delete;

    // "--name VALUE" (or "--name=VALUE"); given twice, the last one counts. `fallback` is its value when
    // it is not given, shown in --help as the default.
    void option(const std::string& name, const std::string& value_name, const std::string& help,
                std::optional<std::string> fallback = std::nullopt);
    // "--name VALUE" that may be given any number of times; get_all() has them in order.
    void repeatable(const std::string& name, const std::string& value_name, const std::string& help);
    void flag(const std::string& name, const std::string& help);
    void positional(const std::string& name, const std::string& help);

    // False when --help or -h asked for the usage, which is then printed on stdout: the command is done.
    // Throws UsageError for an unknown option (naming the nearest known one), a value option without its
    // value, and an argument that is no option.
    [[nodiscard]] bool parse(const std::vector<std::string>& argv);

    const std::string& command() const { return command_; }
    bool given(const std::string& name) const; // an option or flag on the command line
    // The value given, else the fallback; nullopt when neither.
    std::optional<std::string> get(const std::string& name) const;
    // get() of an option declared with a fallback.
    std::string value(const std::string& name) const;
    // value() as an integer; UsageError "option --steps expects an integer, got 'x'" when it is not one.
    int get_int(const std::string& name) const;
    // value() as a finite number; UsageError "option --strength expects a number, got 'x'" when it is not
    // one.
    double get_double(const std::string& name) const;
    std::vector<std::string> get_all(const std::string& name) const;

  private:
    struct Declared {
        CLI::Option* option;
        std::optional<std::string> fallback;
    };
    const Declared& declared(const std::string& name) const;
    [[noreturn]] void unknown_option(const std::string& argument) const;

    std::string command_;
    std::unique_ptr<CLI::App> app_;
    std::map<std::string, Declared> declared_;
};

} // namespace attnscope::cli
