#include "number_lists.h"

namespace attnscope::cli {

std::vector<std::string> split(const std::string& s, const std::string& separators) {
    std::vector<std::string> parts;
    std::size_t from = 0;
    for (std::size_t at; (at = s.find_first_of(separators, from)) != std::string::npos; from = at + 1)
        parts.push_back(s.substr(from, at - from));
    parts.push_back(s.substr(from));
    return parts;
}

std::optional<long long> whole_number(const std::string& s) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return std::stoll(s);
}

std::vector<long long> numbers(const std::string& s, const std::string& separator) {
    std::vector<long long> out;
    for (const auto& part : split(s, separator)) {
        const auto n = whole_number(part);
        if (!n) return {};
        out.push_back(*n);
    }
    return out;
}

std::pair<int, int> two_numbers(const std::string& option, const std::string& text,
                                const std::string& separator, const std::string& expected) {
    const auto n = numbers(text, separator);
    if (n.size() != 2) throw UsageError("bad --" + option + " '" + text + "': expected " + expected);
    return {static_cast<int>(n[0]), static_cast<int>(n[1])};
}

} // namespace attnscope::cli
