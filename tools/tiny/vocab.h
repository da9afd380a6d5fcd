#pragma once
// A CLIP-format BPE vocabulary just large enough for the scene grammar: the 512 byte-level base symbols
// (each byte alone and as a word end), merges that build every grammar word into one token, and the
// start/end tokens. ClipTokenizer reads it like CLIP's own files, so the tiny model's text side runs
// through exactly the code SD's does.
#include <string>
#include <vector>

namespace attnscope::tiny {

struct BpeVocabulary {
    std::vector<std::string> tokens; // by id: bytes, bytes + "</w>", merge results, specials
    std::vector<std::pair<std::string, std::string>> merges; // by rank
    std::string vocab_json() const;                          // {"token": id, ...} in id order
    std::string merges_txt() const;                          // "#version: 0.2" then one merge a line
};

// Merges are added so that BPE, applying the lowest rank first as CLIP does, ends each of `words` as a
// single symbol. Words must be non-empty ASCII without spaces.
BpeVocabulary build_vocabulary(const std::vector<std::string>& words);

} // namespace attnscope::tiny
