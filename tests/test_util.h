#pragma once
#include "attention/attention_site.h"

#include <ATen/ATen.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ftw.h>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <sys/wait.h>

namespace attnscope::test {

// Removes a folder with everything in it. nftw rather than std::filesystem::remove_all: PyTorch's libtorch.so
// exports a broken copy of the latter that the dynamic linker may bind to (seen with PyTorch 2.11: a call
// through a null pointer).
inline void remove_tree(const std::filesystem::path& path) {
    ::nftw(
        path.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
        FTW_DEPTH | FTW_PHYS);
}

// A fresh folder under the system temp dir, removed with everything in it.
class TempDir {
  public:
    TempDir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() /
                ("attnscope-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { remove_tree(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ||a - b|| / ||b|| computed in float64.
inline double rel_l2(const at::Tensor& a, const at::Tensor& b) {
    const auto x = a.to(at::kCPU, at::kDouble), y = b.to(at::kCPU, at::kDouble);
    return (x - y).norm().item<double>() / y.norm().item<double>();
}

// A site description for attention calls made directly in tests: q and k are (B, heads, S, d), the queries
// one row of Sq pixels.
inline AttentionSite site_for(int index, AttentionKind kind, const at::Tensor& q, const at::Tensor& k) {
    AttentionSite s;
    s.index = index;
    s.kind = kind;
    s.batch = q.size(0);
    s.heads = static_cast<int>(q.size(1));
    s.head_dim = static_cast<int>(q.size(3));
    s.seq_q = q.size(2);
    s.seq_k = k.size(2);
    s.height = 1;
    s.width = static_cast<int>(q.size(2));
    return s;
}

// While it lives, fp32 on CUDA is IEEE fp32: TF32 convolutions and matmuls (a speed default) are turned off.
class NoTf32 {
  public:
    NoTf32() : conv_(at::globalContext().allowTF32CuDNN()), mm_(at::globalContext().allowTF32CuBLAS()) {
        at::globalContext().setAllowTF32CuDNN(false);
        at::globalContext().setAllowTF32CuBLAS(false);
    }
    ~NoTf32() {
        at::globalContext().setAllowTF32CuDNN(conv_);
        at::globalContext().setAllowTF32CuBLAS(mm_);
    }
    NoTf32(const NoTf32&) = delete;
    NoTf32& operator=(const NoTf32&) = delete;

  private:
    bool conv_, mm_;
};

inline bool has_cuda() {
    return at::hasCUDA();
}

struct CliResult {
    int rc;
    std::string output; // stdout and stderr together
};

#ifdef ATTNSCOPE_CLI
// Runs the attnscope binary with `args` (already shell-quoted as needed).
inline CliResult run_cli(const std::string& args) {
    const std::string cmd = std::string(ATTNSCOPE_CLI) + " " + args + " 2>&1";
    CliResult r{-1, {}};
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
    const int status = ::pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}
#endif

} // namespace attnscope::test

#define ATTNSCOPE_EXPECT_THROW_WITH(stmt, type, substring)                                                   \
    try {                                                                                                    \
        stmt;                                                                                                \
        ADD_FAILURE() << "expected " #type " containing '" << (substring) << "'";                            \
    } catch (const type& e) {                                                                                \
        EXPECT_NE(std::string(e.what()).find(substring), std::string::npos)                                  \
            << "message: " << e.what() << "\nexpected to contain: " << (substring);                          \
    }
