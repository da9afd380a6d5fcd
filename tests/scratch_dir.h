#pragma once
// What the tests without LibTorch (tests/test_util.h needs it) share: a scratch folder and an exception's
// message.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace attnscope {

// The message `f` throws, or "(no exception)".
template <typename F> std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no exception)";
}

// A scratch folder that removes exactly what the test wrote (no remove_all: see tests/test_util.h).
class ScratchDir {
  public:
    ScratchDir() {
        std::random_device rd;
        root_ = std::filesystem::temp_directory_path() /
                ("attnscope-scratch-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(root_);
        made_.push_back(root_);
    }
    ~ScratchDir() {
        std::error_code ec;
        for (auto it = made_.rbegin(); it != made_.rend(); ++it) std::filesystem::remove(*it, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const std::filesystem::path& path() const { return root_; }
    std::filesystem::path write(const std::filesystem::path& relative, const std::string& text) {
        std::filesystem::path dir = root_;
        for (const auto& part : relative.parent_path()) {
            dir /= part;
            if (std::filesystem::create_directory(dir)) made_.push_back(dir);
        }
        const std::filesystem::path p = root_ / relative;
        std::ofstream(p, std::ios::binary) << text;
        made_.push_back(p);
        return p;
    }

  private:
    std::filesystem::path root_;
    std::vector<std::filesystem::path> made_;
};

} // namespace attnscope
