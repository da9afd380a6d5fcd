#pragma once
#include <string>
#include <vector>

namespace attnscope::cli {

// Each returns the process exit code; errors are thrown and reported by main.
int cmd_info(const std::vector<std::string>& args);
int cmd_shapes(const std::vector<std::string>& args);
int cmd_unet(const std::vector<std::string>& args);
int cmd_schedule(const std::vector<std::string>& args);
int cmd_tokenize(const std::vector<std::string>& args);
int cmd_text(const std::vector<std::string>& args);
int cmd_generate(const std::vector<std::string>& args);
int cmd_image_maps(const std::vector<std::string>& args);
int cmd_lora_sweep(const std::vector<std::string>& args);
int cmd_compare(const std::vector<std::string>& args);
int cmd_edit(const std::vector<std::string>& args);
int cmd_maps(const std::vector<std::string>& args);
int cmd_inspect_int8(const std::vector<std::string>& args);
int cmd_walkthrough(const std::vector<std::string>& args);

} // namespace attnscope::cli
