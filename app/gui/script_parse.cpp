#include "script_parse.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <stdexcept>

namespace attnscope::gui {

namespace {

// What an argument may be. Ranges bound what reaches the worker: a step count of 0 or a rewind to step
// -2147483647 is a mistake in the script, not a request.
enum class Arg {
    Text,         // any word
    Seed,         // 0 .. 2^64-1
    Count,        // 1 .. 10000 (steps, step N)
    Step,         // 1 .. 10000, a 1-based step number
    StepOrLatest, // a Step or "latest"
    Frames,       // 0 .. 100000
    Id,           // 0 .. 2^31-1 (branches)
    IdOrLatest,   // an Id or "latest"
    Position,     // 0 .. 76, a token position
    Index,        // 1 .. 2^31-1, an attention site (checked against the model's sites when applied)
    Head,         // 0 .. 2^31-1 (checked against the site's heads when applied), "mean" or "max"
    Number,       // a finite float
    Size,         // WxH
};

struct Syntax {
    std::vector<Arg> required;
    std::vector<Arg> optional;
    bool repeat_last = false; // the last required argument may repeat (select-token)
};

const std::map<std::string, Syntax>& commands() {
    static const std::map<std::string, Syntax> table = {
        {"load", {{Arg::Text}, {}}},
        {"lora", {{Arg::Text}, {Arg::Number}}},
        {"lora-scale", {{Arg::Count, Arg::Number}, {}}},
        {"lora-clear", {{}, {}}},
        {"compare-lora", {{Arg::Text}, {Arg::Number}}},
        {"compare-model", {{Arg::Text}, {}}},
        {"lora-sweep", {{Arg::Count}, {Arg::Count, Arg::Number}}},
        {"export-sweep", {{Arg::Text}, {}}},
        {"prompt", {{Arg::Text}, {}}},
        {"random-caption", {{}, {}}},
        {"example", {{Arg::Count}, {}}},
        {"negative", {{Arg::Text}, {}}},
        {"seed", {{Arg::Seed}, {}}},
        {"steps", {{Arg::Count}, {}}},
        {"cfg", {{Arg::Number}, {}}},
        {"scheduler", {{Arg::Text}, {}}},
        {"size", {{Arg::Size}, {}}},
        {"start-image", {{Arg::Text}, {Arg::Number}}},
        {"read-image", {{Arg::Text}, {Arg::Text}}},
        {"backend", {{Arg::Text}, {}}},
        {"tf32", {{Arg::Text}, {}}},
        {"session", {{}, {}}},
        {"step", {{}, {Arg::Count}}},
        {"play", {{}, {}}},
        {"run", {{}, {}}},
        {"rewind", {{Arg::Step}, {}}},
        {"decode-full", {{}, {}}},
        {"select-step", {{Arg::StepOrLatest}, {}}},
        {"select-steps", {{Arg::Step, Arg::StepOrLatest}, {}}},
        {"select-token", {{Arg::Position}, {}, true}},
        {"select-index", {{Arg::Index}, {}}},
        {"select-head", {{Arg::Head}, {}}},
        {"mode", {{Arg::Text}, {}}},
        {"aggregate", {{Arg::Text}, {}}},
        {"blocks", {{Arg::Text}, {}}},
        {"click", {{Arg::Number, Arg::Number}, {}}},
        {"quantity", {{Arg::Text}, {}}},
        {"batch", {{Arg::Text}, {}}},
        {"colormap", {{Arg::Text}, {}}},
        {"opacity", {{Arg::Number}, {}}},
        {"normalize", {{Arg::Text}, {Arg::Number, Arg::Number}}},
        {"compare", {{Arg::Text}, {Arg::Text, Arg::Text, Arg::Step}}},
        {"edit", {{Arg::Text}, {}}},
        {"branch", {{Arg::Step}, {}}},
        {"select-branch", {{Arg::IdOrLatest}, {}}},
        {"drop-branch", {{Arg::Id}, {}}},
        {"tab", {{Arg::Text}, {}}},
        {"walk-stage", {{Arg::Text}, {}}},
        {"tour", {{Arg::Text}, {}}},
        {"screenshot", {{Arg::Text}, {}}},
        {"export-map", {{Arg::Text}, {}}},
        {"expect-error", {{Arg::Text}, {}}},
        {"wait-frames", {{Arg::Frames}, {}}},
        {"frame-rate", {{Arg::Number}, {}}},
        {"frame-stats", {{Arg::Text}, {}}},
        {"quit", {{}, {}}},
    };
    return table;
}

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < text.size()) {
        if (std::isspace(static_cast<unsigned char>(text[i]))) {
            ++i;
        } else if (text[i] == '#') {
            break;
        } else if (text[i] == '"') {
            const auto end = text.find('"', i + 1);
            if (end == std::string::npos) throw std::invalid_argument("unterminated quote");
            words.push_back(text.substr(i + 1, end - i - 1));
            i = end + 1;
        } else {
            size_t end = i;
            while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
            words.push_back(text.substr(i, end - i));
            i = end;
        }
    }
    return words;
}

std::string nth(size_t i) {
    return "argument " + std::to_string(i);
}

// The whole word as a decimal integer in [lo, hi]; strtoll alone accepts "12abc" and saturates on overflow.
long long integer(const std::string& word, long long lo, long long hi, const std::string& what) {
    const auto bad = [&] {
        return std::invalid_argument(what + ": expected a whole number from " + std::to_string(lo) + " to " +
                                     std::to_string(hi) + ", got '" + word + "'");
    };
    if (word.empty() || !(std::isdigit(static_cast<unsigned char>(word[0])) || word[0] == '-')) throw bad();
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(word.c_str(), &end, 10);
    if (errno == ERANGE || end != word.c_str() + word.size() || v < lo || v > hi) throw bad();
    return v;
}

void check(Arg kind, const ScriptLine& line, size_t i) {
    const auto& w = word_arg(line, i);
    const auto what = nth(i);
    constexpr long long kMaxInt = std::numeric_limits<int>::max();
    switch (kind) {
    case Arg::Text:
        return;
    case Arg::Seed:
        seed_arg(line, i);
        return;
    case Arg::Count:
    case Arg::Step:
        integer(w, 1, 10000, what);
        return;
    case Arg::StepOrLatest:
        if (w != "latest") integer(w, 1, 10000, what);
        return;
    case Arg::Frames:
        integer(w, 0, 100000, what);
        return;
    case Arg::Id:
        integer(w, 0, kMaxInt, what);
        return;
    case Arg::IdOrLatest:
        if (w != "latest") integer(w, 0, kMaxInt, what);
        return;
    case Arg::Position:
        integer(w, 0, 76, what);
        return;
    case Arg::Index:
        integer(w, 1, kMaxInt, what);
        return;
    case Arg::Head:
        if (w != "mean" && w != "max") integer(w, 0, kMaxInt, what + " (a head number, mean or max)");
        return;
    case Arg::Number:
        float_arg(line, i);
        return;
    case Arg::Size:
        size_arg(line, i);
        return;
    }
}

void check_line(const ScriptLine& line) {
    const auto& command = line.words.at(0);
    const auto it = commands().find(command);
    if (it == commands().end()) throw std::runtime_error("unknown command '" + command + "'");
    const auto& syntax = it->second;
    const size_t given = line.words.size() - 1, required = syntax.required.size();
    const size_t most =
        syntax.repeat_last ? std::numeric_limits<size_t>::max() : required + syntax.optional.size();
    if (given < required || given > most) {
        const std::string expected = syntax.repeat_last ? std::to_string(required) + " or more"
                                     : syntax.optional.empty()
                                         ? std::to_string(required)
                                         : std::to_string(required) + " to " + std::to_string(most);
        throw std::invalid_argument("expected " + expected + " argument(s), got " + std::to_string(given));
    }
    for (size_t i = 1; i <= given; ++i) {
        const Arg kind = i <= required                            ? syntax.required[i - 1]
                         : i - required <= syntax.optional.size() ? syntax.optional[i - required - 1]
                                                                  : syntax.required.back();
        check(kind, line, i);
    }
}

} // namespace

std::vector<ScriptLine> parse_script(std::istream& in, const std::string& name) {
    std::vector<ScriptLine> lines;
    std::string text;
    for (int number = 1; std::getline(in, text); ++number) {
        const std::string where = name + ":" + std::to_string(number);
        ScriptLine line{number, {}};
        try {
            line.words = split(text);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(where + ": " + e.what());
        }
        if (line.words.empty()) continue;
        try {
            check_line(line);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(where + " (" + line.words[0] + "): " + e.what());
        } catch (const std::runtime_error& e) {
            throw std::runtime_error(where + ": " + e.what());
        }
        lines.push_back(std::move(line));
    }
    return lines;
}

std::vector<ScriptLine> read_script(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot read the script");
    return parse_script(in, path);
}

bool has_arg(const ScriptLine& line, size_t i) {
    return i < line.words.size();
}

const std::string& word_arg(const ScriptLine& line, size_t i) {
    if (!has_arg(line, i)) throw std::invalid_argument("missing " + nth(i));
    return line.words[i];
}

int int_arg(const ScriptLine& line, size_t i) {
    return static_cast<int>(
        integer(word_arg(line, i), std::numeric_limits<int>::min(), std::numeric_limits<int>::max(), nth(i)));
}

std::uint64_t seed_arg(const ScriptLine& line, size_t i) {
    const auto& w = word_arg(line, i);
    const auto bad = [&] {
        return std::invalid_argument(nth(i) + ": expected a seed from 0 to 18446744073709551615, got '" + w +
                                     "'");
    };
    // strtoull reads "-1" as 2^64-1: digits only.
    if (w.empty()) throw bad();
    for (const char ch : w)
        if (!std::isdigit(static_cast<unsigned char>(ch))) throw bad();
    errno = 0;
    const unsigned long long v = std::strtoull(w.c_str(), nullptr, 10);
    if (errno == ERANGE) throw bad();
    return v;
}

float float_arg(const ScriptLine& line, size_t i) {
    const auto& w = word_arg(line, i);
    char* end = nullptr;
    const float v =
        w.empty() || std::isspace(static_cast<unsigned char>(w[0])) ? NAN : std::strtof(w.c_str(), &end);
    if (end != w.c_str() + w.size() || !std::isfinite(v))
        throw std::invalid_argument(nth(i) + ": expected a finite number, got '" + w + "'");
    return v;
}

std::pair<int, int> size_arg(const ScriptLine& line, size_t i) {
    const auto& w = word_arg(line, i);
    const auto x = w.find('x');
    try {
        if (x != std::string::npos) {
            const auto width = integer(w.substr(0, x), 8, 8192, ""),
                       height = integer(w.substr(x + 1), 8, 8192, "");
            if (width % 8 == 0 && height % 8 == 0) return {static_cast<int>(width), static_cast<int>(height)};
        }
    } catch (const std::invalid_argument&) {
    }
    throw std::invalid_argument(nth(i) + ": expected WxH in pixels, multiples of 8 from 8 to 8192, got '" +
                                w + "'");
}

} // namespace attnscope::gui
