#pragma once
/// \file strings.hpp
/// Small string helpers shared by every component: "did you mean" suggestions, joining.

#include <string>
#include <vector>

namespace lats {

/// Levenshtein edit distance between two strings.
std::size_t editDistance(const std::string& a, const std::string& b);

/// The candidate closest to `name` by edit distance, or "" when none is reasonably close
/// (distance larger than max(2, name.size()/2)).
std::string closestMatch(const std::string& name, const std::vector<std::string>& candidates);

/// " Did you mean 'x'?" when a close candidate exists, else "".
std::string didYouMean(const std::string& name, const std::vector<std::string>& candidates);

/// Splits "a, b,,c" at `separator` into trimmed, non-empty items {"a", "b", "c"}.
std::vector<std::string> splitList(const std::string& text, char separator = ',');

/// Joins strings with a separator.
std::string join(const std::vector<std::string>& parts, const std::string& separator);

}  // namespace lats
