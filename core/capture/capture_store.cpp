#include "capture_store.h"

#include "gpu_info.h"

#include <algorithm>
#include <map>
#include <set>
#include <unistd.h>

namespace attnscope {
namespace {

int64_t nbytes(const at::Tensor& t) {
    return t.defined() ? t.numel() * static_cast<int64_t>(t.element_size()) : 0;
}

// The tensor itself when it is contiguous and owns its memory (nothing to copy); a compact copy when it is
// a view into something larger, which keeping would pin, when its memory is a replayed graph's, or when it
// is a strided view (the model's per-head Q and K are: the maps read them contiguous).
at::Tensor kept(const at::Tensor& t, bool transient) {
    const bool whole = t.is_contiguous() && t.storage_offset() == 0 &&
                       static_cast<int64_t>(t.storage().nbytes()) == nbytes(t);
    if (whole && !transient) return t;
    return t.is_contiguous() ? t.clone() : t.contiguous(); // contiguous() of a strided view is already a copy
}

std::string megabytes(int64_t b) {
    return std::to_string((b + (1 << 19)) >> 20) + " MiB";
}

} // namespace

int64_t CapturedSite::bytes() const {
    return nbytes(q) + nbytes(k) + nbytes(lse) + nbytes(probs) + nbytes(v);
}

int64_t default_capture_budget(at::Device device) {
    if (device.is_cuda()) {
        const auto info = query_gpus();
        const auto index = static_cast<std::size_t>(std::max<int>(0, device.index()));
        if (index < info.devices.size()) return static_cast<int64_t>(info.devices[index].free_bytes / 2);
    }
    return static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGE_SIZE) / 4;
}

at::Tensor row_logsumexp(const at::Tensor& q, const at::Tensor& k, double scale) {
    const auto wide = q.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    const auto kt = k.to(wide).transpose(-1, -2);
    // About 64 Mi scores per block.
    const int64_t rows =
        std::max<int64_t>(1, (int64_t{1} << 26) / std::max<int64_t>(1, q.size(0) * k.size(1)));
    std::vector<at::Tensor> parts;
    for (int64_t r = 0; r < q.size(1); r += rows)
        parts.push_back(at::logsumexp(
            at::matmul(q.narrow(1, r, std::min(rows, q.size(1) - r)).to(wide), kt) * scale, -1));
    return at::cat(parts, 1).to(at::kFloat);
}

CaptureStore::CaptureStore(CapturePolicy policy) : policy_(policy) {}

bool CaptureStore::wanted(const AttentionSite& site) const {
    return site.kind == AttentionKind::Self ? policy_.self_attention : policy_.cross_attention;
}

void CaptureStore::on_attention(const AttentionSite& site, const AttentionTensors& t) {
    if (wanted(site)) keep(site, t, [&](const at::Tensor& x) { return kept(x, t.transient); });
}

void CaptureStore::on_calls_after_the_pass(const std::vector<ObservedCall>& calls) {
    // A buffer is copied whole only where the kept tensors fill it: a copy of more would hold memory the
    // budget does not count.
    std::map<const void*, int64_t> kept_bytes;
    const auto storage = [](const at::Tensor& x) -> const void* {
        return x.storage().unsafeGetStorageImpl();
    };
    for (const auto& [site, t] : calls)
        if (wanted(site))
            for (const auto& x : {t.q, t.k, t.lse, policy_.values ? t.v : at::Tensor()})
                if (x.defined()) kept_bytes[storage(x)] += nbytes(x);
    std::map<const void*, at::Tensor> copies;
    const auto own = [&](const at::Tensor& x) {
        const auto filled = kept_bytes.find(storage(x));
        if (filled == kept_bytes.end() || filled->second != static_cast<int64_t>(x.storage().nbytes()))
            return kept(x, true);
        auto& copy = copies[filled->first];
        if (!copy.defined()) copy = x.as_strided({filled->second / x.element_size()}, {1}, 0).clone();
        return copy.as_strided(x.sizes(), x.strides(), x.storage_offset());
    };
    for (const auto& [site, t] : calls)
        if (wanted(site)) keep(site, t, own);
}

void CaptureStore::keep(const AttentionSite& site, const AttentionTensors& t,
                        const std::function<at::Tensor(const at::Tensor&)>& own) {
    if (policy_.budget_bytes == 0) policy_.budget_bytes = default_capture_budget(t.q.device());
    CapturedSite c;
    c.site = site;
    c.q = own(t.q);
    c.k = own(t.k);
    if (policy_.values) c.v = own(t.v);
    c.lse = t.lse.defined() ? own(t.lse.to(at::kFloat)) : row_logsumexp(t.q, t.k, site.scale());
    if (site.kind == AttentionKind::Cross && policy_.cross_probs)
        c.probs = t.probs.defined()
                      ? own(t.probs.to(t.q.scalar_type()))
                      : at::exp(at::matmul(c.q.to(at::kFloat), c.k.to(at::kFloat).transpose(-1, -2)) *
                                    site.scale() -
                                c.lse.unsqueeze(-1))
                            .to(t.q.scalar_type());
    insert({step_, site.index, site.kind}, std::move(c));
}

void CaptureStore::insert(const CaptureKey& key, CapturedSite site) {
    if (const auto old = entries_.find(key); old != entries_.end()) {
        bytes_ -= old->second.bytes();
        entries_.erase(old);
    }
    bytes_ += site.bytes();
    entries_.emplace(key, std::move(site));
    enforce_budget();
}

void CaptureStore::enforce_budget() {
    // Older steps before the one being captured; within them self-attention before cross-attention (cross
    // maps are what users look at most, and cost a fraction), oldest first.
    const auto rank = [&](const CaptureKey& k) {
        return std::make_tuple(k.step == step_, k.kind == AttentionKind::Cross, k.step, k.index);
    };
    while (bytes_ > policy_.budget_bytes && !entries_.empty()) {
        const auto victim =
            std::min_element(entries_.begin(), entries_.end(),
                             [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
        // Its buffer's other sites go with it (the victim's Q lies in its own buffer, whether shared or not):
        // the memory is freed with the last of them.
        const auto buffer = victim->second.q.storage();
        for (auto it = entries_.begin(); it != entries_.end();) {
            const auto& [key, site] = *it;
            if (!site.q.storage().is_alias_of(buffer)) {
                ++it;
                continue;
            }
            evictions_.push_back("dropped step " + std::to_string(key.step + 1) + " index " +
                                 std::to_string(key.index) + " " + to_string(key.kind) + "-attention (" +
                                 megabytes(site.bytes()) + ") to stay within the capture budget of " +
                                 megabytes(policy_.budget_bytes));
            bytes_ -= site.bytes();
            it = entries_.erase(it);
        }
    }
}

const CapturedSite* CaptureStore::find(int step, int index, AttentionKind kind) const {
    const auto it = entries_.find({step, index, kind});
    return it == entries_.end() ? nullptr : &it->second;
}

std::vector<int> CaptureStore::steps() const {
    std::set<int> s;
    for (const auto& e : entries_) s.insert(e.first.step);
    return {s.begin(), s.end()};
}

void CaptureStore::drop_from(int step) {
    for (auto it = entries_.lower_bound({step, 0, AttentionKind::Self}); it != entries_.end();) {
        bytes_ -= it->second.bytes();
        it = entries_.erase(it);
    }
}

void CaptureStore::clear() {
    entries_.clear();
    bytes_ = 0;
    evictions_.clear();
}

} // namespace attnscope
