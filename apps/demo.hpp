#pragma once
/// \file demo.hpp
/// `lats demo`: the end-to-end demonstration. Generates training data with a PETSc
/// finite-volume solver on an irregular 2D mesh, trains a latent model, compares classical,
/// surrogate and hybrid rollouts on held-out initial conditions, runs a sparse-observation
/// twin experiment, and writes a report (index.html and index.md with PNG figures, a
/// summary.json of its numbers) plus PVTU and XDMF files for ParaView.

#include <string>
#include <utility>
#include <vector>

#include "lats/core/runtime.hpp"

namespace lats::apps {

/// The options `lats demo -help` lists (its own and those it gives defaults to).
std::vector<std::string> demoOptions();

/// The demo's built-in values of other components' options (size "default"), as
/// (name without -lats_, value) pairs; the command line overrides each.
std::vector<std::pair<std::string, std::string>> demoDefaults();

/// Runs the demo (collective). Returns the process exit code.
int runDemo(Runtime& runtime, const std::string& commandLine);

}  // namespace lats::apps
