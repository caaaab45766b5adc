#include "lats/lats.hpp"

namespace lats {
void registerAll() { coupling::registerSteppers(); }
}  // namespace lats
