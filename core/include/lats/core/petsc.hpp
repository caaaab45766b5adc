#pragma once
/// \file petsc.hpp
/// Turning PETSc error codes into lats::Error.

#include <petscsys.h>

#include "lats/core/error.hpp"

namespace lats::detail {
/// Throws lats::Error with PETSc's message for a non-zero error code.
[[noreturn]] void throwPetscError(PetscErrorCode code, const char* expression, SourceLocation where);
}  // namespace lats::detail

/// Calls a PETSc function and throws lats::Error if it fails.
#define LATS_PETSC_CALL(expression)                                                      \
  do {                                                                                   \
    const PetscErrorCode lats_ierr_ = (expression);                                      \
    if (lats_ierr_) ::lats::detail::throwPetscError(lats_ierr_, #expression, LATS_HERE); \
  } while (0)
