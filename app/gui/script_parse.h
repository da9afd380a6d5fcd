#pragma once
// The script's text made into checked lines, with no GL, ImGui or model in sight: every argument's syntax
// and range is checked when the script is read, so a malformed line fails before the window opens and never
// half-applies (app/gui/script.cpp then applies lines whose arguments are known to be good). Fuzzed by
// tests/fuzz/fuzz_script.cpp.
#include <cstdint>
#include <istream>
#include <string>
#include <utility>
#include <vector>

namespace attnscope::gui {

struct ScriptLine {
    int number = 0;
    std::vector<std::string> words; // the command and its arguments, quotes removed
};

// Throws std::runtime_error "<name>:<line>: ..." naming a malformed line, an unknown command or a bad
// argument.
std::vector<ScriptLine> parse_script(std::istream& in, const std::string& name);
std::vector<ScriptLine> read_script(const std::string& path);

// The arguments of a line parse_script accepted, by position (1 = the first after the command). Each throws
// std::invalid_argument for an argument that is missing or not of its kind, so a line that bypassed
// parse_script still cannot apply a bad value.
const std::string& word_arg(const ScriptLine& line, size_t i);
int int_arg(const ScriptLine& line, size_t i);
std::uint64_t seed_arg(const ScriptLine& line, size_t i);
float float_arg(const ScriptLine& line, size_t i);
std::pair<int, int> size_arg(const ScriptLine& line, size_t i); // WxH, multiples of 8 in 8..8192
bool has_arg(const ScriptLine& line, size_t i);

} // namespace attnscope::gui
