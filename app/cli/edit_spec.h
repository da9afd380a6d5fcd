#pragma once
// The command line's words for attention edits (attnscope edit --edit) and for the map that compare shows
// (attnscope compare --map), parsed before any model is loaded; words of the prompt are looked up once it is
// encoded.
//
//   edit: token=WORD|POS[,WORD|POS...]:scale=S[:renorm] | head=H | backend=NAME
//   map:  token=WORD|POS[,...] | pixel=X,Y (in [0, 1) of the image)
//   then, for either: [@sites=LIST] [@steps=LIST] [@attn=self|cross] (edits) [@head=H|mean|max] (maps)
//   LIST: "1-4,7"; sites from 1 (1..16 for SD: the model's numbering decides, once it is loaded), steps from
//   0.
#include "capture/attention_maps.h"
#include "intervene/attention_edits.h"
#include "session/session.h"

#include <string>
#include <vector>

namespace attnscope::cli {

struct EditText {
    std::string text;
    AttentionEditSpec edit;               // a TokenScale holds the positions given as numbers
    std::vector<std::string> token_words; // and these words' positions, once looked up
};

struct MapText {
    std::string text;
    MapRequest request; // tokens given as numbers, sites as named (none: every one, once fit to the model);
                        // the whole image's size is the caller's to set
    std::vector<std::string> token_words;
};

// Both throw UsageError naming the part that is wrong and what is accepted; `steps` bounds @steps.
EditText parse_edit(const std::string& text, int steps);
MapText parse_map(const std::string& text, int steps);

// Once the model is loaded: @sites checked against its numbering (UsageError for a site it lacks), a map's
// sites filled in when none were named, and the words looked up in the session's prompt
// (std::invalid_argument for a word the prompt does not have).
void fit_to_model(EditText& edit, const Session& session);
void fit_to_model(MapText& map, const Session& session);

} // namespace attnscope::cli
