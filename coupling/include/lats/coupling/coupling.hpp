#pragma once
/// \file coupling.hpp
/// Umbrella header of lats::coupling.

#include "lats/coupling/analysis_strategy.hpp"
#include "lats/coupling/assimilating_stepper.hpp"
#include "lats/coupling/classical_stepper.hpp"
#include "lats/coupling/host_session.hpp"
#include "lats/coupling/hybrid_stepper.hpp"
#include "lats/coupling/recorder.hpp"
#include "lats/coupling/runge_kutta.hpp"
#include "lats/coupling/surrogate_stepper.hpp"
#include "lats/coupling/trust_policy.hpp"
