#include "lats/solvers/classical/generator.hpp"

#include <sys/stat.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/log.hpp"
#include "lats/core/options.hpp"
#include "lats/core/random.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/classical/fv_solver.hpp"
#include "lats/solvers/classical/initial_conditions.hpp"

namespace lats::solvers {
namespace {

const StringOption kOutput{"generate_output", "lats_dataset.h5", "generate: the dataset file (HDF5)"};
const IntOption kTrajectories{"generate_trajectories", 8, "generate: number of trajectories"};
const IntOption kSnapshots{"generate_snapshots", 20, "generate: snapshots saved after the initial one"};
const RealOption kFinalTime{"generate_final_time", 1.0,
                            "generate: final time (snapshots evenly spaced); ignored when -lats_generate_every is set"};
const RealOption kDt{"generate_dt", 0.0,
                     "generate: fixed time step (0: automatic, -lats_fv_cfl times the stable step)"};
const IntOption kEvery{
    "generate_every", 0,
    "generate: with -lats_generate_dt, steps between snapshots (final time = snapshots x every x dt)"};
const IntOption kSeed{"generate_seed", 1, "generate: seed of the sampled parameters and initial conditions"};
const BoolOption kSample{"generate_sample_parameters", true,
                         "generate: draw each trajectory's parameters from their ranges (false: the -lats_<equation>_* "
                         "values for all)"};
const StringOption kRanges{"generate_ranges", "",
                           "generate: sampling ranges replacing the equation's, name=low:high separated by commas "
                           "(e.g. vx=-5:5,nu=0:0)"};
const EnumOption kParallel{
    "generate_parallel",
    "auto",
    {"auto", "trajectories", "mesh"},
    "generate: trajectories (whole trajectories per rank), mesh (each trajectory on all ranks) or "
    "auto (trajectories when there are at least as many as ranks)"};
const IntOption kCompression{"generate_compression", 4, "generate: deflate level (1-9) of the finished file"};
const BoolOption kProgress{"generate_progress", true, "generate: progress line (done/total, rate, ETA) on rank 0"};

/// The seed of trajectory i: stream i of the generation seed.
std::uint64_t trajectorySeed(std::uint64_t seed, std::int64_t i) {
  return SplitMix64(seed, static_cast<std::uint64_t>(i)).next();
}

/// Applies "name=low:high,..." to `op`'s sampling ranges; clear errors for malformed text.
void applyRanges(FvOperator& op, const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    item.erase(std::remove(item.begin(), item.end(), ' '), item.end());  // "vx=-5:5, nu=0:0" is fine
    start = end + 1;
    if (item.empty()) continue;
    const auto eq = item.find('='), colon = item.find(':', eq == std::string::npos ? 0 : eq);
    double low = 0, high = 0;
    std::size_t used = 0, usedHigh = 0;
    bool ok = eq != std::string::npos && colon != std::string::npos && eq > 0;
    if (ok) {
      try {
        low = std::stod(item.substr(eq + 1, colon - eq - 1), &used);
        high = std::stod(item.substr(colon + 1), &usedHigh);
        ok = used == colon - eq - 1 && usedHigh == item.size() - colon - 1;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    LATS_CHECK(
        ok, InvalidValueError,
        "generate: sampling range '" << item << "' in -lats_generate_ranges; expected name=low:high, e.g. vx=-5:5");
    op.setParameterRange(item.substr(0, eq), low, high);
  }
}

std::string formatSeconds(double s) {
  char buf[32];
  if (s < 120)
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  else
    std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  return buf;
}

}  // namespace

GeneratorSettings GeneratorSettings::fromOptions() {
  GeneratorSettings s;
  s.equation = equationFromOptions();
  s.output = kOutput.get();
  s.trajectories = kTrajectories.get();
  s.snapshots = kSnapshots.get();
  s.finalTime = kFinalTime.get();
  s.dt = kDt.get();
  s.every = kEvery.get();
  s.seed = static_cast<std::uint64_t>(kSeed.get());
  s.sampleParameters = kSample.get();
  s.ranges = kRanges.get();
  s.parallel = kParallel.get();
  s.compression = static_cast<int>(kCompression.get());
  s.progress = kProgress.get();
  return s;
}

GeneratorReport generateDataset(MPI_Comm comm, const GeneratorSettings& settings) {
  const auto start = std::chrono::steady_clock::now();
  const Comm world(comm);
  // Settings.
  fvOperators().create(settings.equation);  // unknown names: ConfigurationError with a suggestion
  LATS_CHECK(
      settings.trajectories >= 1, InvalidValueError,
      "generate: " << settings.trajectories << " trajectories; expected at least 1 (-lats_generate_trajectories)");
  LATS_CHECK(settings.snapshots >= 1, InvalidValueError,
             "generate: " << settings.snapshots << " snapshots; expected at least 1 (-lats_generate_snapshots)");
  LATS_CHECK(
      settings.dt >= 0 && std::isfinite(settings.dt), InvalidValueError,
      "generate: time step " << settings.dt << "; expected a finite value >= 0 (-lats_generate_dt, 0: automatic)");
  LATS_CHECK(settings.every >= 0 && (settings.every == 0 || settings.dt > 0), InvalidValueError,
             "generate: -lats_generate_every " << settings.every
                                               << " needs a fixed step (-lats_generate_dt > 0) and a value >= 0");
  const double interval =
      settings.every > 0 ? static_cast<double>(settings.every) * settings.dt : settings.finalTime / settings.snapshots;
  LATS_CHECK(
      interval > 0 && std::isfinite(interval), InvalidValueError,
      "generate: final time " << settings.finalTime << "; expected a positive value (-lats_generate_final_time)");
  LATS_CHECK(settings.compression >= 1 && settings.compression <= 9, InvalidValueError,
             "generate: compression level " << settings.compression << "; expected 1 to 9");
  std::vector<double> times(settings.snapshots + 1);
  for (std::int64_t j = 0; j <= settings.snapshots; ++j) times[j] = static_cast<double>(j) * interval;

  auto probe = fvOperators().create(settings.equation);
  probe->setFromOptions();
  applyRanges(*probe, settings.ranges);  // malformed ranges or unknown names fail here, before any file
  const auto dims = probe->dimensions();
  const int preferred = std::find(dims.begin(), dims.end(), 2) != dims.end() ? 2 : dims.front();
  const auto mesh = meshio::PlexMesh::fromOptions(comm, preferred);

  bool byTrajectory = settings.parallel == "trajectories" ||
                      (settings.parallel == "auto" && world.size() > 1 && settings.trajectories >= world.size());
  LATS_CHECK(settings.parallel == "auto" || settings.parallel == "trajectories" || settings.parallel == "mesh",
             ConfigurationError,
             "generate: parallel mode '" << settings.parallel << "'; expected auto, trajectories or mesh");
  if (world.size() == 1) byTrajectory = false;

  meshio::DatasetHeader header;
  header.equation = settings.equation;
  header.components = probe->components();
  for (const auto& p : probe->parameters()) header.parameterNames.push_back(p.name);
  header.numTrajectories = settings.trajectories;
  header.times = times;
  header.seed = settings.seed;
  header.commandLine = settings.commandLine;
  const std::string meshText = mesh->describe();  // collective
  header.source = meshText;

  GeneratorReport report;
  report.path = settings.output;
  // A finished file with these settings: nothing to do.
  {
    int finished = 0;
    if (world.rank() == 0) {
      struct stat st {};
      finished = stat(settings.output.c_str(), &st) == 0;
    }
    MPI_Bcast(&finished, 1, MPI_INT, 0, comm);
    if (finished) {
      bool done = false, other = false;
      try {
        meshio::DatasetReader existing(comm, settings.output);
        const auto& h = existing.header();
        const bool same = h.equation == header.equation && h.seed == header.seed &&
                          h.numTrajectories == header.numTrajectories && h.times == header.times &&
                          existing.numPoints() == mesh->globalCells();
        done = !existing.inProgress() && same;
        other = !existing.inProgress() && !same;
      } catch (const FileFormatError&) {
        // Not a readable dataset: the writer below says precisely what is wrong with it.
      }
      LATS_CHECK(!other, FileFormatError,
                 settings.output << ": exists and is a finished dataset made with other settings (equation, seed, "
                                    "trajectories, times or mesh); remove it or choose another -lats_generate_output");
      if (done) {
        if (world.rank() == 0)
          logInfo() << "generate: " << settings.output << " is already complete (" << settings.trajectories
                    << " trajectories); nothing to do";
        report.resumed = settings.trajectories;
        return report;
      }
    }
  }

  meshio::DatasetWriter writer(settings.output, header, *mesh->mesh(), &mesh->cellShapes());
  std::vector<std::int64_t> todo;
  for (std::int64_t i = 0; i < settings.trajectories; ++i)
    if (!writer.complete()[i]) todo.push_back(i);
  report.resumed = settings.trajectories - static_cast<std::int64_t>(todo.size());
  if (world.rank() == 0)
    logInfo() << "generate: " << settings.equation << " on " << meshText << ", " << settings.trajectories
              << " trajectories x " << times.size() << " snapshots to t = " << times.back() << " -> " << settings.output
              << (report.resumed > 0 ? " (resuming: " : "")
              << (report.resumed > 0 ? std::to_string(report.resumed) + " already complete)" : "") << ", "
              << (byTrajectory ? "trajectories spread over ranks" : "each trajectory on all ranks");

  // One trajectory on `m` (owned cells written through `write`).
  auto run = [&](const std::shared_ptr<const meshio::PlexMesh>& m, std::int64_t i,
                 const std::function<void(std::int64_t, const FvSolver&)>& write) {
    auto op = fvOperators().create(settings.equation);
    op->setFromOptions();
    const std::uint64_t s = trajectorySeed(settings.seed, i);
    applyRanges(*op, settings.ranges);
    if (settings.sampleParameters) sampleParameters(*op, s);
    std::vector<double> params;
    for (const auto& p : op->parameters()) params.push_back(p.value);
    FvSolver solver(m, std::move(op));
    solver.setFromOptions();
    solver.setSolution(initialCondition(solver.op(), *m, s));
    if (settings.dt > 0) solver.setTimeStep(settings.dt);
    write(0, solver);
    for (std::size_t j = 1; j < times.size(); ++j) {
      const auto result = solver.advance(times[j]);
      LATS_CHECK(result.ok(), Error,
                 "generate: trajectory " << i << " (seed stream " << settings.seed << ", " << i
                                         << ") failed: " << result.reason
                                         << "; the file keeps every complete trajectory, re-run to resume");
      write(static_cast<std::int64_t>(j), solver);
    }
    return params;
  };

  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t done = 0;
  auto progress = [&](std::int64_t completed) {
    done = completed;
    if (!settings.progress || world.rank() != 0) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    const double eta = rate > 0 ? static_cast<double>(static_cast<std::int64_t>(todo.size()) - done) / rate : 0.0;
    char line[160];
    std::snprintf(line, sizeof line, "generate: %lld/%lld trajectories, %.3g trajectories/s, ETA %s",
                  static_cast<long long>(report.resumed + done), static_cast<long long>(settings.trajectories), rate,
                  formatSeconds(eta).c_str());
    logInfo() << line;
  };

  if (byTrajectory) {
    // Every rank solves whole trajectories on its own copy of the mesh and writes them alone.
    const auto local = meshio::PlexMesh::fromOptions(MPI_COMM_SELF, preferred);
    auto ids = Kokkos::create_mirror_view_and_copy(HostSpace(), local->mesh()->globalIds());
    const int nc = static_cast<int>(header.components.size());
    const std::int64_t n = local->globalCells();
    std::vector<double> buf(n * nc);
    const auto rounds = (static_cast<std::int64_t>(todo.size()) + world.size() - 1) / world.size();
    for (std::int64_t r = 0; r < rounds; ++r) {
      const std::int64_t k = r * world.size() + world.rank();
      std::string failure;
      if (k < static_cast<std::int64_t>(todo.size())) {
        const std::int64_t i = todo[k];
        try {
          const auto params = run(local, i, [&](std::int64_t j, const FvSolver& s) {
            const auto v = s.values();
            for (std::int64_t c = 0; c < n; ++c)
              for (int q = 0; q < nc; ++q) buf[ids(c) * nc + q] = v[c * nc + q];
            writer.writeSnapshotLocal(i, j, buf.data());
          });
          writer.writeParameters(i, params);
          writer.markComplete(i);
        } catch (const std::exception& e) {
          failure = e.what();
        }
      }
      agreeOnFailure(comm, failure, ErrorKind::Generic);
      progress(std::min<std::int64_t>((r + 1) * world.size(), static_cast<std::int64_t>(todo.size())));
    }
  } else {
    for (std::size_t k = 0; k < todo.size(); ++k) {
      const std::int64_t i = todo[k];
      const auto params = run(
          mesh, i, [&](std::int64_t j, const FvSolver& s) { writer.writeSnapshot(i, j, *mesh->mesh(), s.field()); });
      world.barrier();  // every rank's snapshot writes have returned
      collective(comm, [&] {
        if (world.rank() == 0) {
          writer.writeParameters(i, params);
          writer.markComplete(i);
        }
      });
      progress(static_cast<std::int64_t>(k + 1));
    }
  }
  writer.finish(settings.compression);
  report.generated = static_cast<std::int64_t>(todo.size());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (world.rank() == 0)
    logInfo() << "generate: wrote " << settings.output << " (" << report.generated << " trajectories generated, "
              << report.resumed << " resumed) in " << formatSeconds(report.seconds);
  return report;
}

}  // namespace lats::solvers
