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

AttentionPartial allReduce(const AttentionPartial& local, MPI_Comm comm) {
  std::string problem;
  if (!(local.max.scalar_type() == torch::kFloat64 || local.max.scalar_type() == torch::kFloat32) ||
      !local.max.device().is_cpu())
    problem = "attention statistics must be float32/float64 CPU tensors for the MPI reduction";
  agreeOnFailure(comm, problem, ErrorKind::InvalidValue, LATS_HERE);
  torch::NoGradGuard noGrad;
  AttentionPartial out;
  out.max = local.max.clone();
  allReduceInPlace(out.max, MPI_MAX, comm);
  auto safe = torch::where(torch::isinf(out.max), torch::zeros_like(out.max), out.max);
  auto w = torch::exp(local.max - safe);
  out.sumExp = local.sumExp * w;
  out.weighted = local.weighted * w;
  allReduceInPlace(out.sumExp, MPI_SUM, comm);
  allReduceInPlace(out.weighted, MPI_SUM, comm);
  return out;
}

torch::Tensor encodeDistributed(CrossAttentionEncoder& encoder, const torch::Tensor& coords,
                                const torch::Tensor& values, MPI_Comm comm, const torch::Tensor& mask) {
  torch::NoGradGuard noGrad;
  AttentionPartial local;
  std::string problem;
  try {
    if (coords.dim() == 3 && coords.size(1) == 0) {
      // A rank without points contributes nothing: max -inf, zero sums.
      const auto& o = encoder->options();
      const int64_t B = coords.size(0), H = o.numHeads(), M = o.numTokens(), Dh = o.tokenDim() / o.numHeads();
      auto opts = coords.options();
      local.max = torch::full({B, H, M, 1}, -std::numeric_limits<double>::infinity(), opts);
      local.sumExp = torch::zeros({B, H, M, 1}, opts);
      local.weighted = torch::zeros({B, H, M, Dh}, opts);
    } else {
      local = encoder->partial(coords, values, mask);
    }
  } catch (const Error& e) {
    problem = e.what();
  }
  // Every rank takes part, so a bad input on one rank fails all of them instead of hanging.
  agreeOnFailure(comm, problem, ErrorKind::DimensionMismatch, LATS_HERE);
  return encoder->finishTokens(allReduce(local, comm));
}

}  // namespace lats::solvers::neural
