#include "edit_spec.h"

#include "usage_error.h"

#include <climits>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <tuple>

namespace attnscope::cli {
namespace {

std::vector<std::string> split(const std::string& s, char separator) {
    std::vector<std::string> parts;
    std::size_t from = 0;
    for (std::size_t at; (at = s.find(separator, from)) != std::string::npos; from = at + 1)
        parts.push_back(s.substr(from, at - from));
    parts.push_back(s.substr(from));
    return parts;
}

std::optional<int> whole_number(const std::string& s) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return std::stoi(s);
}

double number(const std::string& s, const std::string& what) {
    try {
        std::size_t used = 0;
        const double v = std::stod(s, &used);
        if (used == s.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    throw UsageError("bad " + what + " '" + s + "': expected a number");
}

// "1-4,7" -> {1, 2, 3, 4, 7}, every value within lo..hi (INT_MAX: no upper bound).
std::set<int> number_list(const std::string& text, const std::string& what, int lo, int hi) {
    std::set<int> values;
    for (const auto& item : split(text, ',')) {
        const auto dash = item.find('-');
        const auto first = whole_number(item.substr(0, dash));
        const auto last = dash == std::string::npos ? first : whole_number(item.substr(dash + 1));
        if (!first || !last || *first > *last || *first < lo || *last > hi)
            throw UsageError("bad " + what + " '" + text + "': expected numbers " +
                             (hi == INT_MAX ? "from " + std::to_string(lo)
                                            : std::to_string(lo) + ".." + std::to_string(hi)) +
                             " and ranges such as 1-4,7");
        for (int v = *first; v <= *last; ++v) values.insert(v);
    }
    return values;
}

// "CHANGE@key=value@key=value" -> CHANGE and the keys, each one of `keys` and given once.
std::pair<std::string, std::map<std::string, std::string>>
split_scope(const std::string& text, const std::set<std::string>& keys, const std::string& option) {
    const auto parts = split(text, '@');
    std::map<std::string, std::string> scope;
    for (std::size_t i = 1; i < parts.size(); ++i) {
        const auto eq = parts[i].find('=');
        const auto key = parts[i].substr(0, eq);
        if (eq == std::string::npos || !keys.count(key) || scope.count(key)) {
            std::string known;
            for (const auto& k : keys) known += " @" + k + "=";
            throw UsageError("bad " + option + " '" + text + "': '@" + parts[i] + "' is not one of" + known +
                             " (each at most once)");
        }
        scope[key] = parts[i].substr(eq + 1);
    }
    return {parts[0], scope};
}

// "cat,3" -> positions {3} and words {"cat"}.
std::pair<std::vector<int64_t>, std::vector<std::string>>
tokens_of(const std::string& list, const std::string& option, const std::string& text) {
    std::vector<int64_t> positions;
    std::vector<std::string> words;
    for (const auto& item : split(list, ',')) {
        if (item.empty()) throw UsageError("bad " + option + " '" + text + "': a token is empty");
        if (const auto n = whole_number(item))
            positions.push_back(*n);
        else
            words.push_back(item);
    }
    return {positions, words};
}

std::set<int> steps_of(const std::map<std::string, std::string>& scope, int steps) {
    const auto it = scope.find("steps");
    return it == scope.end() ? std::set<int>{} : number_list(it->second, "@steps", 0, steps - 1);
}

// Any site from 1 here: which exist is the model's to say (fit_to_model).
std::set<int> sites_of(const std::map<std::string, std::string>& scope) {
    const auto it = scope.find("sites");
    return it == scope.end() ? std::set<int>{} : number_list(it->second, "@sites", 1, INT_MAX);
}

std::vector<int64_t> with_word_positions(std::vector<int64_t> positions,
                                         const std::vector<std::string>& words, const Session& session) {
    for (const auto& w : words)
        for (const auto p : word_positions(session.prompt_tokens(), session.pipeline().tokenizer, w))
            positions.push_back(p);
    return positions;
}

void check_sites(const std::set<int>& sites, const std::string& text, const Session& session) {
    const int count = session.pipeline().unet.site_count();
    if (!sites.empty() && *sites.rbegin() > count)
        throw UsageError("bad '" + text + "': @sites names site " + std::to_string(*sites.rbegin()) +
                         ", but the model's numbering has sites 1.." + std::to_string(count));
}

} // namespace

EditText parse_edit(const std::string& text, int steps) {
    const auto [change, scope] = split_scope(text, {"sites", "steps", "attn"}, "--edit");
    EditText e{text, {}, {}};
    e.edit.scope.sites = sites_of(scope);
    e.edit.scope.steps = steps_of(scope, steps);
    if (const auto it = scope.find("attn"); it != scope.end()) {
        if (it->second != "self" && it->second != "cross")
            throw UsageError("bad @attn '" + it->second + "' (use self or cross)");
        e.edit.scope.kind = it->second == "self" ? AttentionKind::Self : AttentionKind::Cross;
    }
    const auto parts = split(change, ':');
    const auto eq = parts[0].find('=');
    const auto what = parts[0].substr(0, eq), value = eq == std::string::npos ? "" : parts[0].substr(eq + 1);
    if (what == "token" && !value.empty()) {
        TokenScale s;
        std::tie(s.tokens, e.token_words) = tokens_of(value, "--edit", text);
        bool scaled = false;
        for (std::size_t i = 1; i < parts.size(); ++i) {
            if (parts[i] == "renorm") {
                s.renormalize = true;
            } else if (parts[i].rfind("scale=", 0) == 0) {
                s.factor = number(parts[i].substr(6), "scale");
                scaled = true;
            } else {
                throw UsageError("bad --edit '" + text + "': '" + parts[i] +
                                 "' is neither scale=S nor renorm");
            }
        }
        if (!scaled)
            throw UsageError("bad --edit '" + text + "': a token edit needs :scale=S (0 removes it)");
        e.edit.change = s;
    } else if (what == "head" && parts.size() == 1 && whole_number(value)) {
        e.edit.change = HeadZero{*whole_number(value)};
    } else if (what == "backend" && parts.size() == 1 && !value.empty()) {
        e.edit.change = BackendSwap{value};
    } else {
        throw UsageError("bad --edit '" + text +
                         "': expected token=WORD:scale=S[:renorm], head=H or backend=NAME, then any of "
                         "@sites=LIST @steps=LIST @attn=self|cross");
    }
    return e;
}

MapText parse_map(const std::string& text, int steps) {
    const auto [subject, scope] = split_scope(text, {"sites", "steps", "head"}, "--map");
    MapText m{text, {}, {}};
    auto& r = m.request;
    const auto chosen_steps = steps_of(scope, steps);
    r.steps = chosen_steps.empty() ? std::vector<int>{steps - 1}
                                   : std::vector<int>(chosen_steps.begin(), chosen_steps.end());
    for (const int i : sites_of(scope)) r.indices.push_back(i);
    if (const auto it = scope.find("head"); it != scope.end()) {
        if (it->second == "mean") {
            r.heads = HeadReduction::Mean;
        } else if (it->second == "max") {
            r.heads = HeadReduction::Max;
        } else if (const auto h = whole_number(it->second)) {
            r.heads = HeadReduction::Single;
            r.head = *h;
        } else {
            throw UsageError("bad @head '" + it->second + "' (use a head number from 0, mean or max)");
        }
    }
    const auto eq = subject.find('=');
    const auto what = subject.substr(0, eq), value = eq == std::string::npos ? "" : subject.substr(eq + 1);
    if (what == "token" && !value.empty()) {
        r.kind = AttentionKind::Cross;
        std::tie(r.tokens, m.token_words) = tokens_of(value, "--map", text);
    } else if (what == "pixel" && split(value, ',').size() == 2) {
        r.kind = AttentionKind::Self;
        const auto xy = split(value, ',');
        r.query_x = number(xy[0], "pixel x");
        r.query_y = number(xy[1], "pixel y");
        if (r.query_x < 0 || r.query_x >= 1 || r.query_y < 0 || r.query_y >= 1)
            throw UsageError("bad --map '" + text +
                             "': the pixel's x and y are fractions of the image, in [0, 1)");
    } else {
        throw UsageError(
            "bad --map '" + text +
            "': expected token=WORD or pixel=X,Y, then any of @sites=LIST @steps=LIST @head=H|mean|max");
    }
    return m;
}

void fit_to_model(EditText& e, const Session& session) {
    check_sites(e.edit.scope.sites, e.text, session);
    if (auto* s = std::get_if<TokenScale>(&e.edit.change))
        s->tokens = with_word_positions(s->tokens, e.token_words, session);
}

void fit_to_model(MapText& m, const Session& session) {
    auto& r = m.request;
    check_sites(std::set<int>(r.indices.begin(), r.indices.end()), m.text, session);
    if (r.indices.empty())
        for (int i = 1; i <= session.pipeline().unet.site_count(); ++i) r.indices.push_back(i);
    r.tokens = with_word_positions(r.tokens, m.token_words, session);
}

} // namespace attnscope::cli
