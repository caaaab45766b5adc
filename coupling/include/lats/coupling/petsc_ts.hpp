#pragma once
/// \file petsc_ts.hpp
/// The PETSc TS type "lats": an unmodified PETSc program that uses TS selects it with
/// `-ts_type lats` after loading LaTS (`-dll_append <libdir>/liblats.so`, which registers
/// the type through PetscDLLibraryRegister_lats, or a call to registerPetscTs()).
///
/// Modes (-lats_mode): classical: an inner TS of type -lats_classical_ts_type (default rk)
/// on the host's DM, right-hand side and Jacobians takes every step, so the run equals
/// `-ts_type <that type>`: its TS options carry the prefix lats_classical_ (for example
/// -lats_classical_ts_rk_type 4, -lats_classical_ts_adapt_type none), while its nonlinear and
/// linear solvers read the host's own -snes_*, -ksp_*, -pc_* options. -ts_view shows both.
/// surrogate: the trained model -lats_model advances the host's Vec in place (see the
/// surrogate stepper). -lats_record FILE writes the host's trajectory as a dataset.

namespace lats::coupling {

/// Registers the TS type "lats" with PETSc (idempotent). PETSc must be initialised.
void registerPetscTs();

}  // namespace lats::coupling
