#include "json_text.h"

#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace attnscope {

std::string read_config_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path.string() + ": cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

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

int whole_int(const nlohmann::json& v, const std::string& what) {
    constexpr int64_t lo = std::numeric_limits<int>::min(), hi = std::numeric_limits<int>::max();
    // JSON reads 0 and up as unsigned: compare in the type it holds.
    const bool fits = v.is_number_unsigned()  ? v.get<uint64_t>() <= static_cast<uint64_t>(hi)
                      : v.is_number_integer() ? v.get<int64_t>() >= lo && v.get<int64_t>() <= hi
                                              : false;
    if (!fits)
        throw std::invalid_argument(what + " must be a whole number that fits an int, not " + v.dump());
    return v.get<int>();
}

std::vector<int> whole_ints(const nlohmann::json& v, const std::string& what) {
    if (!v.is_array())
        throw std::invalid_argument(what + " must be a list of whole numbers, not " + v.dump());
    std::vector<int> out;
    for (const auto& x : v) out.push_back(whole_int(x, what));
    return out;
}

} // namespace attnscope
