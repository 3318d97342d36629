// The pure response filter for Loki's detected_labels and detected_fields answers: entries of
// the array under `key` ("detectedLabels" or "fields") whose "label" is hidden are removed;
// everything else is kept as it came (re-serialised). A missing or null array is returned
// unchanged (nothing detected). Unavailable for a body that is not a JSON object, an array
// that is not one, or an entry without a string "label" (fail closed: the step answers 502).
// `hidden` must be sorted (filters::Scope keeps it so). Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace obsgate::gateway::loki_api {

Result<std::string> filter_detected(std::string_view body, std::string_view key,
                                    const std::vector<std::string>& hidden);

}  // namespace obsgate::gateway::loki_api
