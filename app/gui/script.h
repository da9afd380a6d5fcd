#pragma once
// The scripted mode the tests drive the real program with: one command a line, each run once the worker
// is idle and the views show its results.
//
//   load PATH                 prompt "TEXT"        negative "TEXT"      seed N      steps N
//   random-caption            example N            (the prompt box's buttons: the next random caption, the
//                                                   examples menu's N-th, of a model that declares a grammar)
//   cfg X                     scheduler NAME       size WxH             backend NAME
//   start-image FILE [STRENGTH] | none  (the next session starts from the picture: image-to-image)
//   read-image FILE [T,T,...]  (the next session reads the picture: attention on it, maps over every run)
//   tf32 on|off               (fp32 on CUDA in TF32, as the model panel's checkbox)
//   session                   (a new session with the settings above)
//   step [N]   play   run     rewind K (back to before step K, 1-based)  decode-full
//   select-step K|latest      select-steps A B|latest (maps average steps A..B, 1-based)
//   select-token P [P...] (positions, 0 = start)   select-index N    select-head N|mean|max
//   mode self|cross           aggregate on|off     click X Y (image fractions)
//   quantity probability|score|entropy              batch cond|uncond|diff (the guidance half)
//   colormap NAME             opacity X            normalize per-map|global|fixed [LO HI]
//   compare BACKEND [DTYPE|as-a] [same-inputs|free]   (B against the session's settings; shows Compare)
//   compare-lora FILE [SCALE]|none   compare-model PATH|none   (B's model for the next compare: A's with a
//                             LoRA, or a checkpoint of the same layout; free running)
//   lora FILE [SCALE]         lora-clear           (the LoRAs the next load applies)
//   lora-scale N S            (the loaded N-th LoRA's scale, from the next step on)
//   lora-sweep N [SCALES] [TO]   (the loaded N-th LoRA swept from 0 to TO over the selected tokens; shows
//                             the sweep tab)       export-sweep PATH    (its strip as PNG, with PATH.json)
//   edit SPEC|clear           (the next branch's edits, attnscope edit's --edit grammar)
//   branch K                  (re-run from step K with the edits; shows Branches)
//   select-branch ID|latest   drop-branch ID
//   tab image|guidance|compare|branches|mass|int8|walk|tour|sweep
//                             (int8 inspects the selected index at the shown step, on the worker)
//   screenshot PATH           export-map PATH      expect-error TEXT    wait-frames N      quit
//   frame-rate HZ             (pace every frame at this rate, as the interactive window does at 60)
//   frame-stats PATH          (JSON: how long frames took since the last frame-stats, and the steps' times)
//
// '#' starts a comment. Lines are checked as the script is read (script_parse.h). A worker error that no
// expect-error names ends the script with exit code 1.
#include "frame_clock.h"
#include "script_parse.h"
#include "ui.h"

#include <optional>
#include <string>
#include <vector>

namespace attnscope::gui {

class ScriptRunner {
  public:
    // `surface` says where frames are drawn, for frame-stats.
    ScriptRunner(std::string name, std::vector<ScriptLine> lines, FrameClock& clock, std::string surface);

    // Once a frame, before the panels are drawn. Returns the exit code when the script has ended.
    std::optional<int> tick(Ui& ui);
    // Where this frame's picture is to be saved, once rendered.
    std::optional<std::string> take_screenshot();
    // The frame period: by default none while the worker is idle (scripts go as fast as it allows) and 1/10
    // s while it works (leaving a CPU-only machine's cores to the model); after frame-rate, always the
    // interval of that rate, like the interactive window's 60 fps.
    double frame_period(bool busy) const;

  private:
    bool settled(Ui& ui);
    void run(Ui& ui, const ScriptLine& line);
    void write_frame_stats(const Ui& ui, const ScriptLine& line);
    [[noreturn]] void fail(const ScriptLine& line, const std::string& what) const;

    std::string name_;
    std::vector<ScriptLine> lines_;
    FrameClock& clock_;
    std::string surface_;
    double frame_rate_ = 0; // 0: not set
    size_t steps_seen_ = 0; // the session's steps before the last frame-stats
    size_t next_ = 0;
    int idle_frames_ = 0;
    int wait_frames_ = 0;
    double waiting_since_ = -1; // when the worker's task or progress last changed
    std::string last_task_;
    float last_progress_ = 0;
    std::optional<std::string> screenshot_;
    std::string acknowledged_; // the worker error an expect-error accepted
    bool quit_ = false;
};

} // namespace attnscope::gui
