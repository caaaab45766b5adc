#include "lats/lats.hpp"

namespace lats {
void registerAll() {
  coupling::registerSteppers();
  solvers::registerFvOperators();
}
}  // namespace lats
