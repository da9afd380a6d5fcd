#include "command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>
#include <stdexcept>

namespace attnscope::cli {
namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), 0);
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row.back();
}

} // namespace

CommandLine::CommandLine(const std::string& command, const std::string& about)
    : command_(command), app_(std::make_unique<CLI::App>(about, "attnscope " + command)) {
    app_->set_help_flag("-h,--help", "print this command's options and exit");
    // Extras are collected rather than thrown, so that an unknown option gets our message.
    app_->allow_extras();
    app_->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

CommandLine::~CommandLine() = default;

void CommandLine::option(const std::string& name, const std::string& value_name, const std::string& help,
                         std::optional<std::string> fallback) {
    auto* o = app_->add_option("--" + name)->description(help)->type_name(value_name);
    if (fallback) o->default_str(*fallback);
    declared_.emplace(name, Declared{o, std::move(fallback)});
}

void CommandLine::repeatable(const std::string& name, const std::string& value_name,
                             const std::string& help) {
    auto* o = app_->add_option("--" + name)
                  ->description(help + " (repeatable)")
                  ->type_name(value_name)
                  ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    declared_.emplace(name, Declared{o, std::nullopt});
}

void CommandLine::flag(const std::string& name, const std::string& help) {
    declared_.emplace(name, Declared{app_->add_flag("--" + name, help), std::nullopt});
}

void CommandLine::positional(const std::string& name, const std::string& help) {
    declared_.emplace(name, Declared{app_->add_option(name)->description(help)->type_name(""), std::nullopt});
}

bool CommandLine::parse(const std::vector<std::string>& argv) {
    std::vector<std::string> reversed(argv.rbegin(), argv.rend()); // CLI11 takes them from the back
    try {
        app_->parse(reversed);
    } catch (const CLI::CallForHelp&) {
        std::cout << app_->help();
        return false;
    } catch (const CLI::ArgumentMismatch& e) {
        // CLI11 takes whatever follows a value option as its value: only the last argument can lack one.
        if (!argv.empty() && argv.back().find('=') == std::string::npos)
            throw UsageError("option " + argv.back() + " needs a value");
        throw UsageError(e.what());
    } catch (const CLI::ParseError& e) {
        throw UsageError(e.what());
    }
    auto extra = app_->remaining();
    // "--" ends the options (what follows is positional); CLI11 hands it back as an extra.
    extra.erase(std::remove(extra.begin(), extra.end(), "--"), extra.end());
    if (extra.empty()) return true;
    const auto& first = extra.front();
    if (first[0] == '-' && first.find_first_not_of('-') != std::string::npos) unknown_option(first);
    throw UsageError("unexpected argument '" + first + "' (options start with --; see attnscope " + command_ +
                     " --help)");
}

void CommandLine::unknown_option(const std::string& argument) const {
    const auto name = argument.substr(0, argument.find('='));
    const auto bare = name.substr(name.find_first_not_of('-'));
    std::string nearest = "help";
    for (const auto& [known, d] : declared_)
        if (d.option->nonpositional() && edit_distance(bare, known) < edit_distance(bare, nearest))
            nearest = known;
    // A guess farther than a typo or two, or sharing nothing, is no help: point at the list instead.
    const auto distance = edit_distance(bare, nearest);
    if (distance <= std::max<std::size_t>(2, bare.size() / 3) && distance < bare.size())
        throw UsageError("unknown option " + name + " (did you mean --" + nearest + "?)");
    throw UsageError("unknown option " + name + " (attnscope " + command_ + " --help lists them)");
}

const CommandLine::Declared& CommandLine::declared(const std::string& name) const {
    const auto it = declared_.find(name);
    if (it == declared_.end()) throw std::logic_error("attnscope " + command_ + ": no option --" + name);
    return it->second;
}

bool CommandLine::given(const std::string& name) const {
    const auto* o = declared(name).option;
    if (o->count() == 0) return false;
    if (o->get_expected_max() > 0) return true;
    try {
        return o->as<bool>(); // a flag can be turned off again: --previews=false
    } catch (const CLI::ConversionError&) {
        throw UsageError("option --" + name + " is a flag: give it alone, or =true or =false");
    }
}

std::optional<std::string> CommandLine::get(const std::string& name) const {
    const auto& d = declared(name);
    if (d.option->count() > 0) return d.option->results().back();
    return d.fallback;
}

std::string CommandLine::value(const std::string& name) const {
    const auto v = get(name);
    if (!v) throw std::logic_error("attnscope " + command_ + ": --" + name + " has no fallback");
    return *v;
}

int CommandLine::get_int(const std::string& name) const {
    const auto v = value(name);
    try {
        std::size_t used = 0;
        const int n = std::stoi(v, &used);
        if (used == v.size()) return n;
    } catch (const std::exception&) {
    }
    throw UsageError("option --" + name + " expects an integer, got '" + v + "'");
}

double CommandLine::get_double(const std::string& name) const {
    const auto v = value(name);
    try {
        std::size_t used = 0;
        const double x = std::stod(v, &used);
        if (used == v.size() && std::isfinite(x)) return x;
    } catch (const std::exception&) {
    }
    throw UsageError("option --" + name + " expects a number, got '" + v + "'");
}

std::vector<std::string> CommandLine::get_all(const std::string& name) const {
    return declared(name).option->results();
}

} // namespace attnscope::cli
