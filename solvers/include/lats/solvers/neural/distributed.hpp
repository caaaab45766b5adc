#pragma once
/// \file distributed.hpp
/// Exact encoding of a field partitioned over MPI ranks.

#include <mpi.h>

#include "lats/solvers/neural/encoder.hpp"

namespace lats::solvers::neural {

/// Reduces encoder statistics over the ranks of `comm`: for each attention the global max of
/// the logits, then the sums of the rescaled exponentials and weighted values; plain sums are
/// summed; gathered points are concatenated in rank order. Every rank gets the statistics of the union of all ranks'
/// points. Tensors must be float64 or float32 CPU tensors of equal shape on every rank. Collective.
EncoderPartial allReduce(const EncoderPartial& local, MPI_Comm comm);

/// Tokens of the union of every rank's points, for any encoder: each rank passes its own
/// points (possibly none), and every rank receives the tokens a single-rank run over all
/// points would give (up to round-off of the summation order). Inference only (no gradient
/// through MPI). Collective.
torch::Tensor encodeDistributed(Encoder& encoder, const torch::Tensor& coords, const torch::Tensor& values,
                                MPI_Comm comm, const torch::Tensor& mask = {});

}  // namespace lats::solvers::neural
