// lats demo: data generation, training, classical/surrogate/hybrid rollouts, a twin
// experiment and the report, on built-in defaults that every -lats_ option overrides.
#include "demo.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "lats/lats.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/solvers/classical/generator.hpp"
#include "lats/solvers/neural/trainer.hpp"

#ifndef LATS_SOURCE_DIR
#define LATS_SOURCE_DIR ""
#endif
#ifndef LATS_DATA_DIR
#define LATS_DATA_DIR ""
#endif

namespace lats::apps {

namespace {

const EnumOption kSize{"demo_size",
                       "default",
                       {"small", "default"},
                       "demo: problem size: small (about a minute, every stage; for CI) or default (about 6 "
                       "minutes on 2 cores)"};
const StringOption kOutput{"demo_output", "demo-output",
                           "demo: directory for the data, the model, the ParaView files and report/"};
const BoolOption kFresh{"demo_fresh", false,
                        "demo: recompute everything (default: reuse finished datasets and a finished training)"};
const IntOption kTrainTrajectories{"demo_train_trajectories", 0, "demo: training trajectories (0: 96, small: 16)"};
const IntOption kTestTrajectories{"demo_test_trajectories", 0,
                                  "demo: held-out trajectories for the rollouts (0: 8, small: 2)"};
const BoolOption kFigures{"demo_figures", true, "demo: draw the report's PNG figures (needs python3-matplotlib)"};

using OptionList = std::vector<std::pair<std::string, std::string>>;

// The demo's problem: advection-diffusion of smooth random fields (velocity (1, 0.5),
// viscosity 0.01) on a jittered periodic triangulation, one domain crossing in x per unit
// time. Any of these can be overridden on the command line.
OptionList presetOptions(const std::string& size) {
  const bool small = size == "small";
  return {
      {"equation", "advection_diffusion"},
      {"mesh_cells", small ? "8" : "16"},
      {"ic", "grf"},
      {"ic_modes", "2"},
      {"generate_snapshots", small ? "10" : "20"},
      {"generate_final_time", "1"},
      {"generate_sample_parameters", "false"},
      {"train_autoencoder_steps", small ? "300" : "7000"},
      {"train_dynamics_steps", small ? "200" : "3000"},
      {"train_unroll", "2"},
      {"train_batch", "8"},
      {"train_point_fraction", "1"},
      {"train_validate_every", small ? "100" : "1000"},
      {"train_checkpoint_every", small ? "100" : "500"},
      {"model_tokens", "16"},
      {"rollout_trajectories", "all"},
      {"twin_fractions", "0.05"},
      {"twin_noise", "0.02"},
      {"twin_steps", small ? "5" : "20"},
      {"twin_methods", "free,enkf_classical,enkf_surrogate"},
      {"twin_sample_parameters", "false"},
      {"ensemble_size", small ? "8" : "16"},
      {"da_localisation", "0.2"},
      {"da_inflation", "1.1"},
  };
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string htmlEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else
      o += c;
  }
  return o;
}

// Inline Markdown of the report's own text: `code` only.
std::string inlineHtml(const std::string& s) {
  std::string o;
  bool code = false;
  for (char c : htmlEscape(s)) {
    if (c == '`') {
      o += code ? "</code>" : "<code>";
      code = !code;
    } else {
      o += c;
    }
  }
  if (code) o += "</code>";
  return o;
}

/// The report, written as Markdown and HTML side by side.
class Report {
 public:
  void heading(int level, const std::string& text) {
    md_ << std::string(static_cast<std::size_t>(level), '#') << " " << text << "\n\n";
    html_ << "<h" << level << ">" << inlineHtml(text) << "</h" << level << ">\n";
  }
  void paragraph(const std::string& text) {
    md_ << text << "\n\n";
    html_ << "<p>" << inlineHtml(text) << "</p>\n";
  }
  void code(const std::string& text) {
    md_ << "```\n" << text << "\n```\n\n";
    html_ << "<pre>" << htmlEscape(text) << "</pre>\n";
  }
  /// A Markdown table (header, separator, rows), as rolloutTable/twinTable make them.
  void table(const std::string& markdown) {
    md_ << markdown << "\n";
    html_ << "<table>\n";
    std::istringstream in(markdown);
    std::string line;
    int row = 0;
    while (std::getline(in, line)) {
      if (line.size() < 2 || line[0] != '|') continue;
      if (row++ == 1) continue;  // |---|---|
      html_ << "<tr>";
      std::size_t a = 1;
      while (a < line.size()) {
        const auto b = line.find('|', a);
        if (b == std::string::npos) break;
        std::string cell = line.substr(a, b - a);
        while (!cell.empty() && cell.front() == ' ') cell.erase(0, 1);
        while (!cell.empty() && cell.back() == ' ') cell.pop_back();
        const char* tag = row == 1 ? "th" : "td";
        html_ << "<" << tag << ">" << inlineHtml(cell) << "</" << tag << ">";
        a = b + 1;
      }
      html_ << "</tr>\n";
    }
    html_ << "</table>\n";
  }
  void image(const std::string& file, const std::string& caption) {
    md_ << "![" << caption << "](" << file << ")\n\n*" << caption << "*\n\n";
    html_ << "<figure><img src=\"" << file << "\" alt=\"" << htmlEscape(caption) << "\"><figcaption>"
          << inlineHtml(caption) << "</figcaption></figure>\n";
  }
  std::string markdown() const { return md_.str(); }
  std::string html(const std::string& title) const {
    return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + htmlEscape(title) +
           "</title>\n<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}"
           "td:first-child,th:first-child{text-align:left}img{max-width:100%}pre{background:#f4f4f4;padding:.5em;"
           "white-space:pre-wrap}figcaption{font-style:italic}</style></head><body>\n" +
           html_.str() + "</body></html>\n";
  }

 private:
  std::ostringstream md_, html_;
};

void writeText(const std::string& path, const std::string& text) {
  writeFileAtomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp);
    out << text;
    LATS_CHECK(out.good(), Error, "demo: could not write '" << path << "'");
  });
}

std::string jsonNumber(double v) {
  if (!std::isfinite(v)) return "null";  // JSON has no NaN: the report test treats null as a failure
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string jsonString(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o + "\"";
}

// The figure script: next to the sources in a build tree, in share/lats when installed;
// LATS_DEMO_FIGURES overrides both.
std::string figureScript() {
  if (const char* env = std::getenv("LATS_DEMO_FIGURES")) return env;
  for (const std::string& dir : {std::string(LATS_SOURCE_DIR) + "/apps", std::string(LATS_DATA_DIR)}) {
    const std::string path = dir + "/demo_figures.py";
    if (!dir.empty() && access(path.c_str(), R_OK) == 0) return path;
  }
  return "";
}

// Debian's interpreter has matplotlib and h5py (python3-matplotlib, python3-h5py); another
// python3 first on the PATH may not. LATS_PYTHON overrides.
std::string python() {
  if (const char* env = std::getenv("LATS_PYTHON")) return env;
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> demoDefaults() { return presetOptions("default"); }

std::vector<std::string> demoOptions() {
  std::vector<std::string> names = {
      "demo_size",    "demo_output", "demo_fresh", "demo_train_trajectories", "demo_test_trajectories",
      "demo_figures", "threads",     "log_level"};
  for (const auto& [name, value] : presetOptions("default")) names.push_back(name);
  return names;
}

int runDemo(Runtime& runtime, const std::string& commandLine) {
  const auto start = std::chrono::steady_clock::now();
  const Comm world(runtime.comm());
  const bool root = world.rank() == 0;
  const std::string size = kSize.get();
  const std::string dir = kOutput.get();
  const bool small = size == "small";
  const std::int64_t nTrain = kTrainTrajectories.get() > 0 ? kTrainTrajectories.get() : (small ? 16 : 96);
  const std::int64_t nTest = kTestTrajectories.get() > 0 ? kTestTrajectories.get() : (small ? 2 : 8);
  collective(world, [&] {
    LATS_CHECK(kTrainTrajectories.get() >= 0 && kTestTrajectories.get() >= 0, InvalidValueError,
               "demo: -lats_demo_train_trajectories and -lats_demo_test_trajectories must be positive (0: default)");
  });
  // Built-in defaults: set only what the user did not set.
  // The smooth random fields suit the default equation; another equation (-lats_equation)
  // keeps its own initial-condition family unless -lats_ic says otherwise.
  const bool ownEquation = Options::isSet("equation") && Options::valueText("equation") != "advection_diffusion";
  for (const auto& [name, value] : presetOptions(size))
    if (!Options::isSet(name) && !(ownEquation && (name == "ic" || name == "ic_modes"))) Options::set(name, value);

  namespace fs = std::filesystem;
  collective(world, [&] {
    if (!root) return;
    if (kFresh.get()) {
      for (const char* sub : {"data", "model", "rollout", "assimilation", "report"})
        fs::remove_all(fs::path(dir) / sub);
    }
    for (const char* sub : {"data", "rollout", "assimilation", "report"}) fs::create_directories(fs::path(dir) / sub);
  });
  const std::string data = dir + "/data", modelDir = dir + "/model", report = dir + "/report";
  auto stage = [&](int k, const std::string& what) {
    if (root)
      std::printf("\n[demo] stage %d/5 (%.0f s so far): %s\n", k, since(start), what.c_str()), std::fflush(stdout);
  };
  std::vector<std::pair<std::string, double>> stageSeconds;

  // 1. Data.
  auto t0 = std::chrono::steady_clock::now();
  auto gen = solvers::GeneratorSettings::fromOptions();
  gen.commandLine = commandLine;
  stage(1, "training and held-out data from the PETSc finite-volume solver (" + gen.equation + ", " +
               std::to_string(nTrain) + " + " + std::to_string(nTest) + " trajectories)");
  auto trainGen = gen, testGen = gen;
  trainGen.output = data + "/train.h5";
  trainGen.trajectories = nTrain;
  trainGen.seed = 1;
  testGen.output = data + "/test.h5";
  testGen.trajectories = nTest;
  testGen.seed = 2;  // other random streams: initial conditions the model never saw
  // Errors are collective, so every rank catches the same one.
  auto otherSettings = [&](const std::string& what, const Error& e) {
    LATS_THROW(ConfigurationError, "demo: " << what << " was made with other settings (" << e.what()
                                            << "); rerun with -lats_demo_fresh to recompute it, or give another "
                                               "-lats_demo_output");
  };
  solvers::GeneratorReport trainReport, testReport;
  try {
    trainReport = solvers::generateDataset(world, trainGen);
    testReport = solvers::generateDataset(world, testGen);
  } catch (const FileFormatError& e) {
    otherSettings("a dataset in " + data, e);
  }
  stageSeconds.emplace_back("data", since(t0));

  // 2. Training.
  t0 = std::chrono::steady_clock::now();
  auto train = solvers::neural::TrainerSettings::fromOptions();
  train.dataset = trainGen.output;
  train.output = modelDir;
  train.commandLine = commandLine;
  stage(2, "train the latent model (" + std::to_string(train.autoencoderSteps) + " autoencoder + " +
               std::to_string(train.dynamicsSteps) + " dynamics steps; a finished training is reused)");
  solvers::neural::TrainingReport trained;
  try {
    trained = solvers::neural::trainModel(world, train);
  } catch (const ConfigurationError& e) {
    if (std::string(e.what()).find("other settings") == std::string::npos) throw;
    otherSettings(modelDir, e);
  }
  LATS_CHECK(trained.finished, Error, "demo: training stopped before the end (-lats_train_stop_after); run again");
  const auto testAccuracy = solvers::neural::evaluateModel(world, modelDir, testGen.output);
  if (root)
    std::printf("[demo] held-out accuracy: relative MSE reconstruction %.3e, rollout %.3e (%lld trajectories)\n",
                testAccuracy.reconstruction, testAccuracy.rollout, static_cast<long long>(testAccuracy.trajectories));
  stageSeconds.emplace_back("training", since(t0));

  // 3. Rollouts.
  t0 = std::chrono::steady_clock::now();
  stage(3, "classical vs surrogate vs hybrid rollouts from the held-out initial states");
  const auto plex = meshio::PlexMesh::fromOptions(world, 2);
  auto rs = workflows::RolloutSettings::fromOptions();
  rs.model = modelDir;
  rs.dataset = testGen.output;
  rs.output = dir + "/rollout";
  rs.commandLine = commandLine;
  const auto rollouts = workflows::compareRollouts(plex, rs);
  stageSeconds.emplace_back("rollouts", since(t0));

  // 4. Assimilation.
  t0 = std::chrono::steady_clock::now();
  auto twin = workflows::TwinSettings::fromOptions();
  twin.model = modelDir;
  twin.output = dir + "/assimilation";
  stage(4, "twin experiment: " + fmt("%g", 100 * twin.fractions.front()) + "% of the cells observed with noise " +
               fmt("%g", twin.noise) + ", " + join(twin.methods, ", "));
  const auto twinResults = workflows::runTwinExperiment(plex, twin);
  workflows::writeTwinResults(world, twin.output, twinResults);
  stageSeconds.emplace_back("assimilation", since(t0));

  // 5. Report.
  t0 = std::chrono::steady_clock::now();
  stage(5, "report");
  std::string figureError;
  collective(world, [&] {
    if (!root) return;
    // Numbers first (the figures are drawn from them and from the files written above).
    std::ostringstream j;
    j << "{\n  \"equation\": " << jsonString(rollouts.equation) << ",\n  \"mesh\": " << jsonString(rollouts.mesh)
      << ",\n  \"cells\": " << rollouts.cells << ",\n  \"ranks\": " << world.size()
      << ",\n  \"size\": " << jsonString(size) << ",\n  \"train_dataset\": " << jsonString("../data/train.h5")
      << ",\n  \"test_dataset\": " << jsonString("../data/test.h5")
      << ",\n  \"training\": {\"autoencoder_steps\": " << trained.autoencoderLoss.size()
      << ", \"dynamics_steps\": " << trained.dynamicsLoss.size()
      << ", \"test_reconstruction\": " << jsonNumber(testAccuracy.reconstruction)
      << ", \"test_rollout\": " << jsonNumber(testAccuracy.rollout) << "},\n  \"rollout\": {";
    for (std::size_t m = 0; m < rollouts.modes.size(); ++m) {
      const auto& r = rollouts.modes[m];
      j << (m ? ", " : "") << jsonString(r.mode) << ": {\"seconds\": " << jsonNumber(r.seconds)
        << ", \"setup_seconds\": " << jsonNumber(r.setupSeconds)
        << ", \"read_at_end_seconds\": " << jsonNumber(r.horizonSeconds)
        << ", \"read_at_end_difference\": " << jsonNumber(r.horizonDifference)
        << ", \"final_error\": " << jsonNumber(r.error.back())
        << ", \"file\": " << jsonString("../rollout/" + r.mode + ".h5") << "}";
    }
    j << ", \"persistence\": {\"final_error\": " << jsonNumber(rollouts.persistenceError.back())
      << "}},\n  \"assimilation\": {";
    for (std::size_t m = 0; m < twinResults.size(); ++m) {
      const auto& r = twinResults[m];
      const auto o = r.scores.overall();
      char csv[128];
      std::snprintf(csv, sizeof csv, "../assimilation/%s_%g.csv", r.method.c_str(), r.fraction);
      j << (m ? ", " : "") << jsonString(r.method) << ": {\"rmse\": " << jsonNumber(o.rmse)
        << ", \"spread\": " << jsonNumber(o.spread) << ", \"crps\": " << jsonNumber(o.crps)
        << ", \"seconds\": " << jsonNumber(r.seconds) << ", \"forecast_seconds\": " << jsonNumber(r.forecastSeconds)
        << ", \"scores\": " << jsonString(csv) << "}";
    }
    j << "},\n  \"seconds\": {";
    for (std::size_t k = 0; k < stageSeconds.size(); ++k)
      j << (k ? ", " : "") << jsonString(stageSeconds[k].first) << ": " << jsonNumber(stageSeconds[k].second);
    j << "}\n}\n";
    writeText(report + "/summary.json", j.str());
    // Training loss, one line per step.
    std::ostringstream loss;
    loss << "stage,step,loss\n";
    for (std::size_t k = 0; k < trained.autoencoderLoss.size(); ++k)
      loss << "autoencoder," << k + 1 << "," << trained.autoencoderLoss[k] << "\n";
    for (std::size_t k = 0; k < trained.dynamicsLoss.size(); ++k)
      loss << "dynamics," << k + 1 << "," << trained.dynamicsLoss[k] << "\n";
    writeText(report + "/loss.csv", loss.str());
  });
  if (kFigures.get()) {
    int status = 0;
    if (root) {
      const std::string script = figureScript();
      if (script.empty()) {
        figureError = "the figure script demo_figures.py was not found (set LATS_DEMO_FIGURES to its path)";
      } else {
        const std::string cmd = python() + " '" + script + "' '" + report + "' 2>&1";
        std::printf("[demo] drawing the figures: %s\n", cmd.c_str());
        std::fflush(stdout);
        status = std::system(cmd.c_str());
        if (status != 0)
          figureError = "the figure script failed (exit status " + std::to_string(status) +
                        "; it needs Debian's python3-matplotlib and python3-h5py: scripts/install-deps.sh)";
      }
    }
    int failed = root && !figureError.empty();
    MPI_Bcast(&failed, 1, MPI_INT, 0, world);
    if (failed && !root) figureError = "the figure script failed on rank 0";
  }
  const bool figures = kFigures.get() && figureError.empty();

  collective(world, [&] {
    if (!root) return;
    Report r;
    const double horizon = rollouts.simulatedTime();
    r.heading(1, "LaTS demo report");
    r.paragraph("Made by `" + commandLine + "` on " + std::to_string(world.size()) + " MPI rank(s) with " +
                std::to_string(runtime.threadsPerRank()) + " torch thread(s) per rank, LaTS " + version() +
                ". Everything below was computed in this run (reused stages say so).");
    r.heading(2, "The problem");
    r.paragraph(
        "`" + rollouts.equation + "` on " + rollouts.mesh +
        " (an irregular triangulation, partitioned over the ranks by PETSc). Training data: " + std::to_string(nTrain) +
        " trajectories of " + std::to_string(rollouts.times.size() - 1) + " steps to t = " + fmt("%g", horizon) +
        " from random initial conditions (`" + trainGen.output + "`, " +
        (trainReport.generated ? std::to_string(trainReport.generated) + " computed now" : std::string("reused")) +
        "); held out: " + std::to_string(nTest) + " trajectories from other random streams (`" + testGen.output +
        "`, " +
        (testReport.generated ? std::to_string(testReport.generated) + " computed now" : std::string("reused")) + ").");
    const auto totalSteps = static_cast<std::int64_t>(trained.autoencoderLoss.size() + trained.dynamicsLoss.size());
    const std::string trainedWhen = trained.resumedAt == 0 ? ", in " + fmt("%.0f", stageSeconds[1].second) + " s"
                                    : trained.resumedAt >= totalSteps
                                        ? " (reused: trained by an earlier run; -lats_demo_fresh retrains)"
                                        : " (resumed at step " + std::to_string(trained.resumedAt) +
                                              "; this run took " + fmt("%.0f", stageSeconds[1].second) + " s)";
    r.heading(2, "Training");
    r.paragraph("A latent model (encoder from the cell centres to " +
                std::to_string(train.model.encoder.integer("num_tokens")) +
                " latent tokens, local neural-field decoder, " + train.model.dynamics.type() +
                " transformer dynamics) trained in C++ with LibTorch: " +
                std::to_string(trained.autoencoderLoss.size()) + " autoencoder steps, then " +
                std::to_string(trained.dynamicsLoss.size()) + " dynamics steps on frozen latents" + trainedWhen +
                ". On the held-out trajectories: relative MSE of the reconstruction " +
                fmt("%.3e", testAccuracy.reconstruction) + ", of the rollout over the whole horizon " +
                fmt("%.3e", testAccuracy.rollout) + ".");
    if (figures) r.image("loss.png", "Training loss per step (autoencoder, then latent dynamics)");
    r.heading(2, "Rollouts: classical vs surrogate vs hybrid");
    r.paragraph("From the initial state of each held-out trajectory, each stepper runs to t = " + fmt("%g", horizon) +
                " on the same mesh; the error is the relative L2 difference to the dataset's trajectory (made by "
                "the classical solver), averaged over the " +
                std::to_string(rollouts.trajectories.size()) +
                " trajectories. The hybrid takes surrogate steps and classical steps by its policy (`-lats_hybrid_*`, "
                "default 4 surrogate then 1 classical). Persistence (keeping the initial state) is the baseline a "
                "model has to beat. Stepping times are the steps alone; set-up (creating the PETSc solver, loading the "
                "model) is "
                "listed apart.");
    r.table(workflows::rolloutTable(rollouts));
    if (figures) {
      r.image("error_vs_time.png", "Relative L2 error against the classical reference at each step");
      r.image("snapshots.png", "Held-out trajectory 0 at t = " + fmt("%g", horizon) +
                                   ": reference, surrogate and hybrid predictions, and the surrogate's error");
    }
    r.heading(2, "Assimilation of sparse observations");
    r.paragraph(
        "A twin experiment: a truth run of the classical solver from an initial condition none of the "
        "runs know; noisy observations at " +
        fmt("%g", 100 * twin.fractions.front()) + "% of the cells (noise standard deviation " + fmt("%g", twin.noise) +
        ") after each of " + std::to_string(twin.steps) +
        " steps. `free`: the surrogate run from a wrong initial state without observations; "
        "`enkf_classical` / `enkf_surrogate`: an ensemble Kalman filter (" +
        twin.da.type + ", " + std::to_string(twin.da.ensembleSize) +
        " members) whose members are classical or surrogate forecasts. Scores against the truth over all "
        "observation times.");
    r.table(workflows::twinTable(twinResults));
    if (figures) r.image("assimilation.png", "RMSE against the truth (solid) and ensemble spread (dashed) over time");
    r.heading(2, "Files");
    r.paragraph(
        "ParaView: `data/train.xmf`, `data/test.xmf` (the datasets on their cells), `rollout/<mode>.xmf` "
        "(each mode's predicted trajectories), `rollout/<mode>_final.pvtu` (held-out trajectory 0 at the "
        "end: reference, prediction, error). Numbers: `report/summary.json`, `rollout/errors.csv`, "
        "`assimilation/*.csv`, `report/loss.csv`. The model: `model/` (inspect with `lats info "
        "-lats_info_path " +
        modelDir + "`).");
    if (!figures && kFigures.get()) r.paragraph("Figures missing: " + figureError + ".");
    r.heading(2, "Stage times");
    std::string st = "| stage | wall [s] |\n|---|---:|\n";
    for (const auto& [name, secs] : stageSeconds) st += "| " + name + " | " + fmt("%.1f", secs) + " |\n";
    st += "| report | " + fmt("%.1f", since(t0)) + " |\n";
    r.table(st);
    writeText(report + "/index.md", r.markdown());
    writeText(report + "/index.html", r.html("LaTS demo report"));
  });
  if (root) {
    std::printf("\n%s\n", workflows::rolloutTable(rollouts).c_str());
    std::printf("%s\n", workflows::twinTable(twinResults).c_str());
    std::printf("[demo] done in %.0f s: open %s/index.html (or index.md); ParaView: %s/rollout/*.xmf, *.pvtu\n",
                since(start), report.c_str(), dir.c_str());
  }
  LATS_CHECK(
      figureError.empty() || !kFigures.get(), Error,
      "demo: the report was written without figures: " << figureError << " (or run with -lats_demo_figures false)");
  return 0;
}

}  // namespace lats::apps
