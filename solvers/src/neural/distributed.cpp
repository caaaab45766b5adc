#include "lats/solvers/neural/distributed.hpp"

#include <torch/torch.h>

#include <limits>
#include <vector>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {
namespace {
void allReduceInPlace(torch::Tensor& t, MPI_Op op, MPI_Comm comm) {
  t = t.contiguous();
  const MPI_Datatype type = t.scalar_type() == torch::kFloat64 ? MPI_DOUBLE : MPI_FLOAT;
  MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()), type, op, comm);
}
/// The (B, n_r, k) tensors of every rank, concatenated along dimension 1 in rank order.
torch::Tensor allGatherPoints(const torch::Tensor& local, MPI_Comm comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  // Point-major so that each rank's block is contiguous: (n_r, B, k).
  const auto send = local.permute({1, 0, 2}).contiguous();
  const long long mine = send.numel();
  std::vector<long long> counts(static_cast<std::size_t>(size));
  MPI_Allgather(&mine, 1, MPI_LONG_LONG, counts.data(), 1, MPI_LONG_LONG, comm);
  std::vector<int> recvCounts(counts.size()), displacements(counts.size());
  long long total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    LATS_CHECK(total + counts[r] <= std::numeric_limits<int>::max(), InvalidValueError,
               "encoder: the points gathered for a TorchScript encoder exceed 2^31 values; encode on fewer points");
    recvCounts[r] = static_cast<int>(counts[r]);
    displacements[r] = static_cast<int>(total);
    total += counts[r];
  }
  const std::int64_t perPoint = local.size(0) * local.size(2);
  auto all = torch::empty({perPoint > 0 ? total / perPoint : 0, local.size(0), local.size(2)}, send.options());
  const MPI_Datatype type = send.scalar_type() == torch::kFloat64 ? MPI_DOUBLE : MPI_FLOAT;
  MPI_Allgatherv(send.data_ptr(), static_cast<int>(mine), type, all.data_ptr(), recvCounts.data(), displacements.data(),
                 type, comm);
  return all.permute({1, 0, 2}).contiguous();
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
  for (const auto& t : local.points)
    if (!supported(t) || t.dim() != 3)
      problem = "gathered encoder points must be (batch, points, k) float32/float64 CPU tensors";
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
  for (const auto& t : local.points) out.points.push_back(allGatherPoints(t, comm));
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
