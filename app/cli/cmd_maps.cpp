// attnscope maps: attention maps from a capture file (`generate --capture`) without the model: a colour PNG,
// a 16-bit PNG of the raw values, the fp32 maps as .safetensors and a JSON description of each; with --grid,
// small multiples of every index, head or prompt token. Maps of P, of the scores before the softmax or of
// each query's entropy, of either guidance half or their difference; --token-mass adds the table of where
// cross-attention goes (start, prompt, end, padding) at every captured step and site.
#include "capture/attention_maps.h"
#include "capture/capture_file.h"
#include "capture/token_mass_table.h"
#include "capture_input.h"
#include "command_line.h"
#include "commands.h"
#include "generation_options.h"
#include "io/png16_file.h"
#include "io/png_file.h"
#include "io/safetensors_file.h"
#include "number_lists.h"
#include "progress_bar.h"
#include "render/colormap.h"
#include "render/grid.h"
#include "render/map_png.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

namespace attnscope::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kGridGap = 2;
const std::vector<uint8_t> kGridBackground{40, 42, 48}; // the visualizer's empty tile

enum class GridKind { None, Indices, Heads, Tokens };
enum class RangeMode { Auto, Tile, Fixed };
enum class Half { Cond, Uncond, Diff }; // --batch: the prompt's, the negative prompt's, cond - uncond

// What the user asked for, checked for form only; the capture decides what exists.
struct Options {
    std::string capture, out;
    AttentionKind kind = AttentionKind::Cross;
    std::vector<std::string> words;     // --token
    std::vector<int64_t> token_indices; // --token-index
    std::optional<std::pair<int, int>> pixel;
    std::vector<int> indices;                 // empty: every index captured
    std::optional<std::pair<int, int>> steps; // 1-based, inclusive; none: every step captured
    HeadReduction heads = HeadReduction::Mean;
    int head = 0;
    Half half = Half::Cond;
    MapQuantity quantity = MapQuantity::Probability;
    bool map = true;                       // false: --token-mass alone, no map asked for
    std::optional<std::string> token_mass; // the CSV file
    std::optional<std::pair<int, int>> size;
    Colormap colormap = Colormap::Viridis;
    RangeMode range = RangeMode::Auto;
    ValueRange fixed;
    GridKind grid = GridKind::None;
};

std::optional<double> number(const std::string& s) {
    try {
        std::size_t used = 0;
        const double v = std::stod(s, &used);
        if (used == s.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

MapQuantity parse_quantity(const std::string& text) {
    for (const auto q : {MapQuantity::Probability, MapQuantity::Score, MapQuantity::Entropy})
        if (text == to_string(q)) return q;
    throw UsageError("bad --quantity '" + text + "' (use probability, score or entropy)");
}

// --kind, --grid, --quantity and what the map is of: tokens, a pixel or (entropy) every query; or no map
// but the token mass table.
void parse_subject(const CommandLine& args, Options& o) {
    const auto kind = args.value("kind");
    if (kind != "cross" && kind != "self") throw UsageError("bad --kind '" + kind + "' (use cross or self)");
    o.kind = kind == "cross" ? AttentionKind::Cross : AttentionKind::Self;

    if (const auto grid = args.get("grid")) {
        if (*grid == "indices")
            o.grid = GridKind::Indices;
        else if (*grid == "heads")
            o.grid = GridKind::Heads;
        else if (*grid == "tokens")
            o.grid = GridKind::Tokens;
        else
            throw UsageError("bad --grid '" + *grid + "' (use indices, heads or tokens)");
    }

    const auto token = args.get("token"), token_index = args.get("token-index");
    if (token && token_index) throw UsageError("give either --token WORD or --token-index N, not both");
    if (token)
        for (const auto& w : split(*token, " ,"))
            if (!w.empty()) o.words.push_back(w);
    if (token && o.words.empty()) throw UsageError("--token needs a word of the prompt");
    if (token_index) {
        const auto n = numbers(*token_index, ",");
        if (n.empty())
            throw UsageError("bad --token-index '" + *token_index + "': expected positions such as 2 or 2,3");
        o.token_indices.assign(n.begin(), n.end());
    }
    if (const auto pixel = args.get("pixel"))
        o.pixel = two_numbers("pixel", *pixel, ",", "X,Y in image pixels, e.g. 32,20");

    o.quantity = parse_quantity(args.value("quantity"));
    o.token_mass = args.get("token-mass");
    if (o.token_mass && o.token_mass->empty()) throw UsageError("--token-mass needs a file name");
    o.map = !o.token_mass || args.given("kind") || args.given("quantity") || token || token_index ||
            o.pixel || o.grid != GridKind::None;
    if (!o.map) return;
    if (o.quantity == MapQuantity::Entropy) {
        if (token || token_index || o.pixel)
            throw UsageError(
                "--quantity entropy maps every query of a site: leave out --token, --token-index "
                "and --pixel");
        if (o.grid == GridKind::Tokens)
            throw UsageError("--grid tokens varies the token, and an entropy map has none");
        return;
    }

    if (o.kind == AttentionKind::Cross) {
        if (o.pixel) throw UsageError("--pixel chooses a self-attention query: add --kind self");
        if (o.words.empty() && o.token_indices.empty() && o.grid != GridKind::Tokens)
            throw UsageError("a cross-attention map needs --token WORD or --token-index N (or --grid tokens; "
                             "--quantity entropy needs neither)");
    } else {
        if (!o.pixel) throw UsageError("a self-attention map needs the query pixel: --pixel X,Y");
        if (token || token_index) throw UsageError("--token chooses cross-attention: leave out --kind self");
        if (o.grid == GridKind::Tokens)
            throw UsageError("--grid tokens shows cross-attention, not --kind self");
    }
}

// --index, --step, --head and --batch: which of the captured attention.
void parse_slice(const CommandLine& args, Options& o) {
    if (const auto index = args.get("index"); index && *index != "all") {
        const auto n = numbers(*index, ",");
        if (n.empty() || std::any_of(n.begin(), n.end(), [](long long i) { return i < 1 || i > INT_MAX; }))
            throw UsageError("bad --index '" + *index +
                             "': expected sites from 1 (1..16 for SD), a list such "
                             "as 1,2,14, or all");
        o.indices.assign(n.begin(), n.end());
    }
    if (o.grid == GridKind::Heads && o.indices.size() != 1)
        throw UsageError("--grid heads shows the heads of one site: give --index N");

    if (const auto step = args.get("step"); step && *step != "all") {
        const auto range = numbers(*step, ":");
        if (range.empty() || range.size() > 2 || range.front() < 1 || range.back() < range.front())
            throw UsageError("bad --step '" + *step + "': expected N, A:B (from 1, A <= B) or all");
        o.steps = {static_cast<int>(range.front()), static_cast<int>(range.back())};
    }

    const auto head = args.value("head");
    if (head == "mean")
        o.heads = HeadReduction::Mean;
    else if (head == "max")
        o.heads = HeadReduction::Max;
    else if (const auto n = whole_number(head)) {
        o.heads = HeadReduction::Single;
        o.head = static_cast<int>(*n);
    } else
        throw UsageError("bad --head '" + head + "' (use a head number from 0, mean or max)");

    const auto batch = args.value("batch");
    if (batch != "cond" && batch != "uncond" && batch != "diff")
        throw UsageError("bad --batch '" + batch + "' (use cond, uncond or diff)");
    o.half = batch == "uncond" ? Half::Uncond : batch == "diff" ? Half::Diff : Half::Cond;
}

// --size, --colormap and --range: how the maps are drawn.
void parse_drawing(const CommandLine& args, Options& o) {
    if (const auto size = args.get("size")) {
        o.size = two_numbers("size", *size, "x", "WxH in pixels, e.g. 256x256");
        if (o.size->first < 1 || o.size->second < 1 || o.size->first > 8192 || o.size->second > 8192)
            throw UsageError("bad --size '" + *size + "': width and height from 1 to 8192");
    }

    const auto colormap = args.value("colormap");
    const auto c = parse_colormap(colormap);
    if (!c) throw UsageError("unknown --colormap '" + colormap + "' (use viridis, magma, jet or gray)");
    o.colormap = *c;

    const auto range = args.value("range");
    if (range == "tile") {
        o.range = RangeMode::Tile;
    } else if (range != "auto") {
        const auto parts = split(range, ",");
        const auto lo = parts.size() == 2 ? number(parts[0]) : std::nullopt;
        const auto hi = parts.size() == 2 ? number(parts[1]) : std::nullopt;
        if (!lo || !hi || !(*lo < *hi))
            throw UsageError("bad --range '" + range + "': expected auto, tile or LO,HI with LO < HI");
        o.range = RangeMode::Fixed;
        o.fixed = {static_cast<float>(*lo), static_cast<float>(*hi)};
    }
}

Options parse_options(const CommandLine& args) {
    Options o;
    const auto capture = args.get("capture"), out = args.get("out");
    if (!capture || !out)
        throw UsageError("maps needs --capture FILE (from generate --capture) and --out DIR");
    o.capture = *capture;
    o.out = *out;
    parse_subject(args, o);
    parse_slice(args, o);
    parse_drawing(args, o);
    return o;
}

// ---- the capture's side: what exists, and the prompt's words

struct Capture {
    std::string path;
    LoadedCapture loaded;
    int image_width = 0, image_height = 0;
    std::string image_size_source;
};

Capture open_capture(const std::string& path) {
    Capture c{path, read_capture_file(path), 0, 0, ""};
    const auto size = capture_image_size(c.loaded);
    c.image_width = size.width;
    c.image_height = size.height;
    c.image_size_source = size.source;
    return c;
}

const CapturedSite& any_site(const Capture& c, int step, int index, AttentionKind kind) {
    if (const auto* s = c.loaded.store.find(step, index, kind)) return *s;
    throw std::runtime_error(c.path + ": step " + std::to_string(step + 1) + " index " +
                             std::to_string(index) + " " + to_string(kind) +
                             "-attention is not in the capture");
}

std::vector<int> chosen_steps(const Capture& c, const Options& o) {
    const auto captured = c.loaded.store.steps();
    if (!o.steps) return captured;
    std::vector<int> steps;
    for (int s = o.steps->first; s <= o.steps->second; ++s) {
        if (!std::binary_search(captured.begin(), captured.end(), s - 1))
            throw std::runtime_error(
                c.path + ": step " + std::to_string(s) + " is not in the capture (it holds " +
                std::to_string(captured.front() + 1) + " to " + std::to_string(captured.back() + 1) + ")");
        steps.push_back(s - 1);
    }
    return steps;
}

std::vector<int> captured_indices(const Capture& c, int step, AttentionKind kind) {
    std::vector<int> indices;
    for (const auto& [key, site] : c.loaded.store.entries())
        if (key.step == step && key.kind == kind) indices.push_back(key.index);
    if (indices.empty())
        throw std::runtime_error(c.path + ": no " + std::string(to_string(kind)) +
                                 "-attention is captured at step " + std::to_string(step + 1));
    return indices;
}

// The batch item attention_map() takes: the guidance batch is (uncond, cond), so cond is the last one (and
// the minuend of the difference).
int chosen_batch(const Capture& c, const Options& o, int step, int index) {
    const auto& site = any_site(c, step, index, o.kind);
    const int64_t batches = site.q.size(0) / site.site.heads;
    if (o.half != Half::Cond && batches < 2)
        throw std::runtime_error(
            c.path + ": the capture has no unconditional half (made without classifier-free guidance)");
    return o.half == Half::Uncond ? 0 : static_cast<int>(batches - 1);
}

struct Token {
    int64_t position = 0;
    std::string text, word;
};

// The tokens of the prompt that drove the chosen half: the negative prompt's for uncond.
std::vector<Token> prompt_tokens(const Capture& c, bool uncond) {
    const auto& d = c.loaded.description;
    const char* key = uncond ? "negative_prompt" : "prompt";
    std::vector<Token> tokens;
    if (!d.contains(key) || !d[key].contains("tokens")) return tokens;
    for (const auto& t : d[key]["tokens"])
        tokens.push_back({t.value("position", int64_t{0}), t.value("text", std::string()),
                          t.contains("word") && t["word"].is_string() ? t["word"].get<std::string>() : ""});
    return tokens;
}

std::string lower_ascii(std::string s) {
    for (auto& ch : s)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return s;
}

// Every token of every occurrence of the words: a word BPE split into pieces is all of its pieces.
std::vector<Token> tokens_of_words(const Capture& c, const std::vector<Token>& tokens,
                                   const std::vector<std::string>& words, bool uncond) {
    const std::string whose = uncond ? "negative prompt" : "prompt";
    if (tokens.empty())
        throw std::runtime_error(c.path + ": the capture's description lists no " + whose +
                                 " tokens; choose them by position with --token-index N");
    std::vector<Token> chosen;
    for (const auto& word : words) {
        const auto wanted = lower_ascii(word);
        const auto before = chosen.size();
        for (const auto& t : tokens)
            if (t.word == wanted) chosen.push_back(t);
        if (chosen.size() == before) {
            std::string known;
            for (const auto& t : tokens)
                if (!t.word.empty() && known.find("'" + t.word + "'") == std::string::npos)
                    known += (known.empty() ? "'" : ", '") + t.word + "'";
            throw std::runtime_error("no word '" + word + "' in the " + whose +
                                     " (its words: " + (known.empty() ? "none" : known) + ")");
        }
    }
    return chosen;
}

std::vector<Token> tokens_at(const std::vector<Token>& tokens, const std::vector<int64_t>& positions) {
    std::vector<Token> chosen;
    for (const auto p : positions) {
        const auto it =
            std::find_if(tokens.begin(), tokens.end(), [&](const Token& t) { return t.position == p; });
        chosen.push_back(it != tokens.end() ? *it : Token{p, "", ""});
    }
    return chosen;
}

// The prompt's own tokens: no start, end or padding.
std::vector<Token> prompt_words(const std::vector<Token>& tokens) {
    std::vector<Token> words;
    for (const auto& t : tokens)
        if (!t.word.empty()) words.push_back(t);
    return words;
}

// ---- the maps to make

struct MapSpec {
    std::string name; // its tensor in maps.safetensors
    MapRequest request;
    json about; // what it is, for maps.json
};

json tokens_json(const std::vector<Token>& tokens) {
    auto j = json::array();
    for (const auto& t : tokens)
        j.push_back({{"position", t.position},
                     {"text", t.text},
                     {"word", t.word.empty() ? json(nullptr) : json(t.word)}});
    return j;
}

std::string head_label(const MapRequest& r) {
    return r.heads == HeadReduction::Single ? std::to_string(r.head)
           : r.heads == HeadReduction::Max  ? "max"
                                            : "mean";
}

json describe(const Capture& c, const MapSpec& spec) {
    const auto& r = spec.request;
    auto sites = json::array();
    for (const int index : r.indices) {
        const auto& s = any_site(c, r.steps.front(), index, r.kind).site;
        sites.push_back({{"index", index},
                         {"module", s.module},
                         {"height", s.height},
                         {"width", s.width},
                         {"heads", s.heads}});
    }
    auto steps = json::array();
    for (const int s : r.steps) steps.push_back(s + 1);
    json j = spec.about;
    j["tensor"] = spec.name;
    j["kind"] = to_string(r.kind);
    j["sites"] = sites;
    j["steps"] = steps;
    j["head"] = head_label(r);
    j["quantity"] = to_string(r.quantity);
    j["aggregation"] = r.indices.size() == 1                    ? "mean over steps"
                       : r.quantity == MapQuantity::Probability ? "sum over sites, mean over steps"
                                                                : "mean over sites and steps";
    return j;
}

// Steps, sites, batch, heads and the query pixel; tokens and size are set by the caller.
MapRequest base_request(const Capture& c, const Options& o, const std::vector<int>& steps,
                        const std::vector<int>& indices) {
    MapRequest r;
    r.steps = steps;
    r.indices = indices;
    r.kind = o.kind;
    r.heads = o.heads;
    r.head = o.head;
    r.batch = chosen_batch(c, o, steps.front(), indices.front());
    r.batch_view = o.half == Half::Diff ? BatchView::CondMinusUncond : BatchView::Item;
    r.quantity = o.quantity;
    if (o.pixel) {
        const auto [x, y] = *o.pixel;
        if (x >= c.image_width || y >= c.image_height)
            throw std::runtime_error("pixel " + std::to_string(x) + "," + std::to_string(y) +
                                     " is outside the " + std::to_string(c.image_width) + "x" +
                                     std::to_string(c.image_height) + " image");
        // The pixel's centre, so it lands in the site cell that covers it at every resolution.
        r.query_x = (x + 0.5) / c.image_width;
        r.query_y = (y + 0.5) / c.image_height;
    }
    return r;
}

void set_size(MapRequest& r, const Options& o, const Capture& c, bool several) {
    if (o.size)
        std::tie(r.out_width, r.out_height) = *o.size;
    else if (several)
        std::tie(r.out_width, r.out_height) = std::pair(c.image_width, c.image_height);
}

// The map the selection names. Cross-attention without a token (--grid tokens alone) is the prompt's every
// token summed: where the prompt as a whole looks.
MapSpec main_spec(const Capture& c, const Options& o, const std::vector<int>& steps,
                  const std::vector<Token>& tokens) {
    const auto indices = o.indices.empty() ? captured_indices(c, steps.front(), o.kind) : o.indices;
    MapSpec spec{"map", base_request(c, o, steps, indices), json::object()};
    set_size(spec.request, o, c, indices.size() > 1);
    if (o.quantity == MapQuantity::Entropy) return spec;
    if (o.kind == AttentionKind::Self) {
        spec.about["pixel"] = {{"x", o.pixel->first}, {"y", o.pixel->second}};
        return spec;
    }
    auto chosen = !o.words.empty() ? tokens_of_words(c, tokens, o.words, o.half == Half::Uncond)
                                   : tokens_at(tokens, o.token_indices);
    if (chosen.empty()) chosen = prompt_words(tokens);
    if (chosen.empty())
        throw std::runtime_error(c.path +
                                 ": the capture's description lists no prompt tokens for --grid tokens");
    for (const auto& t : chosen) spec.request.tokens.push_back(t.position);
    spec.about["tokens"] = tokens_json(chosen);
    return spec;
}

// The grid's tiles: the main map's selection with one thing varied.
std::vector<MapSpec> grid_tiles(const Capture& c, const Options& o, const MapSpec& main,
                                const std::vector<Token>& tokens) {
    std::vector<MapSpec> tiles;
    char name[32];
    if (o.grid == GridKind::Indices) {
        for (const int index : captured_indices(c, main.request.steps.front(), o.kind)) {
            auto r = main.request;
            r.indices = {index};
            set_size(r, o, c, true);
            std::snprintf(name, sizeof name, "index.%02d", index);
            tiles.push_back({name, r, main.about});
        }
    } else if (o.grid == GridKind::Heads) {
        // Every head, then the mean and the max, as the visualizer shows them.
        const int heads =
            any_site(c, main.request.steps.front(), main.request.indices.front(), o.kind).site.heads;
        for (int h = 0; h < heads + 2; ++h) {
            auto r = main.request;
            r.heads = h < heads    ? HeadReduction::Single
                      : h == heads ? HeadReduction::Mean
                                   : HeadReduction::Max;
            r.head = h < heads ? h : 0;
            if (h < heads)
                std::snprintf(name, sizeof name, "head.%02d", h);
            else
                std::snprintf(name, sizeof name, "head.%s", head_label(r).c_str());
            tiles.push_back({name, r, main.about});
        }
    } else {
        for (const auto& t : prompt_words(tokens)) {
            auto r = main.request;
            r.tokens = {t.position};
            std::snprintf(name, sizeof name, "token.%02lld", static_cast<long long>(t.position));
            tiles.push_back({name, r, {{"tokens", tokens_json({t})}}});
        }
    }
    return tiles;
}

// Tiles share one size: the asked or image size, else the first tile's site's own.
GridLayout grid_layout(const Capture& c, const Options& o, const std::vector<MapSpec>& tiles) {
    const auto& r = tiles.front().request;
    const auto& site = any_site(c, r.steps.front(), r.indices.front(), o.kind).site;
    const int w = r.out_width > 0 ? r.out_width : site.width,
              h = r.out_height > 0 ? r.out_height : site.height;
    if (o.grid != GridKind::Indices) return reading_grid(tiles.size(), w, h, kGridGap);
    std::vector<AttentionSite> sites;
    for (const auto& t : tiles)
        sites.push_back(any_site(c, r.steps.front(), t.request.indices.front(), o.kind).site);
    return unet_grid(sites, w, h, kGridGap);
}

// ---- from tensors to files

// One map computed, and what maps.json says of it.
struct Made {
    at::Tensor tensor; // (height, width) fp32
    MapImage image;
    json about;
};

Made make(const Capture& c, const MapSpec& spec) {
    Made m{attention_map(c.loaded.store, spec.request).to(at::kCPU, at::kFloat).contiguous(),
           {},
           describe(c, spec)};
    const float* p = m.tensor.data_ptr<float>();
    m.image = {static_cast<int>(m.tensor.size(1)), static_cast<int>(m.tensor.size(0)),
               std::vector<float>(p, p + m.tensor.numel())};
    const auto s = map_stats(m.tensor);
    m.about["width"] = m.image.width;
    m.about["height"] = m.image.height;
    m.about["stats"] = {{"min", s.min}, {"max", s.max}, {"mean", s.mean}, {"entropy", s.entropy}};
    return m;
}

// Fixed: as asked; auto: one range over every map of an image (a grid's tiles compare); tile: each its own.
ValueRange range_for(const Options& o, const MapImage& map, std::optional<ValueRange> shared) {
    if (o.range == RangeMode::Fixed) return o.fixed;
    return o.range == RangeMode::Auto && shared ? *shared : value_range(map);
}

void note_files(json& about, const char* colour, const char* gray, ValueRange range) {
    about.update(map_pngs_json(colour, gray, range));
}

// grid.png and grid16.png; each tile's place and scaling go into its description.
json write_grid(const fs::path& out, const Options& o, const GridLayout& l, std::vector<Made>& tiles,
                const Lut& lut) {
    std::optional<ValueRange> shared;
    for (const auto& t : tiles) shared = shared ? merge(*shared, value_range(t.image)) : value_range(t.image);
    std::vector<std::vector<uint8_t>> colour;
    std::vector<std::vector<uint16_t>> gray;
    for (std::size_t i = 0; i < tiles.size(); ++i) {
        const auto range = range_for(o, tiles[i].image, shared);
        colour.push_back(colorize_rgb(tiles[i].image, range, lut));
        gray.push_back(to_gray16(tiles[i].image, range));
        tiles[i].about["grid"] = {{"x", l.tile_x(i)}, {"y", l.tile_y(i)}};
        note_files(tiles[i].about, "grid.png", "grid16.png", range);
    }
    write_png((out / "grid.png").string(),
              {l.width(), l.height(), 3, compose_grid(l, colour, kGridBackground)});
    write_png16((out / "grid16.png").string(), {l.width(), l.height(), compose_grid(l, gray, {0})});
    return {{"width", l.width()}, {"height", l.height()},          {"columns", l.columns},
            {"rows", l.rows},     {"tile_width", l.tile_width},    {"tile_height", l.tile_height},
            {"gap", l.gap},       {"background", kGridBackground}, {"files", {"grid.png", "grid16.png"}}};
}

// Every map asked for, computed before anything is written: the main map and a grid's tiles.
struct Maps {
    MapSpec main_spec;
    Made main;
    std::vector<MapSpec> tile_specs;
    std::vector<Made> tiles;
};

Maps make_maps(const Capture& c, const Options& o) {
    const auto steps = chosen_steps(c, o);
    const auto tokens = prompt_tokens(c, o.half == Half::Uncond);
    Maps m;
    m.main_spec = main_spec(c, o, steps, tokens);
    if (o.grid != GridKind::None) m.tile_specs = grid_tiles(c, o, m.main_spec, tokens);
    m.main = make(c, m.main_spec);
    if (!m.tile_specs.empty()) {
        ProgressBar bar; // a grid is many maps
        for (const auto& spec : m.tile_specs) {
            bar.update(static_cast<double>(m.tiles.size()) / m.tile_specs.size(), "map " + spec.name);
            m.tiles.push_back(make(c, spec));
        }
        bar.update(1.0, "writing");
    }
    return m;
}

// map.png, map16.png, the grid's images and maps.safetensors; what they hold goes into `description`.
// Returns the summary line's part about them.
std::string write_maps(const fs::path& out, const Options& o, const Capture& c, Maps& m, json& description) {
    const Colormaps colormaps;
    const auto& lut = colormaps.lut(o.colormap);
    const auto range = range_for(o, m.main.image, std::nullopt);
    write_map_pngs(m.main.image, range, lut, (out / "map.png").string(), (out / "map16.png").string());
    note_files(m.main.about, "map.png", "map16.png", range);
    if (!m.tiles.empty()) {
        description["grid"] = write_grid(out, o, grid_layout(c, o, m.tile_specs), m.tiles, lut);
        description["grid"]["layout"] = description["options"]["grid"];
    }
    TensorMap tensors{{m.main_spec.name, m.main.tensor}};
    auto about = json::array({m.main.about});
    for (std::size_t i = 0; i < m.tiles.size(); ++i) {
        tensors[m.tile_specs[i].name] = m.tiles[i].tensor;
        about.push_back(m.tiles[i].about);
    }
    description["maps"] = about;
    write_safetensors((out / "maps.safetensors").string(), tensors, {{"attnscope.maps", description.dump()}});
    char line[200];
    std::snprintf(line, sizeof line,
                  "map.png and map16.png (%dx%d, range %g..%g), %s%zu map(s) in maps.safetensors",
                  m.main.image.width, m.main.image.height, range.lo, range.hi,
                  m.tiles.empty() ? "" : "grid.png and grid16.png, ", tensors.size());
    return line;
}

// The token mass table of every captured step and site, each half measured with its own prompt's length.
std::vector<TokenMassRow> token_mass_of(const Capture& c) {
    const auto prompt = prompt_tokens(c, false), negative = prompt_tokens(c, true);
    if (prompt.empty())
        throw std::runtime_error(c.path + ": the capture's description lists no prompt tokens, and the token "
                                          "mass needs to know where the prompt ends");
    return token_mass_table(c.loaded.store, static_cast<int>(prompt.size()),
                            static_cast<int>(negative.size()));
}

// The options that choose the map, recorded in maps.json as they were given.
struct Choice {
    const char* name;
    const char* value_name;
    const char* help;
    std::optional<std::string> fallback;
};
const std::vector<Choice> kChoices{
    {"kind", "cross|self", "which attention", "cross"},
    {"token", "WORD[,WORD]", "cross-attention to these words of the prompt", std::nullopt},
    {"token-index", "N[,M]", "cross-attention to these token positions", std::nullopt},
    {"pixel", "X,Y", "self-attention from the query at this image pixel", std::nullopt},
    {"index", "N|LIST|all", "attention sites from 1 (1..16 for SD; default: every one captured)",
     std::nullopt},
    {"step", "N|A:B|all", "denoising steps, from 1 (default: every one captured)", std::nullopt},
    {"head", "H|mean|max", "one head (from 0) or the heads reduced", "mean"},
    {"batch", "cond|uncond|diff", "the classifier-free guidance half, or cond minus uncond", "cond"},
    {"quantity", "probability|score|entropy", "what the map shows", "probability"},
    {"size", "WxH", "the maps' size in pixels (default: the image's)", std::nullopt},
    {"colormap", "viridis|magma|jet|gray", "the colour PNGs' colormap", "viridis"},
    {"range", "auto|tile|LO,HI", "the colour scale: automatic, per tile, or fixed", "auto"},
    {"grid", "indices|heads|tokens", "one image of a map per site, head or token", std::nullopt},
    {"token-mass", "FILE.csv", "each cross-attention call's mass per token, as a table", std::nullopt},
};

const char* half_name(Half h) {
    return h == Half::Uncond ? "uncond" : h == Half::Diff ? "diff" : "cond";
}

} // namespace

int cmd_maps(const std::vector<std::string>& argv) {
    CommandLine args("maps",
                     "Attention maps from a capture (generate --capture), as PNG (colour and 16-bit), "
                     ".safetensors and JSON.");
    args.option("capture", "FILE", "the capture to read");
    args.option("out", "DIR", "the folder to write into (made if missing)");
    for (const auto& c : kChoices) args.option(c.name, c.value_name, c.help, c.fallback);
    if (!args.parse(argv)) return 0;
    const auto o = parse_options(args);
    const auto c = open_capture(o.capture);
    auto maps = o.map ? make_maps(c, o) : Maps{};
    const auto mass = o.token_mass ? token_mass_of(c) : std::vector<TokenMassRow>{};

    json options = json::object();
    for (const auto& c : kChoices)
        if (args.given(c.name)) options[c.name] = *args.get(c.name);
    json description{
        {"capture", o.capture},
        {"prompt", c.loaded.description.value("settings", json::object()).value("prompt", "")},
        {"image", {{"width", c.image_width}, {"height", c.image_height}, {"from", c.image_size_source}}},
        {"options", options},
        {"batch", half_name(o.half)},
        {"quantity", to_string(o.quantity)},
        {"colormap", colormap_name(o.colormap)},
        {"png16_scaling", kPng16Scaling},
        {"maps", json::array()}};

    const fs::path out(o.out);
    fs::create_directories(out);
    std::string wrote;
    if (o.map) wrote = write_maps(out, o, c, maps, description) + ", ";
    if (o.token_mass) {
        write_text(*o.token_mass, token_mass_csv(mass));
        description["token_mass"] = token_mass_json(mass);
        description["token_mass"]["file"] = *o.token_mass;
        wrote += "the token mass of " + std::to_string(mass.size()) + " cross-attention calls in " +
                 *o.token_mass + ", ";
    }
    write_text((out / "maps.json").string(), description.dump(2) + "\n");
    std::printf("wrote %s: %smaps.json\n", o.out.c_str(), wrote.c_str());
    return 0;
}

} // namespace attnscope::cli
