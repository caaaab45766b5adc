#pragma once
// The assimilating stepper's ensemble, for analysis strategies (private to coupling/, like
// PETSc's private headers: a strategy of your own includes it).

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lats/core/log.hpp"
#include "lats/coupling/analysis_strategy.hpp"
#include "lats/coupling/assimilating_stepper.hpp"
#include "lats/solvers/assimilation/ensemble.hpp"
#include "lats/solvers/assimilation/observation_operator.hpp"

namespace lats::coupling::detail {

namespace da = solvers::assimilation;

struct Ensemble {
  MemberFactory factory;
  AssimilationSettings settings;
  da::ObservationSeries series;
  MPI_Comm world = MPI_COMM_NULL, group = MPI_COMM_NULL;
  bool ownGroup = false;
  std::shared_ptr<const Mesh> memberMesh;
  std::vector<std::int64_t> mine;
  std::vector<State> states;
  std::vector<std::unique_ptr<TimeStepper>> steppers;
  std::unique_ptr<da::EnsembleExchange> memberExchange, hostExchange;
  std::unique_ptr<da::EnsembleFilter> filter;
  std::vector<da::ObservationOperator> operators;  // one per distinct sensor set
  std::vector<std::size_t> operatorOf;             // batch index -> operator
  std::vector<std::pair<double, da::AnalysisReport>> analyses;
  std::uint64_t cycle = 0;
  double forecastSeconds = 0.0, analysisSeconds = 0.0;
  // Surrogate members (and guided sampling): one surrogate holds the whole ensemble, steps its
  // own state in one batch, and the members' states are its decoded members.
  SurrogateStepper* batch = nullptr;
  std::unique_ptr<SurrogateStepper> batchOwner;
  std::string memberKind;
  State batchState;
  std::unique_ptr<AnalysisStrategy> strategy;
  bool membersStale = false;                             // the members' states lag the batched latent ensemble
  std::vector<solvers::neural::GuidanceTarget> targets;  // by batch index (strategies that need them)
  State layout;                                          // the members' fields (after setUp)
  double time = 0.0;                                     // the ensemble's time (after setUp)
  bool isSetUp = false;

  ~Ensemble() {
    strategy.reset();
    batchOwner.reset();
    steppers.clear();
    operators.clear();
    memberExchange.reset();
    states.clear();
    memberMesh.reset();
    if (ownGroup) MPI_Comm_free(&group);
  }

  std::vector<State*> pointers() {
    std::vector<State*> p;
    for (auto& s : states) p.push_back(&s);
    return p;
  }
  std::vector<const State*> constPointers() const {
    std::vector<const State*> p;
    for (const auto& s : states) p.push_back(&s);
    return p;
  }
  double tolerance(double t) const { return 1e-9 * std::max(1.0, std::abs(t)); }

  /// The index of `obs` (a batch of `series`).
  std::size_t indexOf(const da::Observations& obs) const {
    return static_cast<std::size_t>(&obs - series.batches.data());
  }
  const da::ObservationOperator& operatorFor(const da::Observations& obs) const {
    return operators[operatorOf[indexOf(obs)]];
  }

  /// The ensemble filter `filter` on the members' fields. Collective.
  void analyse(const da::Observations& obs, double t) {
    const auto index = indexOf(obs);
    const double start = MPI_Wtime();
    auto& h = operators[operatorOf[index]];
    const auto report = filter->analyse(*memberExchange, h, pointers(), obs, cycle++);
    analyses.emplace_back(t, report);
    analysisSeconds += MPI_Wtime() - start;
    logInfo() << "assimilation: " << settings.type << " analysis " << analyses.size() << " at t = " << t << ", "
              << report.observations << " observations, normalised misfit " << report.priorMisfit << " -> "
              << report.posteriorMisfit << ", spread " << report.priorSpread << " -> " << report.posteriorSpread;
  }

  // Batched surrogate: the members' states from its decoded ensemble (one batched decode).
  void refreshBatchMembers() {
    const double start = MPI_Wtime();
    const auto& info = batch->rollout().info();
    const std::int64_t n = memberMesh->ownedSize();
    int total = 0;
    for (int c : info.fieldComponents) total += c;
    const auto all = batch->rollout().decodeMembers();
    for (std::size_t k = 0; k < states.size(); ++k) {
      const double* values = all.data() + k * static_cast<std::size_t>(n * total);
      int offset = 0;
      for (std::size_t f = 0; f < info.fieldNames.size(); ++f) {
        auto v = states[k].field(info.fieldNames[f]).view();
        for (std::int64_t i = 0; i < n; ++i)
          for (int c = 0; c < info.fieldComponents[f]; ++c) v(i, c) = values[i * total + offset + c];
        offset += info.fieldComponents[f];
      }
    }
    membersStale = false;
    forecastSeconds += MPI_Wtime() - start;
  }

  /// The guidance target of observations (the decoder of the batched surrogate at the
  /// sensors): ModelMismatchError when the model does not predict an observed field. Collective.
  solvers::neural::GuidanceTarget guidanceTarget(const State& state, const da::Observations& obs) const;

  // The ensemble mean into the host's state.
  void writeMean(State& host) const {
    const auto block = memberExchange->gather(constPointers());
    da::PointBlock mean;
    mean.begin = block.begin;
    mean.end = block.end;
    mean.members = 1;
    mean.components = block.components;
    mean.dimension = block.dimension;
    mean.values.assign(static_cast<std::size_t>(block.size() * block.components), 0.0);
    for (std::int64_t p = 0; p < block.size(); ++p)
      for (int c = 0; c < block.components; ++c) {
        double s = 0.0;
        for (std::int64_t i = 0; i < block.members; ++i) s += block(p, i, c);
        mean(p, 0, c) = s / static_cast<double>(block.members);
      }
    hostExchange->scatter(mean, {&host});
  }
};

}  // namespace lats::coupling::detail
