// The `lats` command-line tool. A PETSc program: every -lats_ and PETSc option, options
// files (-options_file) and YAML (-options_file_yaml) work here as in any host code.
//
//   lats help                 list verbs
//   lats <verb> -help         options of a verb
#include <petscsys.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "demo.hpp"
#include "lats/lats.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/solvers/classical/generator.hpp"
#include "lats/solvers/neural/latent_rollout.hpp"
#include "lats/solvers/neural/trainer.hpp"

namespace {
namespace nn = lats::solvers::neural;

struct Verb {
  std::string summary;
  std::vector<std::string> options;  // declared option names the verb reads
  std::function<int(lats::Runtime&)> run;
  std::vector<std::pair<std::string, std::string>> defaults = {};  // the verb's own values of shared options
};

const lats::EnumOption kOptionsFormat{
    "options_format", "text", {"text", "markdown"}, "output format of 'lats options' (markdown writes doc/options.md)"};

const lats::StringOption kInfoPath{"info_path", "",
                                   "info: a dataset (.h5) or model checkpoint (directory) to describe"};

/// Describes a dataset: header, sizes, completion, cells, provenance. Collective.
void describeDataset(lats::Runtime& runtime, const std::string& path) {
  lats::meshio::DatasetReader r(runtime.comm(), path);
  const auto& h = r.header();
  const auto complete = r.complete();
  const auto done = std::count(complete.begin(), complete.end(), true);
  if (runtime.rank() != 0) return;
  const char* state = !r.inProgress() ? ""
                      : r.recording()
                          ? ", an unfinished recording of the snapshots below: re-run the host with the same recording "
                            "to continue it from its restart time; it reads as a dataset as it is"
                          : ", in progress: re-run its command to finish it";
  std::printf("dataset %s (format version %d%s)\n", path.c_str(), r.formatVersion(), state);
  std::printf("  equation: %s; components: %s; parameters: %s\n", h.equation.c_str(),
              lats::join(h.components, ", ").c_str(),
              h.parameterNames.empty() ? "(none)" : lats::join(h.parameterNames, ", ").c_str());
  std::printf("  %lld trajectories (%lld complete) x %zu snapshots, t = %g .. %g\n",
              static_cast<long long>(h.numTrajectories), static_cast<long long>(done), h.times.size(),
              h.times.empty() ? 0.0 : h.times.front(), h.times.empty() ? 0.0 : h.times.back());
  std::printf("  %lld points in %dD%s\n", static_cast<long long>(r.numPoints()), r.dimension(),
              r.hasCells() ? ", with their cells" : " (no cells)");
  std::printf("  source: %s\n  seed: %llu\n  command: %s\n", h.source.c_str(), static_cast<unsigned long long>(h.seed),
              h.commandLine.c_str());
}

/// Describes a model checkpoint (loading it, so a broken one fails here). Collective.
void describeModel(lats::Runtime& runtime, const std::string& dir) {
  lats::solvers::neural::LatentRollout model(runtime.comm(), dir);
  const auto& i = model.info();
  if (runtime.rank() != 0) return;
  std::vector<std::string> fields;
  for (std::size_t k = 0; k < i.fieldNames.size(); ++k)
    fields.push_back(i.fieldNames[k] + " (" + std::to_string(i.fieldComponents[k]) + ")");
  std::printf(
      "model %s\n  %dD, fields: %s\n  %lld tokens x %lld latent dims, %s dynamics, history %lld, time "
      "step %g\n  PDE parameters: %s\n",
      dir.c_str(), i.spatialDim, lats::join(fields, ", ").c_str(), static_cast<long long>(i.numTokens),
      static_cast<long long>(i.latentDim), i.dynamics.c_str(), static_cast<long long>(i.history), i.timeStep,
      i.parameterNames.empty() ? "(none)" : lats::join(i.parameterNames, ", ").c_str());
}

int runInfo(lats::Runtime& runtime) {
  const std::string path = kInfoPath.get();
  if (!path.empty()) {
    struct stat st {};
    LATS_CHECK(stat(path.c_str(), &st) == 0, lats::FileFormatError,
               "'" << path << "' does not exist; give a dataset file or a model directory (-lats_info_path)");
    if (S_ISDIR(st.st_mode))
      describeModel(runtime, path);
    else
      describeDataset(runtime, path);
    return 0;
  }
  if (runtime.rank() == 0) {
    std::printf("LaTS %s\n", lats::version());
    std::printf("ranks: %d (%d on this node), cores on node: %d, threads per rank: %d\n", runtime.size(),
                runtime.ranksOnNode(), runtime.coresOnNode(), runtime.threadsPerRank());
    std::printf("time steppers: %s\n", lats::join(lats::timeSteppers().names(), ", ").c_str());
    std::printf("hybrid trust policies: %s\n", lats::join(lats::coupling::trustPolicies().names(), ", ").c_str());
    std::printf("analysis strategies: %s\n", lats::join(lats::coupling::analysisStrategies().names(), ", ").c_str());
    for (const char* role : {"encoder", "decoder", "dynamics", "sampler"})
      std::printf("%s: %s\n", role, lats::join(nn::registeredNames(role), ", ").c_str());
  }
  return 0;
}

int runOptions(lats::Runtime& runtime) {
  const std::string format = kOptionsFormat.get();
  if (runtime.rank() != 0) return 0;
  if (format == "markdown") {
    std::cout << "# Options reference\n\nGenerated from the option declarations by `scripts/gen-options-doc.sh`\n"
              << "(`lats options -lats_options_format markdown`); the `doc_options_up_to_date` test fails when\n"
              << "this file is stale. Every option can be given on the command line, in an options file\n"
              << "(`-options_file`) or in YAML (`-options_file_yaml`).\n\n";
    lats::Options::printMarkdown(std::cout);
  } else {
    lats::Options::printHelp(std::cout);
  }
  return 0;
}

std::string gCommandLine;  // provenance for files the verbs write
const lats::StringOption kTrainTest{"train_test_dataset", "",
                                    "train: after training, report the accuracy on this dataset's trajectories"};

int runGenerate(lats::Runtime& runtime) {
  auto settings = lats::solvers::GeneratorSettings::fromOptions();
  settings.commandLine = gCommandLine;
  lats::solvers::generateDataset(runtime.comm(), settings);
  return 0;
}

int runConvert(lats::Runtime& runtime) {
  auto settings = lats::meshio::ConvertSettings::fromOptions();
  settings.commandLine = gCommandLine;
  lats::meshio::convertToDataset(runtime.comm(), settings);  // logs what it wrote
  return 0;
}

int runTrain(lats::Runtime& runtime) {
  auto settings = lats::solvers::neural::TrainerSettings::fromOptions();
  settings.commandLine = gCommandLine;
  const auto r = lats::solvers::neural::trainModel(runtime.comm(), settings);
  if (runtime.rank() == 0) {
    if (!r.finished) {
      std::printf("stopped at step %zu (-lats_train_stop_after); run the same command again to resume\n",
                  r.autoencoderLoss.size() + r.dynamicsLoss.size());
    } else if (r.validationAccuracy.trajectories == 0) {
      std::printf("trained %s in %.1f s (no validation split: -lats_train_validation 0)\n", r.checkpoint.c_str(),
                  r.seconds);
    } else {
      std::printf(
          "trained %s in %.1f s: validation relative MSE reconstruction %.3e, rollout %.3e (%lld "
          "trajectories)\n",
          r.checkpoint.c_str(), r.seconds, r.validationAccuracy.reconstruction, r.validationAccuracy.rollout,
          static_cast<long long>(r.validationAccuracy.trajectories));
    }
  }
  const std::string test = kTrainTest.get();
  if (r.finished && !test.empty()) {
    const auto a = lats::solvers::neural::evaluateModel(runtime.comm(), r.checkpoint, test);
    if (runtime.rank() == 0)
      std::printf("test %s: relative MSE reconstruction %.3e, rollout %.3e over %zu snapshots (%lld trajectories)\n",
                  test.c_str(), a.reconstruction, a.rollout, a.rolloutByTime.size(),
                  static_cast<long long>(a.trajectories));
  }
  return 0;
}

const lats::StringOption kEvaluateModel{"evaluate_model", "lats_model", "evaluate: the checkpoint directory"};
const lats::StringOption kEvaluateDataset{"evaluate_dataset", "",
                                          "evaluate: the dataset whose trajectories are predicted"};

int runEvaluate(lats::Runtime& runtime) {
  const std::string dataset = kEvaluateDataset.get();
  LATS_CHECK(!dataset.empty(), lats::ConfigurationError,
             "evaluate: no dataset; give the trajectories to predict with -lats_evaluate_dataset FILE");
  const auto a = lats::solvers::neural::evaluateModel(runtime.comm(), kEvaluateModel.get(), dataset);
  if (runtime.rank() == 0) {
    std::printf("%s on %s (%lld trajectories): relative MSE reconstruction %.3e, rollout %.3e\n",
                kEvaluateModel.get().c_str(), dataset.c_str(), static_cast<long long>(a.trajectories), a.reconstruction,
                a.rollout);
    std::printf("rollout relative MSE by snapshot:");
    for (double v : a.rolloutByTime) std::printf(" %.2e", v);
    std::printf("\n");
  }
  return 0;
}

int runAssimilate(lats::Runtime& runtime) {
  const auto settings = lats::workflows::TwinSettings::fromOptions();
  const auto plex = lats::meshio::PlexMesh::fromOptions(runtime.comm(), 2);
  const auto results = lats::workflows::runTwinExperiment(plex, settings);
  if (runtime.rank() == 0)
    std::printf("twin experiment: %s on %s, %lld steps, noise %g, %lld members\n\n%s", settings.equation.c_str(),
                plex->describe().c_str(), static_cast<long long>(settings.steps), settings.noise,
                static_cast<long long>(settings.da.ensembleSize), lats::workflows::twinTable(results).c_str());
  if (!settings.output.empty()) {
    if (runtime.rank() == 0) mkdir(settings.output.c_str(), 0755);
    MPI_Barrier(runtime.comm());
    lats::workflows::writeTwinResults(runtime.comm(), settings.output, results);
    if (runtime.rank() == 0) std::printf("\nwrote %s/twin.md and per-time scores (CSV)\n", settings.output.c_str());
  }
  return 0;
}

const lats::IntOption kBenchRepeats{"bench_repeats", 3, "bench: runs of each mode; the fastest is reported"};

int runRollout(lats::Runtime& runtime, bool bench) {
  auto settings = lats::workflows::RolloutSettings::fromOptions();
  settings.commandLine = gCommandLine;
  if (bench) settings.repeats = kBenchRepeats.get();
  LATS_CHECK(!settings.dataset.empty(), lats::ConfigurationError,
             "no dataset; give the trajectories to start from and compare with: -lats_rollout_dataset FILE (made by "
             "lats generate on the same mesh options)");
  const int dim = lats::meshio::DatasetReader(runtime.comm(), settings.dataset).dimension();
  const auto plex = lats::meshio::PlexMesh::fromOptions(runtime.comm(), dim);
  const auto c = lats::workflows::compareRollouts(plex, settings);
  if (runtime.rank() == 0) {
    std::printf(
        "%s: %s on %s, %zu trajectories of %s, %zu steps to t = %g, %d rank(s), %d torch "
        "thread(s)%s\n\n%s",
        bench ? "bench" : "rollout", c.equation.c_str(), c.mesh.c_str(), c.trajectories.size(), c.dataset.c_str(),
        c.times.size() - 1, c.times.back(), c.ranks, runtime.threadsPerRank(),
        bench ? (", fastest of " + std::to_string(settings.repeats) + " runs").c_str() : "",
        lats::workflows::rolloutTable(c).c_str());
    if (!settings.output.empty())
      std::printf(
          "\nwrote %s/{errors.csv,rollout.md} and each mode's trajectories (.h5 + .xmf) and final state (.pvtu)\n",
          settings.output.c_str());
  }
  return 0;
}

// Every declared option whose name starts with one of `prefixes`, then `extra`: a verb's
// list follows the declarations (a new component's -lats_model_ options appear by themselves).
std::vector<std::string> declaredWith(const std::vector<std::string>& prefixes, std::vector<std::string> extra) {
  std::vector<std::string> out;
  for (const auto& spec : lats::Options::declared())
    for (const auto& p : prefixes)
      if (spec.name.rfind(p, 0) == 0) {
        out.push_back(spec.name);
        break;
      }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

// A verb's options plus those of the mesh and initial conditions it builds from options.
std::vector<std::string> withMeshOptions(std::vector<std::string> options) {
  for (const char* name : {"mesh", "mesh_cells", "mesh_boundary", "mesh_jitter", "mesh_length", "mesh_seed", "ic",
                           "ic_amplitude", "ic_offset", "ic_modes", "fv_cfl"})
    options.push_back(name);
  return options;
}

std::map<std::string, Verb>& verbs() {
  static std::map<std::string, Verb> v = {
      {"assimilate",
       {"twin experiment: truth from the classical solver, sparse noisy observations, free surrogate run vs EnKF "
        "(classical and surrogate members) vs guided sampling; RMSE, CRPS, spread-skill, wall time",
        withMeshOptions({"equation",
                         "twin_model",
                         "twin_guided_model",
                         "twin_fractions",
                         "twin_noise",
                         "twin_steps",
                         "twin_seed",
                         "twin_sample_parameters",
                         "twin_methods",
                         "twin_output",
                         "da_type",
                         "ensemble_size",
                         "da_member_ranks",
                         "da_init_spread",
                         "da_inflation",
                         "da_localisation",
                         "da_seed",
                         "da_rtps",
                         "da_space",
                         "da_guidance_gamma",
                         "da_guidance_model_error",
                         "da_guidance_corrections",
                         "threads",
                         "log_level"}),
        runAssimilate}},
      {"convert",
       {"convert a gmsh .msh (with element/node data), .vtu/.pvtu, .pvd time series or OpenFOAM case to a dataset",
        {"convert_input", "convert_output", "convert_fields", "convert_compression", "convert_overwrite", "log_level"},
        runConvert}},
      {"bench",
       {"speed of the classical, surrogate and hybrid steppers on a dataset's trajectories (fastest of "
        "-lats_bench_repeats runs): simulated time per wall second, speed-up, error at the end",
        withMeshOptions({"rollout_model", "rollout_dataset", "rollout_trajectories", "rollout_modes", "bench_repeats",
                         "rollout_output", "hybrid_policy", "hybrid_surrogate_steps", "hybrid_classical_steps",
                         "hybrid_residual_every", "hybrid_residual_tol", "hybrid_start_classical", "threads",
                         "log_level"}),
        [](lats::Runtime& r) { return runRollout(r, true); }}},
      {"demo",
       {"the end-to-end demo: data from a PETSc solver on an irregular mesh, training, classical vs surrogate vs "
        "hybrid rollouts, assimilation, report with figures (reuses finished stages)",
        lats::apps::demoOptions(), [](lats::Runtime& r) { return lats::apps::runDemo(r, gCommandLine); },
        lats::apps::demoDefaults()}},
      {"evaluate",
       {"accuracy of a trained model on a dataset: reconstruction and rollout relative MSE (whole horizon and per "
        "snapshot)",
        {"evaluate_model", "evaluate_dataset", "threads", "log_level"},
        runEvaluate}},
      {"rollout",
       {"classical / surrogate / hybrid rollouts from a dataset's initial states: error against its trajectories "
        "at every snapshot, timings, predicted trajectories for ParaView",
        withMeshOptions({"rollout_model", "rollout_dataset", "rollout_trajectories", "rollout_modes", "rollout_repeats",
                         "rollout_output", "hybrid_policy", "hybrid_surrogate_steps", "hybrid_classical_steps",
                         "hybrid_conserved_tol", "hybrid_bound_tol", "hybrid_spread_tol", "hybrid_residual_every",
                         "hybrid_residual_tol", "hybrid_fallback_steps", "hybrid_start_classical", "threads",
                         "log_level"}),
        [](lats::Runtime& r) { return runRollout(r, false); }}},
      {"generate",
       {"run N trajectories of an equation with sampled parameters and initial conditions into an HDF5 dataset "
        "(resumes an interrupted file)",
        withMeshOptions({"equation", "generate_output", "generate_trajectories", "generate_snapshots",
                         "generate_final_time", "generate_dt", "generate_every", "generate_seed",
                         "generate_sample_parameters", "generate_ranges", "generate_parallel", "generate_compression",
                         "generate_progress", "fv_limiter", "log_level"}),
        runGenerate}},
      {"train",
       {"train a latent model on a dataset (autoencoder, then latent dynamics); resumes an interrupted run",
        declaredWith({"train_", "model_"}, {"threads", "log_level"}), runTrain}},
      {"info",
       {"describe this installation (version, ranks, threads, steppers), or a dataset or model checkpoint "
        "(-lats_info_path)",
        {"info_path", "threads"},
        runInfo}},
      {"options", {"list every -lats_ option with its type, default and help", {"options_format"}, runOptions}},
  };
  return v;
}

void printVerbs() {
  std::printf("usage: lats <verb> [options]    (lats <verb> -help for the verb's options)\n\nverbs:\n");
  std::printf("  %-10s %s\n", "help", "list the verbs");
  for (const auto& [name, verb] : verbs()) std::printf("  %-10s %s\n", name.c_str(), verb.summary.c_str());
  std::printf("\nregistered components (chosen with -lats_model_encoder, _decoder, _dynamics, _sampler):\n");
  for (const char* role : {"encoder", "decoder", "dynamics", "sampler"})
    std::printf("  %-10s %s\n", role, lats::join(nn::registeredNames(role), ", ").c_str());
}

void printVerbHelp(const std::string& verbName, const Verb& verb) {
  std::printf("lats %s: %s\n\noptions:\n", verbName.c_str(), verb.summary.c_str());
  for (const auto& o : verb.options) {
    const auto s = lats::Options::spec(o);
    std::string value = s.defaultValue;
    for (const auto& [name, v] : verb.defaults)
      if (name == o) value = v + ", set by 'lats " + verbName + "'";
    std::printf("  -lats_%-24s %s (default: %s)\n", o.c_str(), s.help.c_str(), value.c_str());
  }
  std::printf("\nevery PETSc option works too; -lats_view prints the effective configuration.\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string verb = argc > 1 ? argv[1] : "help";
  for (int i = 0; i < argc; ++i) gCommandLine += (i ? " " : "") + std::string(argv[i]);
  bool wantsHelp = false;
  for (int i = 2; i < argc; ++i)
    if (!std::strcmp(argv[i], "-help") || !std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h"))
      wantsHelp = true;
  // Hide the verb, and a verb's -help (answered here), from PETSc's option parser.
  std::vector<char*> args = {argv[0]};
  for (int i = 2; i < argc; ++i)
    if (!(wantsHelp &&
          (!std::strcmp(argv[i], "-help") || !std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h"))))
      args.push_back(argv[i]);
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);  // argv[argc] must be NULL for MPI and PETSc
  char** a = args.data();
  // MPI is started here rather than by the runtime so that an error raised while the
  // runtime starts can still be reported once, by rank 0.
  int provided = 0, rank = 0;
  MPI_Init_thread(&n, &a, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int rc = 0;
  try {
    lats::registerAll();  // steppers and equations, and with them every component's options
    lats::Runtime runtime(&n, &a);
    if (verb == "help" || verb == "-help" || verb == "--help") {
      if (runtime.rank() == 0) printVerbs();
    } else if (verbs().count(verb)) {
      if (wantsHelp) {
        if (runtime.rank() == 0) printVerbHelp(verb, verbs().at(verb));
      } else {
        rc = verbs().at(verb).run(runtime);
      }
    } else {
      std::vector<std::string> names = {"help"};
      for (const auto& [k, v] : verbs()) names.push_back(k);
      if (runtime.rank() == 0)
        std::fprintf(stderr, "lats: unknown verb '%s'.%s\nhint: 'lats help' lists the verbs.\n", verb.c_str(),
                     lats::didYouMean(verb, names).c_str());
      rc = 2;
    }
  } catch (const lats::Error& e) {
    // Errors are collective, so every rank has the same message: print it once.
    // Library messages often start with the component's name; the verb's is not repeated.
    std::string message = e.what();
    if (message.rfind(verb + ": ", 0) == 0) message.erase(0, verb.size() + 2);
    if (rank == 0)
      std::fprintf(stderr, "lats %s: %s\nhint: 'lats %s -help' lists its options.\n", verb.c_str(), message.c_str(),
                   verb.c_str());
    rc = 2;
  }
  MPI_Finalize();
  return rc;
}
