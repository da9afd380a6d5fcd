#include "train_state.h"

#include "io/mapped_file.h"
#include "io/safetensors_file.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace attnscope::tiny {
namespace fs = std::filesystem;

namespace {

const char* const kPieces[] = {"master", "ema", "adam_m", "adam_v"};

// One file per piece keeps each under 16 MiB (the device tool's limit on a returned file).
std::string tensor_file(int64_t step, const std::string& piece) {
    char name[96];
    std::snprintf(name, sizeof name, "state-%08lld-%s.safetensors", static_cast<long long>(step),
                  piece.c_str());
    return name;
}

nlohmann::json read_json(const fs::path& p) {
    std::ifstream in(p);
    if (!in) throw std::runtime_error(p.string() + ": cannot be read");
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(p.string() + ": is not valid JSON: " + e.what());
    }
}

} // namespace

TrainState::TrainState(at::Tensor initial, at::Tensor decay_mask)
    : master_(std::move(initial)), ema_(master_.clone()), m_(at::zeros_like(master_)),
      v_(at::zeros_like(master_)), decay_mask_(decay_mask.to(master_.device())) {}

void TrainState::adamw_step(const at::Tensor& grad, double lr, const AdamWOptions& o) {
    ++step_;
    m_.mul_(o.beta1).add_(grad, 1 - o.beta1);
    v_.mul_(o.beta2).addcmul_(grad, grad, 1 - o.beta2);
    const double c1 = 1 - std::pow(o.beta1, static_cast<double>(step_));
    const double c2 = 1 - std::pow(o.beta2, static_cast<double>(step_));
    // Decoupled weight decay, on matrices and kernels only.
    master_.addcmul_(master_, decay_mask_, -lr * o.weight_decay);
    const auto denom = (v_ / c2).sqrt_().add_(o.eps);
    master_.addcdiv_(m_, denom, -lr / c1);
}

void TrainState::update_ema(double decay) {
    ema_.mul_(decay).add_(master_, 1 - decay);
}

void TrainState::save(const std::string& dir, const nlohmann::json& info) const {
    fs::create_directories(dir);
    const std::map<std::string, at::Tensor> pieces = {{"master", master_},
                                                      {"ema", ema_.to(at::kHalf)},
                                                      {"adam_m", m_.to(at::kBFloat16)},
                                                      {"adam_v", v_.to(at::kBFloat16)}};
    nlohmann::json j = info;
    std::set<std::string> files;
    for (const auto& [piece, tensor] : pieces) {
        const auto file = tensor_file(step_, piece);
        write_safetensors((fs::path(dir) / file).string(), {{piece, tensor}});
        j["tensors"][piece] = file;
        files.insert(file);
    }
    j["step"] = step_;
    j["parameters"] = master_.numel();
    const std::string text = j.dump(2) + "\n";
    {
        AtomicFileWriter out((fs::path(dir) / "state.json").string());
        out.write(text.data(), text.size());
        out.commit();
    }
    // Only now is the new state the checkpoint: earlier tensor files can go.
    for (const auto& e : fs::directory_iterator(dir)) {
        const auto name = e.path().filename().string();
        if (name.rfind("state-", 0) == 0 && !files.count(name)) fs::remove(e.path());
    }
}

bool TrainState::exists(const std::string& dir) {
    return fs::is_regular_file(fs::path(dir) / "state.json");
}

nlohmann::json TrainState::load(const std::string& dir) {
    const auto state_path = fs::path(dir) / "state.json";
    try {
        return load_from(dir, read_json(state_path), false);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(state_path.string() + ": " + e.what());
    }
}

nlohmann::json TrainState::load_weights(const std::string& dir) {
    const auto state_path = fs::path(dir) / "state.json";
    try {
        return load_from(dir, read_json(state_path), true);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(state_path.string() + ": " + e.what());
    }
}

void TrainState::start_from(const at::Tensor& weights) {
    if (weights.numel() != master_.numel())
        throw std::invalid_argument("the starting weights have " + std::to_string(weights.numel()) +
                                    " values, the model " + std::to_string(master_.numel()));
    master_ = weights.to(master_.options()).clone();
    ema_ = master_.clone();
    restart_optimizer();
}

void TrainState::restart_optimizer() {
    m_.zero_(), v_.zero_();
    step_ = 0;
}

nlohmann::json TrainState::load_from(const std::string& dir, const nlohmann::json& j, bool weights_only) {
    std::map<std::string, at::Tensor> loaded;
    for (const char* piece : kPieces) {
        if (weights_only && std::string(piece).rfind("adam_", 0) == 0) continue;
        const auto path = (fs::path(dir) / j.at("tensors").at(piece).get<std::string>()).string();
        const SafetensorsFile f(path);
        const auto* e = f.header().find(piece);
        if (!e || e->shape != std::vector<int64_t>{master_.numel()})
            throw std::runtime_error(path + ": tensor '" + piece + "' is missing or not " +
                                     std::to_string(master_.numel()) +
                                     " values (a checkpoint of another model config?)");
        loaded[piece] = f.load(piece, at::kFloat, master_.device());
    }
    master_ = loaded["master"];
    ema_ = loaded["ema"];
    if (weights_only) {
        restart_optimizer();
    } else {
        m_ = loaded["adam_m"];
        v_ = loaded["adam_v"];
        step_ = j.at("step").get<int64_t>();
    }
    return j;
}

} // namespace attnscope::tiny
