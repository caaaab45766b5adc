#include "lats/core/runtime.hpp"

#include <petscsys.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "lats/core/error.hpp"
#include "lats/core/log.hpp"
#include "lats/core/options.hpp"
#include "lats/core/petsc.hpp"

namespace lats {
namespace {

const IntOption kThreads{
    "threads", 0, "threads per rank for torch and other threaded kernels (0: cores on the node / ranks on the node)"};
const EnumOption kLogLevel{"log_level", "info", {"error", "warning", "info", "debug"}, "verbosity of LaTS messages"};
const BoolOption kView{"view", false, "print the effective LaTS configuration once at start-up"};
const BoolOption kCheckOptions{"check_options", true, "reject unknown -lats_* options at start-up"};

Runtime* g_current = nullptr;

std::vector<std::pair<std::string, Runtime::Hook>>& hooks() {
  static std::vector<std::pair<std::string, Runtime::Hook>> h;
  return h;
}

}  // namespace

struct Runtime::Impl {
  MPI_Comm comm = MPI_COMM_WORLD;
  bool startedMpi = false, startedPetsc = false, startedKokkos = false;
  int ranksOnNode = 1, coresOnNode = 1, threads = 1;

  // Stops what this scope started, in reverse order. Runs also when the constructor throws.
  ~Impl() {
    if (startedKokkos && Kokkos::is_initialized()) Kokkos::finalize();
    if (startedPetsc) {
      PetscBool finalized = PETSC_FALSE;
      PetscFinalized(&finalized);
      if (!finalized) PetscFinalize();
    }
    if (startedMpi) {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    }
  }
};

Runtime::Runtime() : Runtime(nullptr, nullptr, MPI_COMM_WORLD) {}

Runtime::Runtime(int* argc, char*** argv, MPI_Comm comm) : impl_(std::make_unique<Impl>()) {
  if (g_current) LATS_THROW(ConfigurationError, "a lats::Runtime is already active; create exactly one per process");
  auto& im = *impl_;

  // 1. MPI
  int mpiInitialized = 0, mpiFinalized = 0;
  MPI_Initialized(&mpiInitialized);
  MPI_Finalized(&mpiFinalized);
  if (mpiFinalized)
    LATS_THROW(Error, "MPI was already finalized; a lats::Runtime cannot be created after MPI_Finalize");
  if (!mpiInitialized) {
    int provided = 0;
    if (argc && argv)
      MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    else
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    im.startedMpi = true;
  }
  im.comm = comm;

  // 2. PETSc
  PetscBool petscInitialized = PETSC_FALSE;
  PetscInitialized(&petscInitialized);
  if (!petscInitialized) {
    PETSC_COMM_WORLD = comm;
    LATS_PETSC_CALL(argc && argv ? PetscInitialize(argc, argv, nullptr, nullptr)
                                 : PetscInitialize(nullptr, nullptr, nullptr, nullptr));
    im.startedPetsc = true;
  }

  // 3. Kokkos
  if (!Kokkos::is_initialized()) {
    if (argc && argv)
      Kokkos::initialize(*argc, *argv);
    else
      Kokkos::initialize();
    im.startedKokkos = true;
  }

  // Configuration. Anything thrown here leaves through Impl's destructor, which stops
  // what was started above.
  Log::setCommunicator(comm);
  collective(comm, [&] { Log::setLevel(parseLogLevel(kLogLevel.get())); });
  if (kCheckOptions.get()) Options::checkUnknown(comm);

  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &im.ranksOnNode);
  MPI_Comm_free(&node);
  im.coresOnNode = std::max(1u, std::thread::hardware_concurrency());
  std::int64_t requested = 0;
  collective(comm, [&] {
    requested = kThreads.get();
    if (requested < 0)
      LATS_THROW(ConfigurationError, "option -lats_threads must be >= 0 (0 chooses cores/ranks), got " << requested);
  });
  im.threads = requested > 0 ? static_cast<int>(requested) : std::max(1, im.coresOnNode / im.ranksOnNode);

  if (kView.get()) {
    std::ostringstream os;
    Options::view(os);
    logInfo() << os.str();
  }
  logDebug() << "runtime: " << size() << " ranks, " << im.ranksOnNode << " on this node, " << im.coresOnNode
             << " cores, " << im.threads << " threads per rank";

  g_current = this;
  try {
    for (auto& [name, hook] : hooks()) hook(*this);
  } catch (...) {
    g_current = nullptr;
    throw;
  }
}

Runtime::~Runtime() {
  if (g_current == this) g_current = nullptr;
  impl_.reset();
}

bool Runtime::isActive() { return g_current != nullptr; }
Runtime& Runtime::current() {
  if (!g_current) LATS_THROW(ConfigurationError, "no lats::Runtime is active; create one at the start of main()");
  return *g_current;
}

MPI_Comm Runtime::comm() const { return impl_->comm; }
int Runtime::rank() const {
  int r = 0;
  MPI_Comm_rank(impl_->comm, &r);
  return r;
}
int Runtime::size() const {
  int s = 1;
  MPI_Comm_size(impl_->comm, &s);
  return s;
}
int Runtime::ranksOnNode() const { return impl_->ranksOnNode; }
int Runtime::coresOnNode() const { return impl_->coresOnNode; }
int Runtime::threadsPerRank() const { return impl_->threads; }
bool Runtime::startedMpi() const { return impl_->startedMpi; }
bool Runtime::startedPetsc() const { return impl_->startedPetsc; }
bool Runtime::startedKokkos() const { return impl_->startedKokkos; }

void Runtime::addStartHook(const std::string& name, Hook hook) {
  hooks().emplace_back(name, hook);
  if (g_current) hook(*g_current);
}

}  // namespace lats
