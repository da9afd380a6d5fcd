#include "json_text.h"

#include <stdexcept>

namespace attnscope {

nlohmann::json parse_json_object(const std::string& text, const std::string& label) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(label + ": is not valid JSON: " + e.what());
    }
    if (!j.is_object()) throw std::runtime_error(label + ": is not a JSON object");
    return j;
}

} // namespace attnscope
