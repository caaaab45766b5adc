#include "lats/core/petsc.hpp"

#include <string>

namespace lats::detail {

void throwPetscError(PetscErrorCode code, const char* expression, SourceLocation where) {
  const char* text = nullptr;
  PetscErrorMessage(code, &text, nullptr);
  throw Error(std::string("PETSc call failed: ") + expression + " returned error " + std::to_string(code) + " (" +
                  (text ? text : "unknown PETSc error") + ")",
              where);
}

}  // namespace lats::detail
