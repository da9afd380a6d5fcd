#pragma once
// A walk-through as JSON, every number of every stage, for worksheets (`attnscope walkthrough`).
#include "query_walkthrough.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attnscope {

// `key_labels`: one per key (the token's text for cross-attention, "x,y" for self-attention), or empty.
nlohmann::json walkthrough_json(const QueryWalkthrough& w, const std::vector<std::string>& key_labels);

// "x,y" of every key of a self-attention site, or the token texts padded with "<pad>" to the key count.
std::vector<std::string> key_labels(const AttentionSite& site, const std::vector<std::string>& token_texts);

} // namespace attnscope
