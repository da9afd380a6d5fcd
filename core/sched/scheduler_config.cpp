#include "scheduler_config.h"

#include "io/json_text.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace attnscope {

std::optional<Prediction> scheduler_prediction_from_json(const std::string& json_text,
                                                         const std::string& label) {
    const auto j = parse_json_object(json_text, label);
    if (!j.contains("prediction_type")) return std::nullopt;
    const auto& type = j["prediction_type"];
    if (!type.is_string()) throw std::runtime_error(label + ": \"prediction_type\" must be a string");
    try {
        return parse_prediction(type.get<std::string>());
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(label + ": " + e.what());
    }
}

} // namespace attnscope
