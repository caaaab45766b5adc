#include "lats/solvers/neural/tensor_bridge.hpp"

#include "lats/core/error.hpp"

namespace lats::solvers::neural {

at::Tensor toTensor(const Field& field) {
  static_assert(Kokkos::SpaceAccessibility<HostSpace, MemSpace>::accessible,
                "the bridge currently maps host-accessible Views to CPU tensors");
  Kokkos::fence();
  const auto view = field.view();
  const int64_t rows = static_cast<int64_t>(view.extent(0));
  const int64_t cols = static_cast<int64_t>(view.extent(1));
  // Strides of a LayoutRight View: (stride(0), 1). Wrapped Views may have padding.
  const int64_t rowStride = rows > 0 ? static_cast<int64_t>(view.stride(0)) : cols;
  // The deleter owns a copy of the Field: the View's reference count and any keep-alive owner.
  auto holder = std::make_shared<Field>(field);
  return at::from_blob(
      view.data(), {rows, cols}, {rowStride, 1}, [holder](void*) mutable { holder.reset(); },
      at::TensorOptions().dtype(at::kDouble).device(at::kCPU));
}

Field toField(const at::Tensor& tensor, std::string name, std::vector<std::string> components, Location location) {
  LATS_CHECK(tensor.defined(), InvalidValueError, "toField('" << name << "'): the tensor is undefined");
  LATS_CHECK(tensor.dim() == 2, DimensionMismatchError,
             "toField('" << name << "'): expected a 2D tensor (entities x components), got " << tensor.dim()
                         << " dimensions " << tensor.sizes());
  LATS_CHECK(tensor.size(1) == static_cast<int64_t>(components.size()), DimensionMismatchError,
             "toField('" << name << "'): tensor has " << tensor.size(1) << " columns but " << components.size()
                         << " component names were given");
  LATS_CHECK(tensor.scalar_type() == at::kDouble, InvalidValueError,
             "toField('" << name << "'): expected a float64 tensor, got " << tensor.scalar_type()
                         << "; convert with tensor.to(torch::kDouble) or use copyToField()");
  LATS_CHECK(tensor.device().is_cpu(), InvalidValueError,
             "toField('" << name << "'): expected a CPU tensor, got device " << tensor.device()
                         << "; use copyToField() to copy from another device");
  LATS_CHECK(tensor.is_contiguous(), InvalidValueError,
             "toField('" << name << "'): the tensor is not contiguous; call .contiguous() or use copyToField()");
  auto owner = std::make_shared<at::Tensor>(tensor);
  return Field::wrap(std::move(name), owner->data_ptr<double>(), tensor.size(0), std::move(components), location,
                     owner);
}

void copyToField(const at::Tensor& tensor, Field& field) {
  LATS_CHECK(tensor.dim() == 2 && tensor.size(0) == field.size() && tensor.size(1) == field.numComponents(),
             DimensionMismatchError,
             "copyToField('" << field.name() << "'): tensor shape " << tensor.sizes() << " differs from the field's ("
                             << field.size() << ", " << field.numComponents() << ")");
  at::NoGradGuard noGrad;
  toTensor(field).copy_(tensor.to(at::kCPU, at::kDouble));
}

}  // namespace lats::solvers::neural
