#pragma once
// Whether a generated 64x64 image shows the scene its caption describes, judged without a network:
// every pixel is given the nearest named colour of the palette; the caption's background colour must
// cover most of the image, each phrase's colour must form blobs (as many as the phrase counts), the
// largest blob's outline must match the phrase's shape better than the other shapes (IoU with each
// shape drawn at the blob's centroid with the blob's area), and the two phrases' centroids must stand
// in the caption's relation.
#include "scenes.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnscope::tiny {

struct ImageCheck {
    bool background = false; // the background colour is the most common colour
    bool colors = false;     // every phrase's colour is there
    bool counts = false;     // each phrase has as many blobs as it says
    bool shapes = false;     // each phrase's largest blob is classified as its shape
    bool relation = false;   // the relation holds between the phrases' centroids (true without one)
    std::vector<std::string> shape_seen; // per phrase, the shape its largest blob looks like ("" if none)
    bool recognisable() const { return background && colors && shapes && relation; }
    std::string describe() const;
};

// rgb: 64x64x3 bytes. `scene` needs its phrases, relation and background (parse_caption's output will do).
ImageCheck check_image(const std::vector<std::uint8_t>& rgb, const Scene& scene);

} // namespace attnscope::tiny
