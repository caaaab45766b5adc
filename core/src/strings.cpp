#include "lats/core/strings.hpp"

#include <algorithm>

namespace lats {

std::size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closestMatch(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t bestDistance = std::max<std::size_t>(2, name.size() / 2) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = editDistance(name, c);
    if (d < bestDistance && d < name.size()) {  // never suggest by replacing the whole name
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

std::string didYouMean(const std::string& name, const std::vector<std::string>& candidates) {
  const std::string best = closestMatch(name, candidates);
  return best.empty() ? std::string() : " Did you mean '" + best + "'?";
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += separator;
    out += parts[i];
  }
  return out;
}

}  // namespace lats

namespace lats {

std::vector<std::string> splitList(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    const auto item = text.substr(start, end - start);
    const auto a = item.find_first_not_of(" \t\n\r");
    if (a != std::string::npos) out.push_back(item.substr(a, item.find_last_not_of(" \t\n\r") - a + 1));
    start = end + 1;
  }
  return out;
}

}  // namespace lats
