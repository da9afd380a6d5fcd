#pragma once
// The thread that owns the model, the session and its capture. The UI thread only queues commands and reads
// copies of the results, so LibTorch never runs on it and the window stays responsive while the model runs.
#include "view_data.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attnscope::gui {

struct WorkerOptions {
    std::string device; // "cpu", "cuda", "cuda:N"; empty: cuda where LibTorch sees a GPU, else cpu
    std::string dtype;  // f32, f16, bf16, f64; empty: f16 on CUDA, f32 on the CPU
};

class Worker {
  public:
    explicit Worker(const WorkerOptions& options);
    ~Worker(); // cancels what runs and joins the thread
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Commands run in order on the worker thread. A failure is reported in the snapshot's `error` and
    // leaves the previous model and session in place.
    // Loads the model with `loras` applied (unmerged), then starts a session.
    void load(const std::string& path, const std::vector<LoraChoice>& loras, const RunSettings& settings);
    void start_session(const RunSettings& settings); // on the loaded model, from step 0
    void step();
    void play();                // steps to the end, refreshing the preview and maps after every step
    void run_to_end();          // steps to the end, refreshing them at the end only
    void rewind(int step);      // back to just before `step`; its capture and later ones are dropped
    void decode_full(int step); // the VAE's decoding of that step's x0 (-1: the current latents)
    void set_site_backend(int index, bool self, const std::string& name);
    // Runs the session's settings anew from step 0 on A (the session's backends and dtype) and on `b` in
    // lockstep, both captured, and keeps the result: the maps then include P_A, P_B and their difference and
    // the divergence grids, the images A and B. The session itself is left as it is. A comparison replaces
    // the previous one once it has run to the end; a new session drops it.
    void compare(const CompareChoice& b);
    void drop_comparison();
    // Runs the session to its end if it is not there, then a branch of it from just before `from_step` with
    // `edits` (attnscope edit's --edit grammar, words of the prompt looked up), kept until dropped or a new
    // session starts.
    void branch(int from_step, const std::vector<std::string>& edits);
    void drop_branch(int id);
    // Emulates the int8 kernel's quantization on the captured Q and K of one call (attnscope inspect-int8):
    // the result replaces the previous inspection. A key whose capture_version is not the current one, or a
    // call not captured, is an error.
    void inspect_int8(const Int8Key& call);
    // Takes the call's query apart stage by stage (walk_run.h): the captured Q, K and LSE, V and the hidden
    // state from replaying the step. The result replaces the previous walk-through; a key whose capture
    // version is not the current one, or a call not captured, is an error.
    void walk(const WalkKey& key);
    // Runs the session's settings anew with the loaded model's LoRA number `lora` (0-based) at `scales`
    // evenly from 0 to `last`, following `tokens` (prompt positions); the result replaces the previous sweep.
    // The LoRA's scale is put back afterwards; the session is left as it is.
    void sweep_lora(size_t lora, int scales, double last, const std::vector<int64_t>& tokens);
    // Stops the running command at its next step (or a load at its next progress report) and drops the
    // queued ones.
    void cancel();

    // The views to keep up to date; recomputed between commands and between the steps of play().
    void request_view(const ViewRequest& view);
    // Whether a CUDA session's maps stay in CUDA memory (the UI writes them into GL textures by CUDA-GL
    // interop) instead of coming to the host; the main map comes to the host either way. Off by default.
    void set_device_maps(bool on);
    // Whether fp32 convolutions and matmuls on CUDA may run in TF32 (off: IEEE fp32), from the next command
    // on.
    void set_tf32(bool on);

    WorkerSnapshot snapshot() const;
    // The latest results when newer than `version` (which is updated).
    bool take_maps(MapResults& out, uint64_t& version) const;
    bool take_preview(RgbImage& out, uint64_t& version) const;
    bool take_images(PairImages& out, uint64_t& version) const;
    bool take_int8(Int8View& out, uint64_t& version) const;
    bool take_walk(WalkView& out, uint64_t& version) const;
    bool take_sweep(std::shared_ptr<const SweepView>& out, uint64_t& version) const;
    // Nothing queued or running and every view computed for the last request (scripts wait for this).
    bool idle() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace attnscope::gui
