#include "args.h"

namespace attnscope::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
           const std::set<std::string>& flag_options) {
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const auto& a = argv[i];
        if (a.rfind("--", 0) != 0 || a == "--") {
            positional_.push_back(a);
            continue;
        }
        std::string name = a.substr(2), value;
        const auto eq = name.find('=');
        const bool inline_value = eq != std::string::npos;
        if (inline_value) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        if (flag_options.count(name) && !inline_value) {
            flags_.insert(name);
        } else if (value_options.count(name)) {
            if (!inline_value) {
                if (i + 1 >= argv.size()) throw UsageError("option --" + name + " needs a value");
                value = argv[++i];
            }
            values_.emplace_back(name, value);
        } else {
            std::string known;
            for (const auto& o : value_options) known += " --" + o;
            for (const auto& o : flag_options) known += " --" + o;
            throw UsageError("unknown option --" + name + " (known:" + known + ")");
        }
    }
}

std::optional<std::string> Args::get(const std::string& name) const {
    for (auto it = values_.rbegin(); it != values_.rend(); ++it)
        if (it->first == name) return it->second;
    return std::nullopt;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    return get(name).value_or(fallback);
}

std::vector<std::string> Args::get_all(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : values_)
        if (n == name) out.push_back(v);
    return out;
}

int Args::get_int(const std::string& name, int fallback) const {
    const auto v = get(name);
    if (!v) return fallback;
    try {
        std::size_t used = 0;
        const int n = std::stoi(*v, &used);
        if (used == v->size()) return n;
    } catch (const std::exception&) {
    }
    throw UsageError("option --" + name + " expects an integer, got '" + *v + "'");
}

} // namespace attnscope::cli
