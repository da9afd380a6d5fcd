// Our flash kernel alone: no LibTorch, so it builds in a minute with nvcc and runs under ncu. Times one
// shape (median of CUDA-event-timed calls over rotating inputs, as bench_attention) and checks sampled
// rows of O and the LSE against float64 on the host, so that a kernel experiment is judged on speed and
// error in one run.
//   bench_flash_kernel B*H SQ SK D [f16|bf16] [iters]
// Build (tools/kernel-check.sh): nvcc -std=c++17 -O3 -arch=sm_90a -I kernels bench/bench_flash_kernel.cu
//   kernels/flash_attention.cu kernels/flash_attention_sm90.cu kernels/attention_args.cpp kernels/gpu_info.cu
#include "attention_kernels.h"
#include "cuda_event_timing.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace attnscope::kernels;

using attnscope::bench::check_cuda;

struct DeviceFree {
    void operator()(void* p) const { cudaFree(p); }
};
using DeviceBuffer = std::unique_ptr<void, DeviceFree>;

DeviceBuffer device_buffer(size_t bytes) {
    void* p = nullptr;
    check_cuda(cudaMalloc(&p, bytes), "cudaMalloc");
    return DeviceBuffer(p);
}

uint16_t to_bits(float x, bool bf16) {
    return bf16 ? __nv_bfloat16_raw(__float2bfloat16(x)).x : __half_raw(__float2half(x)).x;
}

float from_bits(uint16_t b, bool bf16) {
    if (bf16) {
        __nv_bfloat16_raw r;
        r.x = b;
        return __bfloat162float(__nv_bfloat16(r));
    }
    __half_raw r;
    r.x = b;
    return __half2float(__half(r));
}

} // namespace

int main(int argc, char** argv) try {
    if (argc < 5) {
        std::fprintf(stderr, "usage: bench_flash_kernel B*H SQ SK D [f16|bf16] [iters]\n");
        return 2;
    }
    const int64_t bh = std::atoll(argv[1]), sq = std::atoll(argv[2]), sk = std::atoll(argv[3]);
    const int d = std::atoi(argv[4]);
    const bool bf16 = argc > 5 && std::string(argv[5]) == "bf16";
    const int iters = argc > 6 ? std::atoi(argv[6]) : 30, sets = 4;

    // Host inputs rounded to the element type, so that the float64 reference sees what the kernel sees.
    std::mt19937 gen(1234);
    std::normal_distribution<float> normal;
    const size_t nq = bh * sq * d, nk = bh * sk * d;
    std::vector<std::vector<uint16_t>> hq(sets, std::vector<uint16_t>(nq)),
        hk(sets, std::vector<uint16_t>(nk)), hv(sets, std::vector<uint16_t>(nk));
    for (int s = 0; s < sets; ++s) {
        for (auto& x : hq[s]) x = to_bits(normal(gen), bf16);
        for (auto& x : hk[s]) x = to_bits(normal(gen), bf16);
        for (auto& x : hv[s]) x = to_bits(normal(gen), bf16);
    }
    std::vector<DeviceBuffer> dq, dk, dv;
    for (int s = 0; s < sets; ++s) {
        dq.push_back(device_buffer(nq * 2)), dk.push_back(device_buffer(nk * 2)),
            dv.push_back(device_buffer(nk * 2));
        check_cuda(cudaMemcpy(dq[s].get(), hq[s].data(), nq * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
        check_cuda(cudaMemcpy(dk[s].get(), hk[s].data(), nk * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
        check_cuda(cudaMemcpy(dv[s].get(), hv[s].data(), nk * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
    }
    const DeviceBuffer dout = device_buffer(nq * 2), dlse = device_buffer(bh * sq * sizeof(float));

    AttentionArgs a;
    a.dtype = bf16 ? ElementType::BF16 : ElementType::F16;
    a.o = dout.get();
    a.lse = static_cast<float*>(dlse.get());
    a.q_strides = a.o_strides = {sq * d, d};
    a.k_strides = a.v_strides = {sk * d, d};
    a.batch_heads = bh, a.seq_q = sq, a.seq_k = sk, a.head_dim = d;
    a.scale = static_cast<float>(1.0 / std::sqrt(double(d)));
    const auto call = [&](int s) {
        a.q = dq[s].get(), a.k = dk[s].get(), a.v = dv[s].get();
        flash_attention_forward(a);
    };

    const auto ms = attnscope::bench::timed_calls_ms(iters, [&](int i) { call(i % sets); });
    const double med = ms[iters / 2], flops = 4.0 * bh * sq * sk * d;

    // Set 0 once more, then 64 sampled rows against float64.
    call(0);
    check_cuda(cudaDeviceSynchronize(), "flash_attention_forward");
    std::vector<uint16_t> out(nq);
    std::vector<float> lse(bh * sq);
    check_cuda(cudaMemcpy(out.data(), dout.get(), nq * 2, cudaMemcpyDeviceToHost), "cudaMemcpy");
    check_cuda(cudaMemcpy(lse.data(), dlse.get(), lse.size() * 4, cudaMemcpyDeviceToHost), "cudaMemcpy");
    double err2 = 0, ref2 = 0, lse_err = 0;
    bool finite = true;
    std::vector<double> p(sk);
    for (int n = 0; n < 64; ++n) {
        const int64_t b = gen() % bh, i = gen() % sq;
        const uint16_t* qi = &hq[0][(b * sq + i) * d];
        double mx = -INFINITY;
        for (int64_t j = 0; j < sk; ++j) {
            double dot = 0;
            for (int c = 0; c < d; ++c)
                dot += double(from_bits(qi[c], bf16)) * from_bits(hk[0][(b * sk + j) * d + c], bf16);
            p[j] = dot * a.scale;
            mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (auto& x : p) sum += (x = std::exp(x - mx));
        lse_err = std::max(lse_err, std::abs(double(lse[b * sq + i]) - (mx + std::log(sum))));
        for (int c = 0; c < d; ++c) {
            double ref = 0;
            for (int64_t j = 0; j < sk; ++j) ref += p[j] * from_bits(hv[0][(b * sk + j) * d + c], bf16);
            ref /= sum;
            const double got = from_bits(out[(b * sq + i) * d + c], bf16);
            finite = finite && std::isfinite(got);
            err2 += (got - ref) * (got - ref), ref2 += ref * ref;
        }
    }
    std::printf(
        "%s %lldx%lldx%lldx%d: %.4f ms (%.1f TFLOP/s; min %.4f) | 64 rows vs float64: O rel L2 %.2e, LSE "
        "max abs %.2e%s\n",
        bf16 ? "bf16" : "f16", static_cast<long long>(bh), static_cast<long long>(sq),
        static_cast<long long>(sk), d, med, flops / med * 1e-9, ms[0], std::sqrt(err2 / ref2), lse_err,
        finite ? "" : ", NOT FINITE");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_flash_kernel: %s\n", e.what());
    return 1;
}
