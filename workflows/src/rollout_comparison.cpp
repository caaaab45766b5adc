// Classical / surrogate / hybrid rollouts against a dataset's trajectories: errors and timings.
#include "lats/workflows/rollout_comparison.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/files.hpp"
#include "lats/core/log.hpp"
#include "lats/core/options.hpp"
#include "lats/core/strings.hpp"
#include "lats/coupling/classical_stepper.hpp"
#include "lats/coupling/host_session.hpp"
#include "lats/coupling/surrogate_stepper.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/meshio/vtu.hpp"

namespace lats::workflows {

using namespace lats::coupling;  // the steppers a workflow runs

namespace {
const StringOption kModel{"rollout_model", "lats_model", "rollout: the surrogate checkpoint (directory)"};
const StringOption kDataset{"rollout_dataset", "",
                            "rollout: dataset whose trajectories give the initial states, parameters and reference"};
const StringOption kTrajectories{"rollout_trajectories", "0",
                                 "rollout: trajectories of the dataset to run, e.g. 0,3,5 (all: every one)"};
const StringOption kModes{"rollout_modes", "classical,surrogate,hybrid",
                          "rollout: steppers to compare (classical, surrogate, hybrid)"};
const IntOption kRepeats{"rollout_repeats", 1, "rollout: runs of each mode; the fastest is reported"};
const StringOption kOutput{"rollout_output", "",
                           "rollout: directory for predicted trajectories (.h5 + .xmf), final-state PVTU, "
                           "errors.csv and rollout.md (empty: none)"};
const std::vector<std::string> kKnownModes = {"classical", "surrogate", "hybrid"};

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

RolloutSettings RolloutSettings::fromOptions() {
  RolloutSettings s;
  s.model = kModel.get();
  s.dataset = kDataset.get();
  const std::string list = kTrajectories.get();
  if (list != "all") {
    for (const auto& item : splitList(list)) {
      char* end = nullptr;
      const long long v = std::strtoll(item.c_str(), &end, 10);
      LATS_CHECK(end == item.c_str() + item.size() && v >= 0, InvalidValueError,
                 "-lats_rollout_trajectories: '" << item << "' is not a trajectory index; e.g. 0,3,5 or all");
      s.trajectories.push_back(v);
    }
  }
  s.modes = splitList(kModes.get());
  for (const auto& m : s.modes)
    LATS_CHECK(std::find(kKnownModes.begin(), kKnownModes.end(), m) != kKnownModes.end(), ConfigurationError,
               "-lats_rollout_modes: unknown mode '" << m << "'." << didYouMean(m, kKnownModes)
                                                     << " Modes: " << join(kKnownModes, ", "));
  s.repeats = kRepeats.get();
  s.hybrid = HybridSettings::fromOptions();
  s.output = kOutput.get();
  return s;
}

double relativeL2(const Mesh& mesh, const Field& a, const Field& b) {
  double s[2] = {0, 0};
  for (std::int64_t i = 0; i < mesh.ownedSize(); ++i)
    for (int c = 0; c < a.numComponents(); ++c) {
      const double d = a.view()(i, c) - b.view()(i, c);
      s[0] += d * d;
      s[1] += b.view()(i, c) * b.view()(i, c);
    }
  MPI_Allreduce(MPI_IN_PLACE, s, 2, MPI_DOUBLE, MPI_SUM, mesh.comm());
  return s[1] > 0 ? std::sqrt(s[0] / s[1]) : std::sqrt(s[0]);
}

const ModeRollout* RolloutComparison::find(const std::string& name) const {
  for (const auto& m : modes)
    if (m.mode == name) return &m;
  return nullptr;
}

RolloutComparison compareRollouts(std::shared_ptr<const meshio::PlexMesh> plex, const RolloutSettings& s) {
  const MPI_Comm comm = plex->comm();
  const Comm world(comm);
  const auto& mesh = *plex->mesh();
  collective(comm, [&] {
    LATS_CHECK(!s.dataset.empty(), ConfigurationError,
               "rollout: no dataset; give the trajectories to start from and compare with (-lats_rollout_dataset "
               "FILE, e.g. one made by lats generate)");
    LATS_CHECK(s.repeats >= 1, InvalidValueError, "-lats_rollout_repeats " << s.repeats << " must be at least 1");
    LATS_CHECK(!s.modes.empty(), InvalidValueError, "-lats_rollout_modes: no mode given");
  });
  meshio::DatasetReader reader(comm, s.dataset);
  const auto& h = reader.header();
  collective(comm, [&] {
    LATS_CHECK(reader.numPoints() == mesh.globalSize() && reader.dimension() == mesh.dimension(),
               DimensionMismatchError,
               "rollout: " << s.dataset << " has " << reader.numPoints() << " points in " << reader.dimension()
                           << "D (made on " << h.source << ") but the mesh has " << mesh.globalSize() << " cells in "
                           << mesh.dimension() << "D (" << plex->describe()
                           << "); give the -lats_mesh* options the dataset was made with");
    LATS_CHECK(h.times.size() >= 2, InvalidValueError,
               "rollout: " << s.dataset << " has " << h.times.size() << " snapshot(s); a rollout needs at least 2");
  });
  // The mesh's identity is its description up to the cell count (the rest says how it is
  // partitioned, which differs between runs on different rank counts).
  auto identity = [](const std::string& d) { return d.substr(0, d.find(':')); };
  if (identity(h.source) != identity(plex->describe()))
    logWarning() << "rollout: " << s.dataset << " was made on '" << h.source << "', the mesh here is '"
                 << plex->describe() << "' (same size; the comparison assumes the same cells)";

  RolloutComparison out;
  out.equation = h.equation;
  out.mesh = plex->describe();
  out.dataset = s.dataset;
  out.cells = mesh.globalSize();
  out.ranks = world.size();
  out.times = h.times;
  const auto complete = reader.complete();
  if (s.trajectories.empty()) {
    for (std::size_t m = 0; m < complete.size(); ++m)
      if (complete[m]) out.trajectories.push_back(static_cast<std::int64_t>(m));
  } else {
    out.trajectories = s.trajectories;
  }
  collective(comm, [&] {
    LATS_CHECK(!out.trajectories.empty(), InvalidValueError, "rollout: " << s.dataset << " has no complete trajectory");
    for (const auto m : out.trajectories)
      LATS_CHECK(m >= 0 && m < static_cast<std::int64_t>(complete.size()) && complete[static_cast<std::size_t>(m)],
                 InvalidValueError,
                 "rollout: trajectory " << m << " of " << s.dataset << " does not exist or is incomplete (it has "
                                        << complete.size() << " trajectories; -lats_rollout_trajectories)");
  });
  const std::size_t T = h.times.size();
  const double dt = h.times[1] - h.times[0];
  for (std::size_t k = 1; k + 1 < T; ++k)
    collective(comm, [&] {
      LATS_CHECK(std::abs(h.times[k + 1] - h.times[k] - dt) <= 1e-9 * std::max(1.0, std::abs(dt)), InvalidValueError,
                 "rollout: " << s.dataset << " has unevenly spaced snapshots (t = " << h.times[k] << ", "
                             << h.times[k + 1] << "); rollouts take one step per snapshot interval");
    });

  // Every trajectory's reference, as full-size fields (ghosts unused) named after the equation.
  std::vector<std::vector<Field>> reference(out.trajectories.size());
  std::vector<std::map<std::string, double>> parameters(out.trajectories.size());
  for (std::size_t j = 0; j < out.trajectories.size(); ++j) {
    const auto values = reader.parameters(out.trajectories[j]);
    for (std::size_t k = 0; k < h.parameterNames.size(); ++k) parameters[j][h.parameterNames[k]] = values[k];
    for (std::size_t k = 0; k < T; ++k) {
      const Field f = reader.read(mesh, out.trajectories[j], static_cast<std::int64_t>(k));
      Field full(h.equation, mesh.size(), h.components);
      for (std::int64_t i = 0; i < mesh.ownedSize(); ++i)
        for (int c = 0; c < f.numComponents(); ++c) full.view()(i, c) = f.view()(i, c);
      reference[j].push_back(full);
    }
  }
  out.persistenceError.assign(T, 0.0);
  for (std::size_t j = 0; j < reference.size(); ++j)
    for (std::size_t k = 0; k < T; ++k)
      out.persistenceError[k] += relativeL2(mesh, reference[j][0], reference[j][k]) / reference.size();

  auto classical = [&](std::size_t j) {
    auto c = std::make_unique<ClassicalStepper>(plex, h.equation);
    for (const auto& [name, v] : parameters[j]) c->setParameter(name, v);
    return c;
  };
  // decodeEvery 1: the state is current after every step; 0: only when read (synchronize()).
  auto surrogate = [&](std::size_t j, std::int64_t decodeEvery) {
    SurrogateSettings ss;
    ss.model = s.model;
    ss.parameters = parameters[j];
    ss.dt = dt;
    ss.decodeEvery = decodeEvery;
    return std::make_unique<SurrogateStepper>(ss);
  };
  auto make = [&](const std::string& mode, std::size_t j, std::int64_t decodeEvery) -> std::unique_ptr<TimeStepper> {
    if (mode == "classical") return classical(j);
    if (mode == "surrogate") return surrogate(j, decodeEvery);
    return std::make_unique<HybridStepper>(surrogate(j, decodeEvery), classical(j), s.hybrid);
  };
  // Each run is a host of its own through the host adapter: its array (a copy of the
  // trajectory's first snapshot, owned and ghost cells) wrapped as the field, the stepper set
  // up on it, read on demand (a surrogate decodes only when read).
  auto host = [&](std::size_t j, Field& values, const std::string& mode, std::int64_t decodeEvery) {
    values = reference[j][0].clone();
    auto session = std::make_unique<HostSession>(plex->mesh());
    session->bindField(h.equation, values.numComponents(), values.view().data(), values.componentNames());
    session->setTime(h.times[0], 0);
    session->setUp(make(mode, j, decodeEvery));
    return session;
  };

  std::vector<std::vector<std::vector<Field>>> predictions;  // [mode][trajectory][snapshot]
  for (const auto& mode : s.modes) {
    ModeRollout r;
    r.mode = mode;
    r.seconds = 1e300;
    std::vector<std::vector<Field>> best;
    for (std::int64_t rep = 0; rep < s.repeats; ++rep) {
      std::vector<std::vector<Field>> states(out.trajectories.size());
      std::int64_t ns = 0, nc = 0, nr = 0;
      double setup = 0.0, stepping = 0.0;
      for (std::size_t j = 0; j < out.trajectories.size(); ++j) {
        Field values;
        world.barrier();
        auto t0 = std::chrono::steady_clock::now();
        auto session = host(j, values, mode, 1);
        world.barrier();
        setup += seconds(t0);
        t0 = std::chrono::steady_clock::now();
        states[j].push_back(values.clone());
        for (std::size_t k = 1; k < T; ++k) {
          const auto res = session->step(dt);
          LATS_CHECK(res.ok(), Error,
                     "rollout: the " << mode << " step " << k << " of trajectory " << out.trajectories[j]
                                     << " failed: " << res.reason);
          states[j].push_back(values.clone());
        }
        world.barrier();
        stepping += seconds(t0);
        for (const auto& [name, count] : session->stepper().counters()) {
          if (name == "fast_steps") ns += count;
          if (name == "reference_steps") nc += count;
          if (name == "rollbacks") nr += count;
        }
      }
      // The same horizon with the state read only at the end (the surrogate decodes once):
      // the throughput of a host that wants the result rather than every step.
      double horizon = 0.0, difference = 0.0;
      for (std::size_t j = 0; j < out.trajectories.size(); ++j) {
        Field values;
        auto session = host(j, values, mode, 0);
        world.barrier();
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t k = 1; k < T; ++k) {
          const auto res = session->step(dt);
          LATS_CHECK(res.ok(), Error,
                     "rollout: the " << mode << " step " << k << " of trajectory " << out.trajectories[j]
                                     << " failed: " << res.reason);
        }
        session->synchronize();
        world.barrier();
        horizon += seconds(t0);
        difference = std::max(difference, relativeL2(mesh, values, states[j].back()));
      }
      const double wall = world.max(stepping);
      if (wall < r.seconds) {
        r.seconds = wall;
        r.horizonSeconds = world.max(horizon);
        r.horizonDifference = difference;
        r.setupSeconds = world.max(setup);
        r.surrogateSteps = ns;
        r.classicalSteps = nc;
        r.rollbacks = nr;
        best = std::move(states);
      }
    }
    r.error.assign(T, 0.0);
    for (std::size_t j = 0; j < best.size(); ++j)
      for (std::size_t k = 0; k < T; ++k)
        r.error[k] += relativeL2(mesh, best[j][k], reference[j][k]) / static_cast<double>(best.size());
    logInfo() << "rollout: " << mode << " in " << r.seconds << " s reading every snapshot, " << r.horizonSeconds
              << " s reading the end only (set-up " << r.setupSeconds
              << " s), relative L2 error at t = " << h.times.back() << ": " << r.error.back();
    if (r.horizonDifference > 1e-12)
      logWarning() << "rollout: the " << mode << " end state read only at the end differs from the one read every "
                   << "snapshot by " << r.horizonDifference << " (relative L2)";
    out.modes.push_back(r);
    predictions.push_back(std::move(best));
  }

  if (!s.output.empty()) {
    collective(comm, [&] {
      if (world.rank() == 0) {
        struct stat st {};
        if (stat(s.output.c_str(), &st) != 0) mkdir(s.output.c_str(), 0755);
        LATS_CHECK(stat(s.output.c_str(), &st) == 0 && S_ISDIR(st.st_mode), Error,
                   "rollout: could not create the output directory '" << s.output << "'");
      }
    });
    for (std::size_t m = 0; m < s.modes.size(); ++m) {
      const std::string base = s.output + "/" + s.modes[m];
      meshio::DatasetHeader header = h;
      header.numTrajectories = static_cast<std::int64_t>(out.trajectories.size());
      header.commandLine = s.commandLine;
      header.source = plex->describe();
      if (world.rank() == 0) std::remove((base + ".h5").c_str());  // a rerun replaces its own output
      world.barrier();
      meshio::DatasetWriter writer(base + ".h5", header, mesh, &plex->cellShapes());
      for (std::size_t j = 0; j < out.trajectories.size(); ++j) {
        for (std::size_t k = 0; k < T; ++k)
          writer.writeSnapshot(static_cast<std::int64_t>(j), static_cast<std::int64_t>(k), mesh, predictions[m][j][k]);
        const auto values = reader.parameters(out.trajectories[j]);  // collective
        world.barrier();                                             // every rank's snapshot writes have returned
        collective(comm, [&] {
          if (world.rank() == 0) {
            writer.writeParameters(static_cast<std::int64_t>(j), values);
            writer.markComplete(static_cast<std::int64_t>(j));
          }
        });
      }
      writer.finish();
      // The first trajectory at the last snapshot, for ParaView: reference, prediction, error.
      const Field& p = predictions[m][0].back();
      const Field& ref = reference[0].back();
      Field truth("reference", mesh.size(), h.components), pred("prediction", mesh.size(), h.components),
          err("error", mesh.size(), h.components);
      for (std::int64_t i = 0; i < mesh.size(); ++i)
        for (int c = 0; c < p.numComponents(); ++c) {
          truth.view()(i, c) = ref.view()(i, c);
          pred.view()(i, c) = p.view()(i, c);
          err.view()(i, c) = p.view()(i, c) - ref.view()(i, c);
        }
      meshio::writeVtu(base + "_final", mesh, {truth, pred, err}, h.times.back());
    }
    writeRolloutResults(comm, s.output, out);
  }
  return out;
}

std::string rolloutTable(const RolloutComparison& c) {
  std::ostringstream o;
  const ModeRollout* classical = c.find("classical");
  char line[512];
  std::snprintf(
      line, sizeof line,
      "| mode | stepping [s] | set-up [s] | simulated time / stepping s | speed-up vs classical | read at "
      "the end only [s] | speed-up, read at the end | rel. L2 error at t = %g | mean error over the horizon | "
      "steps |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
      c.times.empty() ? 0.0 : c.times.back());
  o << line;
  const double horizon = c.simulatedTime() * static_cast<double>(c.trajectories.size());
  auto mean = [](const std::vector<double>& e) {
    double sum = 0;
    for (std::size_t k = 1; k < e.size(); ++k) sum += e[k];
    return e.size() > 1 ? sum / static_cast<double>(e.size() - 1) : 0.0;
  };
  for (const auto& m : c.modes) {
    std::string steps;
    if (m.mode == "hybrid")
      steps = std::to_string(m.surrogateSteps) + " surrogate + " + std::to_string(m.classicalSteps) + " classical, " +
              std::to_string(m.rollbacks) + " rollbacks";
    char speed[32] = "-", speedEnd[32] = "-";
    if (classical) {
      std::snprintf(speed, sizeof speed, "%.1f", classical->seconds / m.seconds);
      std::snprintf(speedEnd, sizeof speedEnd, "%.1f", classical->horizonSeconds / m.horizonSeconds);
    }
    std::snprintf(line, sizeof line, "| %s | %.3f | %.3f | %.3g | %s | %.3f | %s | %.3e | %.3e | %s |\n",
                  m.mode.c_str(), m.seconds, m.setupSeconds, horizon / m.seconds, speed, m.horizonSeconds, speedEnd,
                  m.error.back(), mean(m.error), steps.c_str());
    o << line;
  }
  std::snprintf(line, sizeof line, "| persistence (initial state kept) | - | - | - | - | - | - | %.3e | %.3e | |\n",
                c.persistenceError.back(), mean(c.persistenceError));
  o << line;
  return o.str();
}

void writeRolloutResults(MPI_Comm comm, const std::string& dir, const RolloutComparison& c) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  collective(comm, [&] {
    if (rank != 0) return;
    writeFileAtomically(dir + "/errors.csv", [&](const std::string& tmp) {
      std::ofstream out(tmp);
      out << "time";
      for (const auto& m : c.modes) out << "," << m.mode;
      out << ",persistence\n";
      out.precision(10);
      for (std::size_t k = 0; k < c.times.size(); ++k) {
        out << c.times[k];
        for (const auto& m : c.modes) out << "," << m.error[k];
        out << "," << c.persistenceError[k] << "\n";
      }
      LATS_CHECK(out.good(), Error, "could not write '" << dir << "/errors.csv' (does the directory exist?)");
    });
    writeFileAtomically(dir + "/rollout.md", [&](const std::string& tmp) {
      std::ofstream out(tmp);
      out << c.equation << " on " << c.mesh << ", " << c.trajectories.size() << " trajectories of " << c.dataset << ", "
          << c.times.size() - 1 << " steps to t = " << c.times.back() << ", " << c.ranks << " rank(s)\n\n"
          << rolloutTable(c);
      LATS_CHECK(out.good(), Error, "could not write '" << dir << "/rollout.md' (does the directory exist?)");
    });
  });
}

}  // namespace lats::workflows
