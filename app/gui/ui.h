#pragma once
// What the panels share: the user's choices, the latest copies of the worker's results, and the textures
// they are drawn from.
#include "render/colormap.h"
#include "texture.h"
#include "view_data.h"
#include "worker.h"

#include <cstdint>
#include <imgui.h>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace attnscope::gui {

enum class Normalization { PerMap, Global, Fixed };

// How values become colours.
struct MapDisplay {
    Colormap colormap = Colormap::Viridis;
    Normalization normalization = Normalization::PerMap;
    float fixed_lo = 0, fixed_hi = 0.1f;
    bool operator==(const MapDisplay& o) const {
        return colormap == o.colormap && normalization == o.normalization && fixed_lo == o.fixed_lo &&
               fixed_hi == o.fixed_hi;
    }
    bool operator!=(const MapDisplay& o) const { return !(*this == o); }
};

// The ranges the maps were coloured with: the colour bars' and captions' numbers, Export map's scaling.
struct MapRanges {
    ValueRange main;
    ValueRange compare, compare_diff;   // P_A and P_B share one; |P_A - P_B| from 0
    ValueRange branch, branch_diff;     // the same for the original and the shown branch
    ValueRange guidance, guidance_diff; // cond and uncond share one; cond - uncond symmetric about 0
};

// The centre panel's views.
enum class CentreTab { Image, Guidance, Compare, Branches, TokenMass, Int8, Walkthrough, Tour, Sweep };

// The branch view's edit builder, composed into attnscope edit's --edit grammar when added.
struct EditDraft {
    enum class Change { ScaleTokens, ZeroHead, SwapBackend } change = Change::ScaleTokens;
    enum class Where { All, Selected, List };
    float factor = 0;
    bool renormalize = true;
    int head = 0;
    std::string backend = "sdpa";
    Where sites = Where::All; // Selected: the selected index
    std::string site_list = "1-4";
    Where steps = Where::All; // Selected: from the shown step on
    std::string step_list = "0-4";
    int attn = 0; // 0: self and cross, 1: self, 2: cross
};

// Screen rectangles of the views, recorded while drawing (scripted screenshots save them for the tests).
struct Rect {
    float x = 0, y = 0, w = 0, h = 0;
};

// Panel proportions, adjusted by resizing the panels and remembered in imgui.ini.
struct Layout {
    float left = 0.24f;        // left column's share of the width
    float right = 0.26f;       // right column's share
    float model_split = 0.55f; // model panel's share of the left column
    float grid_split = 0.58f;  // index grid's share of the right column
    float tokens = 0.16f;      // token strip's share of the centre column
};

struct UiState {
    std::string model_path;
    std::vector<LoraChoice> loras; // loaded with the model (Load)
    std::string lora_path;         // the LoRA field's text
    RunSettings settings;
    std::uint64_t random_captions = 0; // the random caption button's presses so far: the next one's number
    Layout layout;

    // Selection; `view.step` < 0 follows the latest step.
    ViewRequest view;
    int hover_token = -1; // set while a token chip is hovered
    bool join_words = false;

    MapDisplay display;
    MapDisplay drawn_display; // what the textures were made with
    float opacity = 0.6f;
    MapRanges ranges; // what the colour bars show
    std::string export_path = "attnscope-map.png";
    std::string message; // the outcome of the last export

    WorkerSnapshot snap;
    MapResults maps;
    uint64_t maps_version = 0;
    RgbImage preview;
    uint64_t preview_version = 0;
    std::shared_ptr<const SweepView> sweep; // null before a sweep has run
    uint64_t sweep_version = 0;
    std::string sweep_export_path = "attnscope-sweep.png";
    PairImages images;
    uint64_t images_version = 0;
    bool textures_dirty = true;
    Int8View int8;
    uint64_t int8_version = 0;
    Int8Key int8_asked; // the call the int8 tab last asked the worker to inspect
    WalkView walk;
    uint64_t walk_version = 0;
    WalkKey walk_asked; // the query the walk-through tab last asked for
    int walk_stage = 0; // 0..5: query, keys, scores, softmax, output, heads and guidance
    bool walk_playing = false;
    double walk_stage_since = 0; // ImGui time the shown stage came up
    bool tour_playing = false;
    double tour_started = 0; // ImGui time the tour's forward pass started

    CentreTab tab = CentreTab::Image;
    std::optional<CentreTab> show_tab; // brought to the front at the next frame (a script, a run started)
    CompareChoice compare;
    EditDraft draft;
    std::vector<std::string> edits; // what the next branch gets, in attnscope edit's --edit grammar

    std::map<std::string, Rect> regions;
};

struct Ui {
    UiState state;
    Worker& worker;
    const Colormaps& colormaps;
    TexturePool textures;
};

// The step the views show: the selected one, or the latest when following the run (-1: none yet).
int shown_step(const UiState& s);
// The site row of the selected index and kind, or nullptr before a session exists.
const SiteRow* selected_site(const UiState& s);
// A single head the selected index does not have (the user moved to an index, or loaded a model, with fewer
// heads: SD v2 has 5, 10 and 20 per level) gives way to the mean of the index's heads, which every index has.
void fit_head_to_index(UiState& s);
// A new session with the model panel's settings. A reading of a picture shows its maps averaged over every
// run, following the latest: one run is one noise of many, not a stage of a generation.
void start_session(Ui& ui);
// What a map of these results is of: "index 4, cross, score, cond - uncond, mean of heads, steps 2-5".
std::string map_caption(const ViewRequest& v);
// What a map's values are, short enough to title a colour bar: "P", "score", "H nats", with " c-u" for the
// guidance difference.
std::string value_label(const ViewRequest& view);
// Records the empty panel background below what the window drew so far as "background", where there is
// some (tests check its colour); panels with room below their contents call it, the last one with room wins.
void record_background(UiState& s);
// Records a view's rectangle: the last item's, or the given one.
void record_region(UiState& s, const std::string& name);
void record_region(UiState& s, const std::string& name, ImVec2 min, ImVec2 max);
// Draws a texture fitted into `size` keeping its aspect ratio; returns the rectangle it took.
Rect fit_image(const Texture& texture, ImVec2 size, float aspect);

} // namespace attnscope::gui
