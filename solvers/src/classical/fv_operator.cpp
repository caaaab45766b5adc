#include "lats/solvers/classical/fv_operator.hpp"

#include <cmath>

#include "lats/core/error.hpp"
#include "lats/core/strings.hpp"

namespace lats::solvers {

namespace {
const EnumOption kLimiter{"fv_limiter",
                          "default",
                          {"default", "none", "barth", "venkatakrishnan"},
                          "slope limiter of the second-order reconstruction (default: none for smooth equations, "
                          "venkatakrishnan for hyperbolic ones)"};
const RealOption kVenkatK{"fv_venkatakrishnan_k", 5.0,
                          "K of the Venkatakrishnan limiter (threshold (K h)^3; larger clips less at smooth extrema)"};
}  // namespace

FvOperator::~FvOperator() = default;

void FvOperator::setVenkatakrishnanK(double k) {
  LATS_CHECK(k > 0 && std::isfinite(k), InvalidValueError,
             "Venkatakrishnan K = " << k << "; expected a positive number (typically 1 to 20)");
  venkatK_ = k;
}

double FvOperator::parameter(const std::string& name) const {
  return const_cast<FvOperator*>(this)->findParameter(name).value;
}

void FvOperator::setParameter(const std::string& name, double value) {
  Parameter& p = findParameter(name);
  LATS_CHECK(std::isfinite(value), InvalidValueError,
             equation() << ": parameter " << name << " = " << value << "; expected a finite number");
  p.value = value;
}

Parameter& FvOperator::findParameter(const std::string& name) {
  std::vector<std::string> names;
  for (auto& p : params_) {
    if (p.name == name) return p;
    names.push_back(p.name);
  }
  LATS_THROW(ConfigurationError, equation() << ": no parameter '" << name << "'." << didYouMean(name, names)
                                            << " Parameters: " << join(names, ", "));
}

void FvOperator::setParameterRange(const std::string& name, double low, double high) {
  Parameter& p = findParameter(name);
  LATS_CHECK(std::isfinite(low) && std::isfinite(high) && low <= high, InvalidValueError,
             equation() << ": sampling range [" << low << ", " << high << "] of " << name
                        << "; expected finite bounds with low <= high");
  p.low = low;
  p.high = high;
}

void FvOperator::setFromOptions() {
  for (auto& p : params_)
    if (p.option && p.option->isSet()) setParameter(p.name, p.option->get());
  setVenkatakrishnanK(kVenkatK.get());
  if (kLimiter.get() != "default") {
    const std::string lim = kLimiter.get();
    setLimiter(lim == "none" ? Limiter::None : lim == "barth" ? Limiter::Barth : Limiter::Venkatakrishnan);
  }
}

void FvOperator::setUp(std::shared_ptr<const meshio::PlexMesh> mesh) {
  LATS_CHECK(mesh != nullptr, InvalidValueError, equation() << ": setUp() without a mesh");
  bool ok = false;
  std::string dims;
  for (int d : dimensions()) {
    ok = ok || d == mesh->dimension();
    dims += (dims.empty() ? "" : " or ") + std::to_string(d) + "D";
  }
  LATS_CHECK(ok, DimensionMismatchError,
             equation() << " is discretised in " << dims << "; the mesh is " << mesh->dimension() << "D ("
                        << mesh->describe() << "). Choose a " << dims << " mesh with -lats_mesh");
  mesh_ = std::move(mesh);
  if (!limiterSet_) limiter_ = defaultLimiter();
  onSetUp();
}

const meshio::PlexMesh& FvOperator::mesh() const {
  LATS_CHECK(mesh_ != nullptr, ConfigurationError, equation() << ": call setUp(mesh) first");
  return *mesh_;
}

void FvOperator::rhs(double t, ConstCellValues u, CellValues dudt) {
  explicitRhs(t, u, dudt);
  if (!hasStiffPart()) return;
  const auto n = mesh().geometry().numOwned;
  CellValues stiff = stiffScratch(n);
  stiffRhs(t, u, stiff);
  Kokkos::parallel_for(
      "lats::FvOperator::rhs",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {n, (std::int64_t)dudt.extent(1)}),
      KOKKOS_LAMBDA(const std::int64_t i, const std::int64_t c) { dudt(i, c) += stiff(i, c); });
}

void FvOperator::stiffRhs(double, ConstCellValues, CellValues dudt) {
  const auto n = mesh().geometry().numOwned;
  Kokkos::parallel_for(
      "lats::FvOperator::stiffRhs",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {n, (std::int64_t)dudt.extent(1)}),
      KOKKOS_LAMBDA(const std::int64_t i, const std::int64_t c) { dudt(i, c) = 0.0; });
}

CellValues FvOperator::stiffScratch(std::int64_t rows) {
  if (static_cast<std::int64_t>(stiffScratch_.extent(0)) < rows)
    stiffScratch_ =
        Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>("lats::FvOperator::stiffScratch", rows, numComponents());
  return CellValues(stiffScratch_.data(), rows, numComponents());
}

Registry<FvOperator>& fvOperators() {
  static Registry<FvOperator> registry("equation");
  return registry;
}

}  // namespace lats::solvers
