#include "backend_timings.h"

#include "io/json_text.h"
#include "io/mapped_file.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace attnscope {

std::string TimedShape::key() const {
    std::ostringstream s;
    s << dtype << " " << rows << "x" << seq_q << "x" << seq_k << "x" << head_dim << (upcast ? " upcast" : "");
    return s.str();
}

BackendTimings::BackendTimings(std::filesystem::path cache_file) : file_(std::move(cache_file)) {}

void BackendTimings::load() {
    loaded_ = true;
    if (file_.empty() || !std::filesystem::exists(file_)) return;
    try {
        std::ifstream in(file_);
        std::stringstream text;
        text << in.rdbuf();
        const auto j = parse_json_object(text.str(), file_.string());
        for (const auto& [device, shapes] : j.items())
            for (const auto& [shape, times] : shapes.items())
                for (const auto& [backend, ms] : times.items()) {
                    const double v = ms.get<double>();
                    if (std::isfinite(v) && v > 0) ms_[device][shape][backend] = v;
                }
    } catch (const std::exception& e) {
        // A cache is a convenience: measure again rather than refuse to run.
        ms_.clear();
        std::cerr << "attnscope: ignoring the attention timing cache (" << e.what() << "); timing anew\n";
    }
}

void BackendTimings::save() const {
    if (file_.empty()) return;
    try {
        std::filesystem::create_directories(file_.parent_path());
        const std::string text = nlohmann::json(ms_).dump(1) + "\n";
        AtomicFileWriter out(file_.string());
        out.write(text.data(), text.size());
        out.commit();
    } catch (const std::exception& e) {
        std::cerr << "attnscope: cannot write the attention timing cache: " << e.what() << "\n";
    }
}

BackendChoice BackendTimings::fastest(const TimedShape& shape, const std::vector<std::string>& candidates,
                                      const std::function<double(const std::string&)>& measure) {
    if (candidates.empty()) throw std::invalid_argument("no attention backend to choose from");
    const std::lock_guard<std::mutex> lock(mutex_);
    if (!loaded_) load();
    auto& known = ms_[shape.device][shape.key()];
    bool measured = false;
    for (const auto& name : candidates)
        if (!known.count(name)) {
            known[name] = measure(name);
            measured = true;
        }
    if (measured) save();
    BackendChoice choice{candidates.front(), "measured:"};
    for (const auto& name : candidates) {
        if (known.at(name) < known.at(choice.backend)) choice.backend = name;
        char ms[32];
        std::snprintf(ms, sizeof ms, " %.4g ms", known.at(name));
        choice.why += (name == candidates.front() ? " " : ", ") + name + ms;
    }
    return choice;
}

std::filesystem::path BackendTimings::default_cache_file() {
    const auto env = [](const char* name) -> std::string {
        const char* v = std::getenv(name);
        return v && *v ? v : "";
    };
    std::filesystem::path dir;
    if (const auto own = env("ATTNSCOPE_CACHE"); !own.empty())
        dir = own;
    else if (const auto xdg = env("XDG_CACHE_HOME"); !xdg.empty())
        dir = std::filesystem::path(xdg) / "attnscope";
    else if (const auto home = env("HOME"); !home.empty())
        dir = std::filesystem::path(home) / ".cache" / "attnscope";
    else
        return {};
    return dir / "backend-timings.json";
}

BackendTimings& BackendTimings::shared() {
    static BackendTimings timings(default_cache_file());
    return timings;
}

} // namespace attnscope
