#pragma once
// How LoRA files name what they change, without LibTorch (the fuzzer reaches it on its own): a key is split
// into the model it is for, the layer and the part (down, up, alpha), and kohya-ss's flat layer names
// ("down_blocks_0_attentions_0_proj_in") are matched to the model's dotted ones. See model/lora.h.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

enum class LoraModel { UNet, TextEncoder };
enum class LoraPart { Down, Up, Alpha };

struct LoraKey {
    LoraModel model = LoraModel::UNet;
    std::string layer; // kohya: flat ("mid_block_attentions_0_proj_in"); diffusers/PEFT: dotted
    bool flat = false;
    LoraPart part = LoraPart::Down;
};

// kohya-ss: lora_unet_ / lora_te_ / lora_te1_ + flat layer + .lora_down.weight / .lora_up.weight / .alpha;
// diffusers/PEFT: [base_model.model.] unet. / text_encoder. + layer + .lora_A.weight / .lora_B.weight /
// .alpha. Anything else (another method such as LoHa, SDXL's lora_te2_, a checkpoint's own keys): nullopt.
std::optional<LoraKey> parse_lora_key(std::string key);

// A model's layers by their kohya-ss flat names, from its weight keys ("<layer>.weight").
class LayerNames {
  public:
    explicit LayerNames(const std::vector<std::string>& weight_keys);
    // The dotted layer the key names (flat or not), when the model has it.
    std::optional<std::string> find(const LoraKey& key) const;

  private:
    std::map<std::string, std::string> by_flat_; // flat -> dotted
};

} // namespace attnscope
