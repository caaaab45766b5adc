#include "lats/solvers/neural/distributed.hpp"

#include <torch/torch.h>

#include <limits>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {
namespace {
void allReduceInPlace(torch::Tensor& t, MPI_Op op, MPI_Comm comm) {
  t = t.contiguous();
  const MPI_Datatype type = t.scalar_type() == torch::kFloat64 ? MPI_DOUBLE : MPI_FLOAT;
  MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()), type, op, comm);
}
}  // namespace

EncoderPartial allReduce(const EncoderPartial& local, MPI_Comm comm) {
  std::string problem;
  auto supported = [](const torch::Tensor& t) {
    return (t.scalar_type() == torch::kFloat64 || t.scalar_type() == torch::kFloat32) && t.device().is_cpu();
  };
  for (const auto& a : local.attention)
    if (!supported(a.max) || !supported(a.sumExp) || !supported(a.weighted))
      problem = "encoder statistics must be float32/float64 CPU tensors for the MPI reduction";
  for (const auto& t : local.sums)
    if (!supported(t)) problem = "encoder statistics must be float32/float64 CPU tensors for the MPI reduction";
  agreeOnFailure(comm, problem, ErrorKind::InvalidValue, LATS_HERE);
  torch::NoGradGuard noGrad;
  EncoderPartial out;
  for (const auto& a : local.attention) {
    AttentionPartial r;
    r.max = a.max.clone();
    allReduceInPlace(r.max, MPI_MAX, comm);
    auto safe = torch::where(torch::isinf(r.max), torch::zeros_like(r.max), r.max);
    auto w = torch::exp(a.max - safe);
    r.sumExp = a.sumExp * w;
    r.weighted = a.weighted * w;
    allReduceInPlace(r.sumExp, MPI_SUM, comm);
    allReduceInPlace(r.weighted, MPI_SUM, comm);
    out.attention.push_back(r);
  }
  for (const auto& t : local.sums) {
    auto r = t.clone();
    allReduceInPlace(r, MPI_SUM, comm);
    out.sums.push_back(r);
  }
  return out;
}

torch::Tensor encodeDistributed(Encoder& encoder, const torch::Tensor& coords, const torch::Tensor& values,
                                MPI_Comm comm, const torch::Tensor& mask) {
  torch::NoGradGuard noGrad;
  EncoderPartial local;
  std::string problem;
  try {
    // A rank without points contributes the statistics of no points.
    local = coords.dim() == 3 && coords.size(1) == 0 ? encoder.emptyPartial(coords.size(0), coords.options())
                                                     : encoder.partial(coords, values, mask);
  } catch (const Error& e) {
    problem = e.what();
  }
  // Every rank takes part, so a bad input on one rank fails all of them instead of hanging.
  agreeOnFailure(comm, problem, ErrorKind::DimensionMismatch, LATS_HERE);
  return encoder.finish(allReduce(local, comm));
}

}  // namespace lats::solvers::neural
