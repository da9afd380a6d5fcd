#pragma once
// The lists of whole numbers options take ("32,20", "256x256", "1:20", "3,7,12"), with errors that name the
// option and what it wants.
#include "usage_error.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attnscope::cli {

// The parts of `s` between any of `separators`, empty parts included.
std::vector<std::string> split(const std::string& s, const std::string& separators);
// A whole number from 0 of at most 9 digits; nullopt for anything else.
std::optional<long long> whole_number(const std::string& s);
// Whole numbers from 0, separated by `separator`; empty when the text is anything else.
std::vector<long long> numbers(const std::string& s, const std::string& separator);
// Exactly two of them; UsageError "bad --OPTION 'TEXT': expected EXPECTED" otherwise.
std::pair<int, int> two_numbers(const std::string& option, const std::string& text,
                                const std::string& separator, const std::string& expected);

} // namespace attnscope::cli
