#include "vocab.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace attnscope::tiny {
namespace {

// GPT-2's bytes_to_unicode, which CLIP uses: printable Latin-1 bytes stand for themselves, the others
// are moved to U+0100 upwards. Returned in CLIP's vocabulary order (printable ones first).
std::vector<std::pair<int, std::string>> byte_symbols() {
    const auto utf8 = [](unsigned cp) {
        std::string s;
        if (cp < 0x80) {
            s += static_cast<char>(cp);
        } else {
            s += static_cast<char>(0xC0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        }
        return s;
    };
    std::vector<std::pair<int, std::string>> printable, moved;
    unsigned next = 0x100;
    for (int b = 0; b < 256; ++b) {
        const bool p = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        (p ? printable : moved).emplace_back(b, utf8(p ? static_cast<unsigned>(b) : next++));
    }
    printable.insert(printable.end(), moved.begin(), moved.end());
    return printable;
}

// CLIP's BPE on one word: the adjacent pair of lowest rank is merged everywhere until none applies.
std::vector<std::string> bpe(const std::string& word,
                             const std::map<std::pair<std::string, std::string>, int>& rank) {
    std::vector<std::string> s;
    for (std::size_t i = 0; i < word.size(); ++i)
        s.push_back(std::string(1, word[i]) + (i + 1 == word.size() ? "</w>" : ""));
    for (;;) {
        int best = -1;
        std::size_t at = 0;
        for (std::size_t i = 0; i + 1 < s.size(); ++i) {
            const auto it = rank.find({s[i], s[i + 1]});
            if (it != rank.end() && (best < 0 || it->second < best)) best = it->second, at = i;
        }
        if (best < 0) return s;
        const std::pair<std::string, std::string> pair{s[at], s[at + 1]};
        std::vector<std::string> merged;
        for (std::size_t i = 0; i < s.size();) {
            if (i + 1 < s.size() && s[i] == pair.first && s[i + 1] == pair.second) {
                merged.push_back(pair.first + pair.second);
                i += 2;
            } else {
                merged.push_back(s[i++]);
            }
        }
        s.swap(merged);
    }
}

} // namespace

BpeVocabulary build_vocabulary(const std::vector<std::string>& words) {
    BpeVocabulary v;
    const auto bytes = byte_symbols();
    for (const auto& [b, sym] : bytes) v.tokens.push_back(sym);
    for (const auto& [b, sym] : bytes) v.tokens.push_back(sym + "</w>");

    std::map<std::pair<std::string, std::string>, int> rank;
    for (const auto& w : words) {
        if (w.empty() || std::any_of(w.begin(), w.end(), [](char c) {
                return static_cast<unsigned char>(c) < '!' || static_cast<unsigned char>(c) > '~';
            }))
            throw std::invalid_argument("vocabulary word '" + w + "' must be printable ASCII without spaces");
        // A new merge has the highest rank so far, so it never changes how earlier words were built:
        // their BPE ended with a single symbol, with no pair left for it to apply to.
        for (auto s = bpe(w, rank); s.size() > 1; s = bpe(w, rank)) {
            rank.emplace(std::make_pair(s[0], s[1]), static_cast<int>(v.merges.size()));
            v.merges.emplace_back(s[0], s[1]);
            // Two merge paths may spell the same symbol; it is one token, as in CLIP's vocabulary.
            if (std::find(v.tokens.begin(), v.tokens.end(), s[0] + s[1]) == v.tokens.end())
                v.tokens.push_back(s[0] + s[1]);
        }
    }
    v.tokens.push_back("<|startoftext|>");
    v.tokens.push_back("<|endoftext|>");
    return v;
}

std::string BpeVocabulary::vocab_json() const {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < tokens.size(); ++i) j[tokens[i]] = i;
    return j.dump();
}

std::string BpeVocabulary::merges_txt() const {
    std::string s = "#version: 0.2\n";
    for (const auto& [a, b] : merges) s += a + " " + b + "\n";
    return s;
}

} // namespace attnscope::tiny
