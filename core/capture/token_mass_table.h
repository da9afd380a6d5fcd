#pragma once
// Where cross-attention goes, step by step and site by site: token_mass()'s shares of the start token, the
// prompt's tokens, the end token and the padding for every captured cross-attention site, in both guidance
// halves, as one table to export (end-of-text attention matters in SD v2, where much of it lands there).
#include "attention_maps.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

struct TokenMassRow {
    int step = 0; // as captured, from 0
    int index = 0;
    TokenMass cond;                  // the prompt's half (the last batch item)
    std::optional<TokenMass> uncond; // the negative prompt's (the first), under classifier-free guidance
};

// Every captured cross-attention (step, site), by step then index. The lengths count the start and end
// tokens (ClipEncoding::length) of the prompt and of the negative prompt, which drove the unconditional half
// (0 when the capture has none). Throws std::invalid_argument when no cross-attention is captured or a
// length does not fit.
std::vector<TokenMassRow> token_mass_table(const CaptureStore& store, int prompt_length, int negative_length);

// {"columns": [...], "rows": [{"step", "index", "cond": {"start", "prompt", "end", "padding"}, "uncond": the
// same or null}]}, steps counted from 1 as the command line shows them.
nlohmann::json token_mass_json(const std::vector<TokenMassRow>& rows);

// A header, then a line "step,index,half,start,prompt,end,padding" per (step, site, half), steps from 1.
std::string token_mass_csv(const std::vector<TokenMassRow>& rows);

} // namespace attnscope
