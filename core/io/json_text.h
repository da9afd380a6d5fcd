#pragma once
// Config files (config.json and friends) read as JSON objects, with errors that name the file.
#include <nlohmann/json.hpp>
#include <string>

namespace attnscope {

// Throws std::runtime_error "<label>: is not valid JSON: ..." or "<label>: is not a JSON object".
nlohmann::json parse_json_object(const std::string& text, const std::string& label);

// Sets `field` from j[key] when the key is there (configs leave out what keeps its default).
template <typename T> void read_if_present(const nlohmann::json& j, const char* key, T& field) {
    if (j.contains(key)) field = j[key].get<T>();
}

} // namespace attnscope
