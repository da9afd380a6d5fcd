#pragma once
// Config files (config.json and friends) read as JSON objects, with errors that name the file.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace attnscope {

// The whole file, for the config readers that take text; std::runtime_error "<path>: cannot be read".
std::string read_config_text(const std::filesystem::path& path);

// Throws std::runtime_error "<label>: is not valid JSON: ..." or "<label>: is not a JSON object".
nlohmann::json parse_json_object(const std::string& text, const std::string& label);

// A whole number that fits an int, else std::invalid_argument "<what> must be a whole number that fits an
// int, not <v>": nlohmann's get<int> of 1e300 is undefined behaviour (UBSan under fuzz_unet_config) and of
// 2^40 wraps.
int whole_int(const nlohmann::json& v, const std::string& what);
std::vector<int> whole_ints(const nlohmann::json& v, const std::string& what); // a list of them

// Runs `read` (a reader's field reads and checks) so that what escapes it names the file: nlohmann's type
// errors as "<label>: has a field of the wrong type: ...", std::invalid_argument (a failed validate()) as
// "<label>: <message>", both std::runtime_error.
template <typename F> void read_fields(const std::string& label, F&& read) {
    try {
        read();
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(label + ": has a field of the wrong type: " + e.what());
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(label + ": " + e.what());
    }
}

// Sets `field` from j[key] when the key is there (configs leave out what keeps its default).
template <typename T> void read_if_present(const nlohmann::json& j, const char* key, T& field) {
    if (!j.contains(key)) return;
    if constexpr (std::is_same_v<T, int>)
        field = whole_int(j[key], std::string("\"") + key + "\"");
    else
        field = j[key].get<T>();
}

} // namespace attnscope
