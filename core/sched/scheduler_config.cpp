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

std::optional<TimestepSpacing> scheduler_spacing_from_json(const std::string& json_text,
                                                           const std::string& label) {
    const auto j = parse_json_object(json_text, label);
    if (!j.contains("timestep_spacing") || j["timestep_spacing"].is_null()) return std::nullopt;
    const auto& spacing = j["timestep_spacing"];
    const std::string name = spacing.is_string() ? spacing.get<std::string>() : spacing.dump();
    if (name == "leading") return TimestepSpacing::Leading;
    if (name == "trailing") return TimestepSpacing::Trailing;
    if (name == "linspace") return TimestepSpacing::ClassDefault;
    throw std::runtime_error(label + ": unknown \"timestep_spacing\" " + name +
                             " (known: leading, trailing, linspace)");
}

} // namespace attnscope
