// Sets torch's intra-op thread count from the runtime (-lats_threads, or cores / ranks on
// the node) as soon as a lats::Runtime starts. Lives here so that core needs no torch header.
#include <ATen/Parallel.h>

#include "lats/core/log.hpp"
#include "lats/core/runtime.hpp"

namespace lats::solvers::neural {
namespace {
struct TorchThreadsRegistrar {
  TorchThreadsRegistrar() {
    Runtime::addStartHook("torch threads", [](const Runtime& runtime) {
      at::set_num_threads(runtime.threadsPerRank());
      logDebug() << "torch: " << at::get_num_threads() << " intra-op threads per rank";
    });
  }
};
const TorchThreadsRegistrar kRegistrar;
}  // namespace
}  // namespace lats::solvers::neural
