#pragma once
// What the commands that run a generation (generate, compare, edit) share: the model and how it is loaded,
// the prompt and the sampling settings, and how they write their text files.
#include "command_line.h"
#include "session/pipeline.h"
#include "session/session.h"
#include "util/progress.h"

#include <memory>
#include <string>

namespace attnscope::cli {

// --model --preset --device --tf32 --tokenizer --vae --taesd --lora --prediction --config --heads: what
// pipeline_options() and load_generation_pipeline() read.
void add_pipeline_options(CommandLine& args);
// --prompt --out --negative --steps --cfg --seed --scheduler --size --init-image --strength and the model
// options.
void add_generation_options(CommandLine& args);

// Throws UsageError unless --prompt and --out are there and not both --model and --preset.
void require_generation_args(const CommandLine& args);
// Throws UsageError for a bad --seed or --cfg, std::invalid_argument for an unknown scheduler.
GenerationSettings generation_settings(const CommandLine& args);
at::ScalarType default_dtype(at::Device device); // f16 on a GPU, f32 on the CPU
// --dtype of generate and edit (compare's sides carry their own), default_dtype() when not given.
void add_dtype_option(CommandLine& args);
at::ScalarType generation_dtype(const CommandLine& args, at::Device device);
// "FILE:SCALE" when what follows the last ':' is a number, else the whole text is the file (scale 1).
LoraChoice parse_lora_choice(const std::string& text);
PipelineOptions pipeline_options(const CommandLine& args, at::Device device, at::ScalarType dtype);
// --preset's random weights, else --model (the embedded model when neither is given).
std::shared_ptr<const Pipeline> load_generation_pipeline(const CommandLine& args,
                                                         const PipelineOptions& options, uint64_t seed,
                                                         const ProgressFn& progress);

// A warning on stderr for each prompt that lost tokens past CLIP's 77.
void warn_if_truncated(const Session& session, const std::string& command);
// A warning on stderr for each word of the prompts that a model declaring its prompts does not know
// (core/text/prompt_guide.h; the embedded model), once per word. The run goes on: the word still reaches the
// model, as letters it has hardly seen.
void warn_unknown_words(const Session& session, const std::string& command);
// Through a temporary file and a rename, like every output.
void write_text(const std::string& path, const std::string& text);

} // namespace attnscope::cli
