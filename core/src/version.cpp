#include "lats/core/version.hpp"

namespace lats {
const char* version() { return LATS_VERSION_STRING; }
}  // namespace lats
