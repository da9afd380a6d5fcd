#include "script.h"

#include "export_map.h"
#include "map_writer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <stdexcept>
#include <utility>

namespace attnscope::gui {

namespace {

const std::set<std::string> kCommands = {
    "load",         "prompt",        "negative",    "seed",        "steps",        "cfg",
    "scheduler",    "size",          "backend",     "session",     "step",         "play",
    "run",          "rewind",        "decode-full", "select-step", "select-steps", "select-token",
    "select-index", "select-head",   "mode",        "aggregate",   "click",        "quantity",
    "batch",        "colormap",      "opacity",     "normalize",   "compare",      "edit",
    "branch",       "select-branch", "drop-branch", "tab",         "screenshot",   "export-map",
    "expect-error", "wait-frames",   "frame-rate",  "frame-stats", "quit",         "tf32"};

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

std::vector<std::string> split(const std::string& text, const std::string& where) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < text.size()) {
        if (std::isspace(static_cast<unsigned char>(text[i]))) {
            ++i;
        } else if (text[i] == '#') {
            break;
        } else if (text[i] == '"') {
            const auto end = text.find('"', i + 1);
            if (end == std::string::npos) throw std::runtime_error(where + ": unterminated quote");
            words.push_back(text.substr(i + 1, end - i - 1));
            i = end + 1;
        } else {
            size_t end = i;
            while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
            words.push_back(text.substr(i, end - i));
            i = end;
        }
    }
    return words;
}

int to_int(const ScriptLine& line, size_t arg) {
    try {
        return std::stoi(line.words.at(arg));
    } catch (const std::exception&) {
        throw std::invalid_argument("expected a whole number as argument " + std::to_string(arg));
    }
}

float to_float(const ScriptLine& line, size_t arg) {
    try {
        return std::stof(line.words.at(arg));
    } catch (const std::exception&) {
        throw std::invalid_argument("expected a number as argument " + std::to_string(arg));
    }
}

double seconds_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

const std::string& arg(const ScriptLine& line, size_t i) {
    if (i >= line.words.size()) throw std::invalid_argument("missing argument " + std::to_string(i));
    return line.words[i];
}

} // namespace

std::vector<ScriptLine> read_script(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot read the script");
    std::vector<ScriptLine> lines;
    std::string text;
    for (int number = 1; std::getline(in, text); ++number) {
        const std::string where = path + ":" + std::to_string(number);
        auto words = split(text, where);
        if (words.empty()) continue;
        if (!kCommands.count(words[0]))
            throw std::runtime_error(where + ": unknown command '" + words[0] + "'");
        lines.push_back({number, std::move(words)});
    }
    return lines;
}

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
    const std::string& c = line.words[0];
    if (c == "load") {
        s.model_path = arg(line, 1);
        w.load(s.model_path, r);
    } else if (c == "prompt") {
        r.prompt = arg(line, 1);
    } else if (c == "negative") {
        r.negative_prompt = arg(line, 1);
    } else if (c == "seed") {
        r.seed = static_cast<uint64_t>(to_int(line, 1));
    } else if (c == "steps") {
        r.steps = to_int(line, 1);
    } else if (c == "cfg") {
        r.guidance_scale = to_float(line, 1);
    } else if (c == "scheduler") {
        r.scheduler = arg(line, 1);
    } else if (c == "size") {
        if (std::sscanf(arg(line, 1).c_str(), "%dx%d", &r.width, &r.height) != 2)
            throw std::invalid_argument("expected WxH");
    } else if (c == "tf32") {
        w.set_tf32(choose<bool>(arg(line, 1), "tf32", std::array<const char*, 2>{"off", "on"}));
    } else if (c == "backend") {
        r.backend = arg(line, 1);
    } else if (c == "session") {
        w.start_session(r);
    } else if (c == "step") {
        const int n = line.words.size() > 1 ? to_int(line, 1) : 1;
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
        w.rewind(to_int(line, 1) - 1);
    } else if (c == "decode-full") {
        w.decode_full(shown_step(s));
    } else if (c == "select-step") {
        s.view.step = arg(line, 1) == "latest" ? -1 : to_int(line, 1) - 1;
        s.view.steps_from = -1;
    } else if (c == "select-steps") {
        const int first = to_int(line, 1), last = arg(line, 2) == "latest" ? -1 : to_int(line, 2);
        if (first < 1 || (last >= 0 && last < first))
            throw std::invalid_argument("expected steps A B with 1 <= A <= B (or B = latest)");
        s.view.steps_from = first - 1;
        s.view.step = last < 0 ? -1 : last - 1;
    } else if (c == "select-token") {
        s.view.tokens.clear();
        for (size_t i = 1; i < line.words.size(); ++i) s.view.tokens.push_back(to_int(line, i));
        if (s.view.tokens.empty()) throw std::invalid_argument("name at least one token position");
        std::sort(s.view.tokens.begin(), s.view.tokens.end());
        s.view.self = false;
    } else if (c == "select-index") {
        s.view.index = std::clamp(to_int(line, 1), 1, 16);
    } else if (c == "select-head") {
        const auto& h = arg(line, 1);
        s.view.head_mode = h == "mean" ? HeadMode::Mean : h == "max" ? HeadMode::Max : HeadMode::Single;
        if (s.view.head_mode == HeadMode::Single) s.view.head = to_int(line, 1);
    } else if (c == "mode") {
        s.view.self = arg(line, 1) == "self";
    } else if (c == "aggregate") {
        s.view.aggregate = arg(line, 1) == "on";
    } else if (c == "click") {
        s.view.query_x = std::clamp(to_float(line, 1), 0.0f, 0.999f);
        s.view.query_y = std::clamp(to_float(line, 2), 0.0f, 0.999f);
        s.view.self = true;
    } else if (c == "quantity") {
        s.view.quantity = choose<Quantity>(arg(line, 1), "quantity",
                                           std::array<const char*, 3>{"probability", "score", "entropy"});
    } else if (c == "batch") {
        s.view.half =
            choose<GuidanceHalf>(arg(line, 1), "batch", std::array<const char*, 3>{"cond", "uncond", "diff"});
    } else if (c == "colormap") {
        const auto c = parse_colormap(arg(line, 1));
        if (!c) throw std::invalid_argument("unknown colormap (viridis, magma, jet, gray)");
        s.display.colormap = *c;
    } else if (c == "opacity") {
        s.opacity = std::clamp(to_float(line, 1), 0.0f, 1.0f);
    } else if (c == "normalize") {
        const auto& n = arg(line, 1);
        s.display.normalization = n == "global"  ? Normalization::Global
                                  : n == "fixed" ? Normalization::Fixed
                                                 : Normalization::PerMap;
        if (s.display.normalization == Normalization::Fixed) {
            s.display.fixed_lo = to_float(line, 2);
            s.display.fixed_hi = to_float(line, 3);
        }
    } else if (c == "compare") {
        s.compare.backend = arg(line, 1);
        s.compare.dtype = line.words.size() > 2 && line.words[2] != "as-a" ? line.words[2] : "";
        const auto mode = line.words.size() > 3 ? line.words[3] : "same-inputs";
        if (mode != "same-inputs" && mode != "free") throw std::invalid_argument("mode: same-inputs or free");
        s.compare.same_inputs = mode == "same-inputs";
        s.compare.from_step = line.words.size() > 4 ? to_int(line, 4) - 1 : 0;
        w.compare(s.compare);
        s.show_tab = CentreTab::Compare;
    } else if (c == "edit") {
        if (arg(line, 1) == "clear")
            s.edits.clear();
        else
            s.edits.push_back(arg(line, 1));
    } else if (c == "branch") {
        w.branch(to_int(line, 1) - 1, s.edits);
        s.view.branch = -1;
        s.show_tab = CentreTab::Branches;
    } else if (c == "select-branch") {
        s.view.branch = arg(line, 1) == "latest" ? -1 : to_int(line, 1);
    } else if (c == "drop-branch") {
        w.drop_branch(to_int(line, 1));
    } else if (c == "tab") {
        s.show_tab = choose<CentreTab>(
            arg(line, 1), "tab",
            std::array<const char*, 6>{"image", "guidance", "compare", "branches", "mass", "int8"});
    } else if (c == "screenshot") {
        screenshot_ = arg(line, 1);
    } else if (c == "export-map") {
        try {
            export_map(s, ui.colormaps, arg(line, 1));
        } catch (const std::runtime_error& e) {
            fail(line, e.what());
        }
    } else if (c == "expect-error") {
        if (s.snap.error.find(arg(line, 1)) == std::string::npos)
            fail(line, "expected an error containing '" + arg(line, 1) + "', got '" + s.snap.error + "'");
        acknowledged_ = s.snap.error;
    } else if (c == "wait-frames") {
        wait_frames_ = to_int(line, 1);
    } else if (c == "frame-rate") {
        frame_rate_ = to_float(line, 1);
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
    std::ofstream out(arg(line, 1));
    out << stats.dump(2) << "\n";
    if (!out) fail(line, arg(line, 1) + ": cannot write");
}

} // namespace attnscope::gui
