// Twin experiments: truth, observations, free run, EnKF (classical and surrogate members),
// guided sampling; scores and timings.
#include "lats/workflows/twin_experiment.hpp"

#include <unistd.h>

#include <algorithm>
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
#include "lats/coupling/surrogate_stepper.hpp"
#include "lats/solvers/assimilation/ensemble.hpp"
#include "lats/solvers/assimilation/observation_operator.hpp"
#include "lats/solvers/classical/fv_operator.hpp"
#include "lats/solvers/classical/initial_conditions.hpp"

namespace lats::workflows {

using namespace lats::coupling;  // the steppers a workflow runs

namespace da = solvers::assimilation;

namespace {
const StringOption kModel{"twin_model", "", "twin: deterministic surrogate checkpoint (free run, surrogate members)"};
const StringOption kGuidedModel{"twin_guided_model", "",
                                "twin: diffusion surrogate checkpoint for guided sampling (empty: skip guided)"};
const StringOption kFractions{"twin_fractions", "0.01,0.05,0.1", "twin: sensors as fractions of the mesh points"};
const RealOption kNoise{"twin_noise", 0.01, "twin: standard deviation of the observation noise"};
const IntOption kSteps{"twin_steps", 10, "twin: model steps, each ending at an observation time"};
const IntOption kSeed{"twin_seed", 101, "twin: seed of the truth's parameters and initial condition (prior: +1)"};
const StringOption kMethods{"twin_methods", "free,enkf_classical,enkf_surrogate,enkf_latent,guided",
                            "twin: methods to compare (free, enkf_classical, enkf_surrogate, enkf_latent, guided)"};
const BoolOption kSampleParameters{
    "twin_sample_parameters", true,
    "twin: draw the truth's PDE parameters from their ranges (false: the equation's option values)"};
const StringOption kOutput{"twin_output", "", "twin: directory for twin.md and per-time CSV scores"};
const std::vector<std::string> kKnownMethods = {"free", "enkf_classical", "enkf_surrogate", "enkf_latent", "guided"};

// Values of the initial-condition family's draw `seed` at the points of `mesh`.
void fillInitial(const meshio::PlexMesh& plex, const solvers::FvOperator& op, const Mesh& mesh, std::uint64_t seed,
                 State& s) {
  const auto ic = solvers::initialCondition(op, plex, seed);
  const auto x = mesh.coordinates();
  const int dim = mesh.dimension();
  std::vector<double> u(static_cast<std::size_t>(op.numComponents()));
  for (std::int64_t i = 0; i < mesh.size(); ++i) {
    double xyz[3] = {0, 0, 0};
    for (int d = 0; d < dim; ++d) xyz[d] = x(i, d);
    ic(xyz, u.data());
    for (int c = 0; c < op.numComponents(); ++c) s.fields()[0].view()(i, c) = u[static_cast<std::size_t>(c)];
  }
}

State makeState(const meshio::PlexMesh& plex, const solvers::FvOperator& op, const std::string& equation,
                std::uint64_t seed) {
  const auto& mesh = *plex.mesh();
  State s;
  s.add(Field(equation, mesh.size(), op.components()));
  fillInitial(plex, op, mesh, seed, s);
  return s;
}

}  // namespace

TwinSettings TwinSettings::fromOptions() {
  TwinSettings s;
  s.equation = solvers::equationFromOptions();
  s.model = kModel.get();
  s.guidedModel = kGuidedModel.get();
  s.fractions.clear();
  for (const auto& item : splitList(kFractions.get())) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    LATS_CHECK(end == item.c_str() + item.size() && v > 0.0 && v <= 1.0, InvalidValueError,
               "-lats_twin_fractions: '" << item << "' is not a fraction in (0, 1]; e.g. 0.01,0.05,0.1");
    s.fractions.push_back(v);
  }
  s.noise = kNoise.get();
  s.steps = kSteps.get();
  s.seed = static_cast<std::uint64_t>(kSeed.get());
  s.methods = splitList(kMethods.get());
  for (const auto& m : s.methods)
    LATS_CHECK(std::find(kKnownMethods.begin(), kKnownMethods.end(), m) != kKnownMethods.end(), ConfigurationError,
               "-lats_twin_methods: unknown method '" << m << "'." << didYouMean(m, kKnownMethods)
                                                      << " Methods: " << join(kKnownMethods, ", "));
  s.sampleParameters = kSampleParameters.get();
  s.output = kOutput.get();
  s.da = AssimilationSettings::fromOptions();
  if (s.da.type == "guided") s.da.type = "letkf";  // the EnKF methods need a filter; guided is its own method
  return s;
}

std::vector<TwinResult> runTwinExperiment(std::shared_ptr<const meshio::PlexMesh> plex, const TwinSettings& s) {
  const MPI_Comm comm = plex->comm();
  auto mesh = plex->mesh();
  collective(comm, [&] {
    LATS_CHECK(!s.model.empty(), ConfigurationError,
               "twin experiment: no surrogate; give the checkpoint of a model trained on this equation with "
               "-lats_twin_model DIR");
    LATS_CHECK(s.steps >= 1, InvalidValueError, "-lats_twin_steps " << s.steps << " must be at least 1");
    LATS_CHECK(std::isfinite(s.noise) && s.noise > 0, InvalidValueError,
               "-lats_twin_noise " << s.noise << " must be positive");
    LATS_CHECK(!s.fractions.empty() && !s.methods.empty(), InvalidValueError,
               "twin experiment: no sensor fractions or no methods");
  });
  auto op = solvers::fvOperators().create(s.equation);
  std::map<std::string, double> parameters;
  if (s.sampleParameters) {
    parameters = solvers::sampleParameters(*op, s.seed);
  } else {
    op->setFromOptions();
    for (const auto& p : op->parameters()) parameters[p.name] = p.value;
  }
  auto classicalMember = [&] {
    auto c = std::make_unique<ClassicalStepper>();
    c->setEquation(s.equation);
    for (const auto& [k, v] : parameters) c->setParameter(k, v);
    return c;
  };
  auto surrogate = [&](const std::string& model) {
    SurrogateSettings ss;
    ss.model = model;
    ss.parameters = parameters;
    return std::make_unique<SurrogateStepper>(ss);
  };
  auto plexFor = [plex](MPI_Comm group) {
    int same = MPI_UNEQUAL;
    MPI_Comm_compare(group, plex->comm(), &same);
    return same == MPI_IDENT || same == MPI_CONGRUENT ? plex : meshio::PlexMesh::fromOptions(group, plex->dimension());
  };

  // The model's step is the observation interval.
  State truth0 = makeState(*plex, *op, s.equation, s.seed);
  State prior0 = makeState(*plex, *op, s.equation, s.seed + 1);
  double dt = 0.0;
  {
    auto probe = surrogate(s.model);
    State tmp = prior0.clone();
    probe->setUp(mesh, tmp);
    dt = probe->modelTimeStep();
  }
  // Truth run.
  std::vector<State> truths;
  {
    auto stepper = classicalMember();
    stepper->setPlexMesh(plex);
    State t = truth0.clone();
    stepper->setUp(mesh, t);
    for (std::int64_t k = 0; k < s.steps; ++k) {
      const auto r = stepper->step(t, dt);
      LATS_CHECK(r.ok(), Error, "twin experiment: the truth run failed at step " << k << ": " << r.reason);
      truths.push_back(t.clone());
    }
  }
  da::EnsembleExchange single(comm, mesh, truth0, {0}, 1);
  std::vector<TwinResult> results;
  for (double fraction : s.fractions) {
    const auto count = std::max<std::int64_t>(1, std::llround(fraction * static_cast<double>(mesh->globalSize())));
    std::vector<std::string> components;
    for (const auto& c : op->components()) components.push_back(s.equation + "." + c);
    const auto sensors = da::sensorsAtRandomPoints(*mesh, count, components, s.noise, s.seed + 7);
    da::ObservationOperator h(mesh, truth0, sensors);
    da::ObservationSeries series;
    for (std::int64_t k = 0; k < s.steps; ++k)
      series.batches.push_back(
          da::observe(h, truths[static_cast<std::size_t>(k)], s.seed + 11, static_cast<std::uint64_t>(k)));
    for (const auto& method : s.methods) {
      if (method == "guided" && s.guidedModel.empty()) continue;
      TwinResult r;
      r.method = method;
      r.fraction = fraction;
      r.sensors = count;
      State state = prior0.clone();
      const double start = MPI_Wtime();
      if (method == "free") {
        auto stepper = surrogate(s.model);
        stepper->setUp(mesh, state);
        for (std::int64_t k = 0; k < s.steps; ++k) {
          const double t0 = MPI_Wtime();
          const auto res = stepper->step(state, dt);
          r.forecastSeconds += MPI_Wtime() - t0;
          LATS_CHECK(res.ok(), Error, "twin experiment: the free run failed: " << res.reason);
          r.scores.add(da::scoreEnsemble(comm, single.gather({&state}),
                                         single.gather({&truths[static_cast<std::size_t>(k)]}), state.time()));
        }
      } else {
        AssimilationSettings das = s.da;
        MemberFactory factory;
        if (method == "enkf_classical") {
          factory = plexMemberFactory(plexFor, classicalMember);
        } else {
          const std::string model = method == "guided" ? s.guidedModel : s.model;
          factory.surrogate = [&surrogate, model] { return surrogate(model); };
          if (das.memberRanks != 0) factory.mesh = [mesh](MPI_Comm) { return mesh; };
          if (method == "guided") das.type = "guided";
        }
        if (method == "enkf_surrogate" || method == "enkf_latent") das.memberRanks = 0;  // on the host's mesh
        if (method == "enkf_latent") das.space = "latent";
        // A climatological initial ensemble: draws of the initial-condition family.
        factory.initial = [&](std::int64_t member, const Mesh& m, State& st) {
          fillInitial(*plex, *op, m, s.seed + 1000 + static_cast<std::uint64_t>(member), st);
        };
        AssimilatingStepper stepper(factory, das, series);
        stepper.setUp(mesh, state);
        for (std::int64_t k = 0; k < s.steps; ++k) {
          const auto res = stepper.step(state, dt);
          LATS_CHECK(res.ok(), Error, "twin experiment: " << method << " failed: " << res.reason);
          r.scores.add(da::scoreEnsemble(comm, stepper.members(),
                                         stepper.hostBlock(truths[static_cast<std::size_t>(k)]), state.time()));
        }
        r.forecastSeconds = stepper.forecastSeconds();
      }
      r.seconds = MPI_Wtime() - start;
      // Times of the slowest rank.
      double t[2] = {r.seconds, r.forecastSeconds}, tmax[2];
      MPI_Allreduce(t, tmax, 2, MPI_DOUBLE, MPI_MAX, comm);
      r.seconds = tmax[0], r.forecastSeconds = tmax[1];
      const auto o = r.scores.overall();
      logInfo() << "twin: " << method << " with " << count << " sensors (" << fraction * 100 << "%): RMSE " << o.rmse
                << ", CRPS " << o.crps << ", spread-skill " << o.spreadSkill << ", " << r.seconds << " s (forecasts "
                << r.forecastSeconds << " s)";
      results.push_back(std::move(r));
    }
  }
  return results;
}

std::string twinTable(const std::vector<TwinResult>& results) {
  std::ostringstream os;
  os << "| sensors | method | RMSE | RMSE / free run | CRPS | spread-skill | wall time (s) | forecast time (s) |\n"
     << "|---|---|---|---|---|---|---|---|\n";
  char buf[512];
  for (const auto& r : results) {
    double free = NAN;
    for (const auto& q : results)
      if (q.method == "free" && q.fraction == r.fraction) free = q.scores.overall().rmse;
    const auto o = r.scores.overall();
    std::snprintf(buf, sizeof buf, "| %g%% (%lld) | %s | %.3e | %s | %.3e | %s | %.2f | %.2f |\n", r.fraction * 100,
                  static_cast<long long>(r.sensors), r.method.c_str(), o.rmse,
                  std::isnan(free) ? "-" : (std::to_string(o.rmse / free).substr(0, 5)).c_str(), o.crps,
                  r.method == "free" ? "-" : std::to_string(o.spreadSkill).substr(0, 5).c_str(), r.seconds,
                  r.forecastSeconds);
    os << buf;
  }
  return os.str();
}

void writeTwinResults(MPI_Comm comm, const std::string& dir, const std::vector<TwinResult>& results) {
  for (const auto& r : results) {
    char name[256];
    std::snprintf(name, sizeof name, "%s/%s_%g.csv", dir.c_str(), r.method.c_str(), r.fraction);
    r.scores.writeCsv(comm, name);
  }
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  collective(comm, [&] {
    if (rank != 0) return;
    writeFileAtomically(dir + "/twin.md", [&](const std::string& tmp) {
      std::ofstream out(tmp);
      out << twinTable(results);
      LATS_CHECK(out.good(), Error, "could not write '" << dir << "/twin.md' (does the directory exist?)");
    });
  });
}

}  // namespace lats::workflows
