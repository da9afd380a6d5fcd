#include "script.h"

#include "export_map.h"
#include "map_writer.h"
#include "unet_blocks_view.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace attnscope::gui {

namespace {

// One of `names` (the script's words for an enum's values, in its order), else std::invalid_argument.
template <typename Enum, size_t N>
Enum choose(const std::string& word, const char* command, const std::array<const char*, N>& names) {
    for (size_t i = 0; i < N; ++i)
        if (word == names[i]) return static_cast<Enum>(i);
    std::string known;
    for (size_t i = 0; i < N; ++i)
        known += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(names[i]);
    throw std::invalid_argument(std::string(command) + ": " + known);
}

// How long a script waits for the worker to move on (a new task or progress) before giving up: long runs
// (a comparison of many steps on a busy CPU) are fine while they progress.
constexpr double kTimeoutSeconds = 300;

// A head of the selected index: its site's head count bounds it once a session has sites (before that, the
// map's probe rejects it when it runs).
int checked_head(const UiState& s, int head) {
    for (const auto& site : s.snap.sites)
        if (site.index == s.view.index && head >= site.heads)
            throw std::invalid_argument("head " + std::to_string(head) + " out of range: index " +
                                        std::to_string(site.index) + " has " + std::to_string(site.heads) +
                                        " heads (0 to " + std::to_string(site.heads - 1) + ")");
    return head;
}

// The model's numbering decides which indices exist (16 for SD v1/v2, more for larger U-Nets).
int checked_index(const UiState& s, int index) {
    if (s.snap.sites.empty()) return index;
    int last = 0;
    for (const auto& site : s.snap.sites) {
        if (site.index == index) return index;
        last = std::max(last, site.index);
    }
    throw std::invalid_argument("index " + std::to_string(index) +
                                " out of range: the model's sites are 1 to " + std::to_string(last));
}

double seconds_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace

ScriptRunner::ScriptRunner(std::string name, std::vector<ScriptLine> lines, FrameClock& clock,
                           std::string surface)
    : name_(std::move(name)), lines_(std::move(lines)), clock_(clock), surface_(std::move(surface)) {}

void ScriptRunner::fail(const ScriptLine& line, const std::string& what) const {
    throw std::runtime_error(name_ + ":" + std::to_string(line.number) + " (" + line.words[0] + "): " + what);
}

// The worker has nothing to do and the panels have shown its latest results for a few frames.
bool ScriptRunner::settled(Ui& ui) {
    const bool idle = ui.worker.idle() && !ui.state.snap.busy;
    idle_frames_ = idle ? idle_frames_ + 1 : 0;
    return idle_frames_ >= 3;
}

std::optional<int> ScriptRunner::tick(Ui& ui) {
    if (quit_) return 0;
    if (wait_frames_ > 0) {
        --wait_frames_;
        return std::nullopt;
    }
    if (!settled(ui)) {
        const auto& snap = ui.state.snap;
        if (waiting_since_ < 0 || snap.task != last_task_ || snap.progress != last_progress_) {
            waiting_since_ = seconds_now();
            last_task_ = snap.task;
            last_progress_ = snap.progress;
        }
        if (seconds_now() - waiting_since_ > kTimeoutSeconds && next_ > 0)
            fail(lines_[next_ - 1], "timed out waiting for the worker (no progress for " +
                                        std::to_string(static_cast<int>(kTimeoutSeconds)) + " s)");
        return std::nullopt;
    }
    waiting_since_ = -1;
    if (next_ == lines_.size()) return 0;
    const auto& line = lines_[next_++];
    // An error the previous command left must be expected by this one.
    const auto& error = ui.state.snap.error;
    if (error.empty()) acknowledged_.clear();
    if (!error.empty() && error != acknowledged_ && line.words[0] != "expect-error") {
        const auto& previous = next_ >= 2 ? lines_[next_ - 2] : line;
        fail(previous, ui.state.snap.error);
    }
    try {
        run(ui, line);
    } catch (const std::invalid_argument& e) {
        fail(line, e.what());
    }
    idle_frames_ = 0;
    return std::nullopt;
}

double ScriptRunner::frame_period(bool busy) const {
    if (frame_rate_ > 0) return 1.0 / frame_rate_;
    return busy ? 0.1 : 0.0;
}

std::optional<std::string> ScriptRunner::take_screenshot() {
    return std::exchange(screenshot_, std::nullopt);
}

void ScriptRunner::run(Ui& ui, const ScriptLine& line) {
    auto& s = ui.state;
    auto& r = s.settings;
    auto& w = ui.worker;
    const std::string& c = line.words.at(0);
    if (c == "load") {
        s.model_path = word_arg(line, 1);
        w.load(s.model_path, s.loras, r);
    } else if (c == "lora") {
        s.loras.push_back({word_arg(line, 1), line.words.size() > 2 ? float_arg(line, 2) : 1.0});
    } else if (c == "compare-lora") {
        s.compare.loras.clear();
        if (word_arg(line, 1) != "none")
            s.compare.loras.push_back({word_arg(line, 1), line.words.size() > 2 ? float_arg(line, 2) : 1.0});
    } else if (c == "lora-sweep") {
        const int n = int_arg(line, 1);
        if (n > static_cast<int>(s.snap.loras.size()))
            throw std::invalid_argument("the loaded model runs with " + std::to_string(s.snap.loras.size()) +
                                        " LoRA(s)");
        const std::vector<int64_t> tokens(s.view.tokens.begin(), s.view.tokens.end());
        w.sweep_lora(static_cast<size_t>(n - 1), line.words.size() > 2 ? int_arg(line, 2) : 5,
                     line.words.size() > 3 ? float_arg(line, 3) : 1.0, tokens);
        s.show_tab = CentreTab::Sweep;
    } else if (c == "export-sweep") {
        try {
            if (!s.sweep) throw std::runtime_error("no sweep to export: lora-sweep N first");
            export_sweep(*s.sweep, word_arg(line, 1));
        } catch (const std::runtime_error& e) {
            throw std::invalid_argument(e.what());
        }
    } else if (c == "compare-model") {
        s.compare.model = word_arg(line, 1) == "none" ? "" : word_arg(line, 1);
    } else if (c == "lora-clear") {
        s.loras.clear();
    } else if (c == "lora-scale") {
        const int n = int_arg(line, 1);
        if (n > static_cast<int>(s.snap.loras.size()))
            throw std::invalid_argument("the loaded model runs with " + std::to_string(s.snap.loras.size()) +
                                        " LoRA(s)");
        s.snap.loras[static_cast<size_t>(n - 1)].scale->store(float_arg(line, 2));
    } else if (c == "start-image" || c == "read-image") {
        r.start_image = word_arg(line, 1) == "none" ? "" : word_arg(line, 1);
        r.read_picture = c == "read-image";
        if (line.words.size() > 2 && !r.read_picture) r.strength = float_arg(line, 2);
        if (line.words.size() > 2 && r.read_picture) r.reading_timesteps = word_arg(line, 2);
    } else if (c == "prompt") {
        r.prompt = word_arg(line, 1);
    } else if (c == "random-caption" || c == "example") {
        const auto& guide = s.snap.prompt_guide;
        if (!guide)
            throw std::invalid_argument(
                "the loaded model declares no prompt grammar (the embedded model does, "
                "in model_index.json's \"attnscope\": {\"prompt_grammar\": ...})");
        if (c == "random-caption") {
            r.prompt = guide->random_caption(s.random_captions++);
        } else {
            const auto examples = guide->examples();
            const auto n = static_cast<size_t>(int_arg(line, 1));
            if (n > examples.size())
                throw std::invalid_argument("the model's examples are 1 to " +
                                            std::to_string(examples.size()));
            r.prompt = examples[n - 1];
        }
    } else if (c == "negative") {
        r.negative_prompt = word_arg(line, 1);
    } else if (c == "seed") {
        r.seed = seed_arg(line, 1);
    } else if (c == "steps") {
        r.steps = int_arg(line, 1);
    } else if (c == "cfg") {
        r.guidance_scale = float_arg(line, 1);
    } else if (c == "scheduler") {
        r.scheduler = word_arg(line, 1);
    } else if (c == "size") {
        std::tie(r.width, r.height) = size_arg(line, 1);
    } else if (c == "tf32") {
        w.set_tf32(choose<bool>(word_arg(line, 1), "tf32", std::array<const char*, 2>{"off", "on"}));
    } else if (c == "backend") {
        r.backend = word_arg(line, 1);
    } else if (c == "session") {
        start_session(ui);
    } else if (c == "step") {
        const int n = line.words.size() > 1 ? int_arg(line, 1) : 1;
        s.view.step = -1;
        for (int i = 0; i < n; ++i) w.step();
    } else if (c == "play") {
        s.view.step = -1;
        w.play();
    } else if (c == "run") {
        s.view.step = -1;
        w.run_to_end();
    } else if (c == "rewind") {
        s.view.step = -1;
        w.rewind(int_arg(line, 1) - 1);
    } else if (c == "decode-full") {
        w.decode_full(shown_step(s));
    } else if (c == "select-step") {
        s.view.step = word_arg(line, 1) == "latest" ? -1 : int_arg(line, 1) - 1;
        s.view.steps_from = -1;
    } else if (c == "select-steps") {
        const int first = int_arg(line, 1), last = word_arg(line, 2) == "latest" ? -1 : int_arg(line, 2);
        if (first < 1 || (last >= 0 && last < first))
            throw std::invalid_argument("expected steps A B with 1 <= A <= B (or B = latest)");
        s.view.steps_from = first - 1;
        s.view.step = last < 0 ? -1 : last - 1;
    } else if (c == "select-token") {
        s.view.tokens.clear();
        for (size_t i = 1; i < line.words.size(); ++i) s.view.tokens.push_back(int_arg(line, i));
        if (s.view.tokens.empty()) throw std::invalid_argument("name at least one token position");
        std::sort(s.view.tokens.begin(), s.view.tokens.end());
        s.view.self = false;
    } else if (c == "select-index") {
        s.view.index = checked_index(s, int_arg(line, 1));
    } else if (c == "select-head") {
        const auto& h = word_arg(line, 1);
        if (h == "mean" || h == "max") {
            s.view.head_mode = h == "mean" ? HeadMode::Mean : HeadMode::Max;
        } else {
            s.view.head = checked_head(s, int_arg(line, 1));
            s.view.head_mode = HeadMode::Single;
        }
    } else if (c == "mode") {
        s.view.self = choose<bool>(word_arg(line, 1), "mode", std::array<const char*, 2>{"cross", "self"});
    } else if (c == "aggregate") {
        s.view.aggregate =
            choose<bool>(word_arg(line, 1), "aggregate", std::array<const char*, 2>{"off", "on"});
    } else if (c == "blocks") {
        // The index grid's checkbox: every transformer deeper than one block as one summed tile, or each
        // block.
        const bool sum = choose<bool>(word_arg(line, 1), "blocks", std::array<const char*, 2>{"each", "sum"});
        s.view.summed = sum ? s.snap.deep_transformers : std::set<std::string>{};
    } else if (c == "click") {
        s.view.query_x = std::clamp(float_arg(line, 1), 0.0f, 0.999f);
        s.view.query_y = std::clamp(float_arg(line, 2), 0.0f, 0.999f);
        s.view.self = true;
    } else if (c == "quantity") {
        s.view.quantity = choose<Quantity>(word_arg(line, 1), "quantity",
                                           std::array<const char*, 3>{"probability", "score", "entropy"});
    } else if (c == "batch") {
        s.view.half = choose<GuidanceHalf>(word_arg(line, 1), "batch",
                                           std::array<const char*, 3>{"cond", "uncond", "diff"});
    } else if (c == "colormap") {
        const auto c = parse_colormap(word_arg(line, 1));
        if (!c) throw std::invalid_argument("unknown colormap (viridis, magma, jet, gray)");
        s.display.colormap = *c;
    } else if (c == "opacity") {
        s.opacity = std::clamp(float_arg(line, 1), 0.0f, 1.0f);
    } else if (c == "normalize") {
        const auto n = choose<Normalization>(word_arg(line, 1), "normalize",
                                             std::array<const char*, 3>{"per-map", "global", "fixed"});
        if (n == Normalization::Fixed) {
            const float lo = float_arg(line, 2), hi = float_arg(line, 3);
            s.display.fixed_lo = lo;
            s.display.fixed_hi = hi;
        }
        s.display.normalization = n;
    } else if (c == "compare") {
        const bool same_inputs =
            !has_arg(line, 3) ||
            choose<bool>(word_arg(line, 3), "mode", std::array<const char*, 2>{"free", "same-inputs"});
        s.compare.backend = word_arg(line, 1);
        s.compare.dtype = has_arg(line, 2) && line.words[2] != "as-a" ? line.words[2] : "";
        s.compare.same_inputs = same_inputs;
        s.compare.from_step = line.words.size() > 4 ? int_arg(line, 4) - 1 : 0;
        w.compare(s.compare);
        s.show_tab = CentreTab::Compare;
    } else if (c == "edit") {
        if (word_arg(line, 1) == "clear")
            s.edits.clear();
        else
            s.edits.push_back(word_arg(line, 1));
    } else if (c == "branch") {
        w.branch(int_arg(line, 1) - 1, s.edits);
        s.view.branch = -1;
        s.show_tab = CentreTab::Branches;
    } else if (c == "select-branch") {
        s.view.branch = word_arg(line, 1) == "latest" ? -1 : int_arg(line, 1);
    } else if (c == "drop-branch") {
        w.drop_branch(int_arg(line, 1));
    } else if (c == "tab") {
        s.show_tab = choose<CentreTab>(word_arg(line, 1), "tab",
                                       std::array<const char*, 9>{"image", "guidance", "compare", "branches",
                                                                  "mass", "int8", "walk", "tour", "sweep"});
    } else if (c == "walk-stage") {
        s.walk_stage =
            choose<int>(word_arg(line, 1), "walk-stage",
                        std::array<const char*, 6>{"query", "keys", "scores", "softmax", "output", "heads"});
        s.walk_playing = false;
    } else if (c == "tour") {
        s.tour_playing = choose<bool>(word_arg(line, 1), "tour", std::array<const char*, 2>{"stop", "play"});
        s.tour_started = ImGui::GetTime();
    } else if (c == "screenshot") {
        screenshot_ = word_arg(line, 1);
    } else if (c == "export-map") {
        try {
            export_map(s, ui.colormaps, word_arg(line, 1));
        } catch (const std::runtime_error& e) {
            fail(line, e.what());
        }
    } else if (c == "expect-error") {
        if (s.snap.error.find(word_arg(line, 1)) == std::string::npos)
            fail(line,
                 "expected an error containing '" + word_arg(line, 1) + "', got '" + s.snap.error + "'");
        acknowledged_ = s.snap.error;
    } else if (c == "wait-frames") {
        wait_frames_ = int_arg(line, 1);
    } else if (c == "frame-rate") {
        frame_rate_ = float_arg(line, 1);
        if (!(frame_rate_ >= 1 && frame_rate_ <= 1000)) throw std::invalid_argument("frame-rate: 1 to 1000");
    } else if (c == "frame-stats") {
        write_frame_stats(ui, line);
    } else if (c == "quit") {
        quit_ = true;
    }
}

// The frames since the last frame-stats and the steps the session ran meanwhile: what the UI thread paid
// while the model ran.
void ScriptRunner::write_frame_stats(const Ui& ui, const ScriptLine& line) {
    const auto& snap = ui.state.snap;
    auto stats = clock_.take_summary();
    stats["surface"] = surface_;
    stats["frame_rate"] = frame_rate_;
    stats["device"] = snap.device + " " + snap.dtype;
    stats["maps"] = ui.textures.writer() ? ui.textures.writer()->describe() : "-";
    if (!ui.textures.writer_reason().empty()) stats["maps_not_interop"] = ui.textures.writer_reason();
    std::vector<double> step_ms;
    for (size_t i = std::min(steps_seen_, snap.history.size()); i < snap.history.size(); ++i)
        step_ms.push_back(snap.history[i].step_ms);
    steps_seen_ = snap.history.size();
    stats["steps"] = step_ms.size();
    stats["step_ms"] = step_ms;
    std::ofstream out(word_arg(line, 1));
    out << stats.dump(2) << "\n";
    if (!out) fail(line, word_arg(line, 1) + ": cannot write");
}

} // namespace attnscope::gui
