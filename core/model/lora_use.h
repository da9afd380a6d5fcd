#pragma once
// Which LoRAs a model loads and how strongly it runs them, without LibTorch: the pipeline takes and keeps
// these, and the visualizer's UI thread reads and sets them. The files themselves: model/lora.h.
#include <atomic>
#include <memory>
#include <string>

namespace attnscope {

// A LoRA file to apply and its strength (1: as trained; 0: off; negative: away from it).
struct LoraChoice {
    std::string path;
    double scale = 1;
};

// A LoRA a model runs with: its layers stay apart from the weights, so `scale` may change between steps (it
// is read at every forward pass).
struct LoraInUse {
    std::string path;
    int layers = 0;
    std::shared_ptr<std::atomic<double>> scale;
};

} // namespace attnscope
