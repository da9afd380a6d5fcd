#pragma once
// Records the tensor shapes of every attention call of a forward pass: the live version of the
// seed's shape table, for the CLI, the teaching panel and the tests.
#include "../util/shape_string.h"
#include "attention_site.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace attnscope {

struct SiteShapes {
    AttentionSite site;
    std::vector<int64_t> q, k, v, p;
    bool p_materialized = false; // false: P's shape is implied by Q and K, the backend never built it
};

class ShapeRecorder final : public AttentionObserver {
  public:
    explicit ShapeRecorder(bool want_probs = true) : want_probs_(want_probs) {}
    void on_attention(const AttentionSite& site, const AttentionTensors& t) override;
    bool wants_probs() const override { return want_probs_; }

    // Ordered by index, self before cross.
    std::vector<SiteShapes> shapes() const;
    std::vector<SiteShapes> shapes(AttentionKind kind) const;
    void clear() { shapes_.clear(); }

  private:
    bool want_probs_;
    std::map<std::pair<int, AttentionKind>, SiteShapes> shapes_;
};

// The seed's table layout: Index | Query | Key | Value | Attention Probability, one table per kind.
std::string format_shape_table(const std::vector<SiteShapes>& shapes, AttentionKind kind);

} // namespace attnscope
