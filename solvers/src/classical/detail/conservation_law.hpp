#pragma once
// FvOperator over the shared kernels: an equation supplies its Physics struct (see
// fv_kernels.hpp) built from the current parameters, and gets the right-hand side, its
// explicit/stiff split and the face-flux machinery.

#include "fv_kernels.hpp"
#include "lats/solvers/classical/fv_operator.hpp"

namespace lats::detail {

template <class Physics>
class ConservationLaw : public solvers::FvOperator {
 public:
  void rhs(double t, solvers::ConstCellValues u, solvers::CellValues dudt) override {
    evaluate(t, u, dudt, Terms{}, limiter_);
  }
  void explicitRhs(double t, solvers::ConstCellValues u, solvers::CellValues dudt) override {
    evaluate(t, u, dudt, hasStiffPart() ? Terms::explicitPart() : Terms{}, limiter_);
  }
  void stiffRhs(double t, solvers::ConstCellValues u, solvers::CellValues dudt) override {
    // The stiff part is linear: unlimited gradients keep it so.
    evaluate(t, u, dudt, Terms::stiffPart(), solvers::Limiter::None);
  }

 protected:
  using solvers::FvOperator::FvOperator;
  /// The physics with the current parameter values.
  virtual Physics physics() const = 0;
  void onSetUp() override { kernels_.setUp(mesh().geometry()); }
  /// The kernels of the last evaluation (its gradients and limiter values).
  const FvKernels<Physics>& kernels() const { return kernels_; }

 private:
  void evaluate(double t, solvers::ConstCellValues u, solvers::CellValues dudt, Terms terms, solvers::Limiter limiter) {
    const Physics p = physics();
    kernels_.gradients(p, u, limiter, venkatakrishnanK());
    bool needLaplacian = false;
    for (int c = 0; c < Physics::NC; ++c)
      needLaplacian = needLaplacian || (terms.dispersion && p.dispersion[c] != 0.0) ||
                      (terms.hyperdiffusion && p.hyperdiffusion[c] != 0.0);
    if (needLaplacian) kernels_.laplacian(p, u);
    kernels_.residual(p, u, dudt, t, terms);
  }
  FvKernels<Physics> kernels_;
};

}  // namespace lats::detail
