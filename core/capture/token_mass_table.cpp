#include "token_mass_table.h"

#include <cstdio>
#include <stdexcept>

namespace attnscope {
namespace {

nlohmann::json shares_json(const TokenMass& m) {
    return {{"start", m.start}, {"prompt", m.prompt}, {"end", m.end}, {"padding", m.padding}};
}

std::string csv_line(const TokenMassRow& row, const char* half, const TokenMass& m) {
    char line[160];
    std::snprintf(line, sizeof line, "%d,%d,%s,%.9g,%.9g,%.9g,%.9g\n", row.step + 1, row.index, half, m.start,
                  m.prompt, m.end, m.padding);
    return line;
}

} // namespace

std::vector<TokenMassRow> token_mass_table(const CaptureStore& store, int prompt_length,
                                           int negative_length) {
    std::vector<TokenMassRow> rows;
    for (const auto& [key, c] : store.entries()) { // ordered by step, then index
        if (key.kind != AttentionKind::Cross) continue;
        const int batches = static_cast<int>(c.q.size(0) / c.site.heads);
        TokenMassRow row{key.step, key.index, token_mass(c, batches - 1, prompt_length), std::nullopt};
        if (batches > 1) row.uncond = token_mass(c, 0, negative_length);
        rows.push_back(row);
    }
    if (rows.empty())
        throw std::invalid_argument("token mass needs cross-attention, and the capture holds none");
    return rows;
}

nlohmann::json token_mass_json(const std::vector<TokenMassRow>& rows) {
    auto j = nlohmann::json::array();
    for (const auto& r : rows)
        j.push_back({{"step", r.step + 1},
                     {"index", r.index},
                     {"cond", shares_json(r.cond)},
                     {"uncond", r.uncond ? shares_json(*r.uncond) : nlohmann::json(nullptr)}});
    return {{"columns", {"start", "prompt", "end", "padding"}}, {"rows", j}};
}

std::string token_mass_csv(const std::vector<TokenMassRow>& rows) {
    std::string csv = "step,index,half,start,prompt,end,padding\n";
    for (const auto& r : rows) {
        csv += csv_line(r, "cond", r.cond);
        if (r.uncond) csv += csv_line(r, "uncond", *r.uncond);
    }
    return csv;
}

} // namespace attnscope
