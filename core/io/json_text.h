#pragma once
// Config files (config.json and friends) read as JSON objects, with errors that name the file.
#include <nlohmann/json.hpp>
#include <string>

namespace attnscope {

// Throws std::runtime_error "<label>: is not valid JSON: ..." or "<label>: is not a JSON object".
nlohmann::json parse_json_object(const std::string& text, const std::string& label);

} // namespace attnscope
