#pragma once
// The walk-through of one query as worksheet figures (`attnscope walkthrough`): one PNG a stage, labelled, so
// a teacher can put them on slides; the numbers themselves are in the JSON beside them.
#include "teach/query_walkthrough.h"

#include <string>
#include <vector>

namespace attnscope::cli {

// `title` heads every figure (site, head, query, step). Writes into `dir` and returns the files' names.
std::vector<std::string> write_walkthrough_figures(const std::string& dir, const QueryWalkthrough& w,
                                                   const std::vector<std::string>& key_labels,
                                                   const std::string& title);

} // namespace attnscope::cli
