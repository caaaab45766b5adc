// The C API (lats.h): a pimpl session over Mesh, State and a TimeStepper. Every entry
// point catches everything: no exception crosses into C or Fortran.
#include "lats.h"

#include <petscsys.h>

#include <cmath>
#include <exception>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lats/core/petsc.hpp"
#include "lats/lats.hpp"

struct lats_session_s {
  MPI_Comm comm = MPI_COMM_NULL;
  int dim = 0;
  std::vector<double> xyz;
  std::int64_t n = -1;
  std::shared_ptr<const lats::Mesh> mesh;
  lats::State state;
  std::unique_ptr<lats::TimeStepper> stepper;
  lats::coupling::AssimilatingStepper* assimilating = nullptr;     // when the stepper is one
  std::vector<lats::solvers::assimilation::Observations> pending;  // added before setup
  std::unique_ptr<lats::coupling::TrajectoryRecorder> recorder;    // lats_session_record
  int recordEvery = 1;
  std::int64_t recordSteps = 0;
  lats::StepStatus lastStatus = lats::StepStatus::Success;
  std::string error;
};

namespace {

thread_local std::string gLastError;
std::unique_ptr<lats::Runtime> gRuntime;  // when the C API started the runtime
int gSessions = 0;

int codeOf(const lats::Error& e) {
  switch (e.kind()) {
    case lats::ErrorKind::Configuration: return LATS_ERR_CONFIGURATION;
    case lats::ErrorKind::DimensionMismatch: return LATS_ERR_DIMENSION_MISMATCH;
    case lats::ErrorKind::FileFormat: return LATS_ERR_FILE_FORMAT;
    case lats::ErrorKind::ModelMismatch: return LATS_ERR_MODEL_MISMATCH;
    case lats::ErrorKind::InvalidValue: return LATS_ERR_INVALID_VALUE;
    default: return LATS_ERR_GENERIC;
  }
}

/// Runs `f`, turning exceptions into a code and a message (in the session, or globally).
template <class F>
int guarded(lats_session s, F&& f) {
  std::string& where = s ? s->error : gLastError;
  try {
    const int code = f();
    if (code == LATS_OK) where.clear();
    return code;
  } catch (const lats::Error& e) {
    where = e.what();
    return codeOf(e);
  } catch (const std::exception& e) {
    where = e.what();
    return LATS_ERR_GENERIC;
  } catch (...) {
    where = "unknown error";
    return LATS_ERR_GENERIC;
  }
}

void ensureRuntime() {
  if (lats::Runtime::isActive()) return;
  gRuntime = std::make_unique<lats::Runtime>();
  lats::registerAll();
}

int stepCode(lats_session s, const lats::StepResult& r) {
  s->lastStatus = r.status;
  if (r.ok()) return LATS_OK;
  s->error = std::string("step from t = ") + std::to_string(s->state.time()) + " " + lats::toString(r.status) + ": " +
             r.reason;
  return LATS_ERR_STEP_FAILED;
}

// After a successful step: a snapshot when one is due.
void recordIfDue(lats_session s) {
  if (!s->recorder || s->recorder->written()) return;
  if (++s->recordSteps % s->recordEvery != 0) return;
  s->stepper->synchronize(s->state);
  s->recorder->snapshot(*s->mesh, s->state);
}

#define LATS_C_REQUIRE(cond, code, message) \
  do {                                      \
    if (!(cond)) {                          \
      s->error = (message);                 \
      return (code);                        \
    }                                       \
  } while (0)

}  // namespace

extern "C" {

int lats_initialize(int* argc, char*** argv) {
  return guarded(nullptr, [&]() -> int {
    if (!lats::Runtime::isActive()) {
      gRuntime = std::make_unique<lats::Runtime>(argc, argv);
      lats::registerAll();
    }
    return LATS_OK;
  });
}

int lats_finalize(void) {
  return guarded(nullptr, [&]() -> int {
    LATS_CHECK(gSessions == 0, lats::ConfigurationError,
               "lats_finalize: " << gSessions << " session(s) still exist; destroy them first (lats_session_destroy)");
    gRuntime.reset();
    return LATS_OK;
  });
}

const char* lats_last_error(void) { return gLastError.c_str(); }

int lats_session_create(MPI_Comm comm, const char* options, lats_session* session) {
  return guarded(nullptr, [&]() -> int {
    LATS_CHECK(session != nullptr, lats::InvalidValueError, "lats_session_create: the session pointer is NULL");
    *session = nullptr;
    ensureRuntime();
    if (options && *options) {
      // Unknown -lats_ names are refused before anything enters the options database (the
      // same string on every rank gives the same error on every rank).
      std::istringstream words(options);
      for (std::string w; words >> w;)
        if (w.rfind(lats::Options::kPrefix, 0) == 0) lats::Options::spec(w.substr(6));  // throws with a suggestion
      LATS_PETSC_CALL(PetscOptionsInsertString(nullptr, options));
    }
    auto s = std::make_unique<lats_session_s>();
    s->comm = comm;
    *session = s.release();
    ++gSessions;
    return LATS_OK;
  });
}

int lats_session_create_f(MPI_Fint comm, const char* options, lats_session* session) {
  return lats_session_create(MPI_Comm_f2c(comm), options, session);
}

int lats_session_set_points(lats_session s, int dim, int64_t n, const double* xyz) {
  if (!s) return gLastError = "lats_session_set_points: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(!s->stepper, LATS_ERR_CONFIGURATION, "lats_session_set_points: the session is already set up");
    LATS_C_REQUIRE(dim >= 1 && dim <= 3, LATS_ERR_INVALID_VALUE,
                   "lats_session_set_points: dimension " + std::to_string(dim) + "; expected 1, 2 or 3");
    LATS_C_REQUIRE(n >= 0 && (n == 0 || xyz != nullptr), LATS_ERR_INVALID_VALUE,
                   "lats_session_set_points: " + std::to_string(n) +
                       " points with coordinates at NULL; expected n >= 0 and an array of n * dim values");
    s->dim = dim;
    s->n = n;
    s->xyz.assign(xyz, xyz + n * dim);
    return LATS_OK;
  });
}

int lats_session_add_field(lats_session s, const char* name, int components, double* values) {
  if (!s) return gLastError = "lats_session_add_field: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->n >= 0, LATS_ERR_CONFIGURATION,
                   "lats_session_add_field: call lats_session_set_points first (the field's size is the point count)");
    LATS_C_REQUIRE(!s->stepper, LATS_ERR_CONFIGURATION, "lats_session_add_field: the session is already set up");
    LATS_C_REQUIRE(name && *name, LATS_ERR_INVALID_VALUE, "lats_session_add_field: the field name is empty");
    LATS_C_REQUIRE(components >= 1, LATS_ERR_INVALID_VALUE,
                   "lats_session_add_field: field '" + std::string(name) + "' with " + std::to_string(components) +
                       " components; expected at least 1");
    std::vector<std::string> names;
    for (int c = 0; c < components; ++c) names.push_back(components == 1 ? name : name + std::to_string(c));
    s->state.add(lats::Field::wrap(name, values, s->n, names));  // NULL with n > 0: InvalidValueError
    return LATS_OK;
  });
}

int lats_session_setup(lats_session s, const char* stepper) {
  if (!s) return gLastError = "lats_session_setup: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(!s->stepper, LATS_ERR_CONFIGURATION, "lats_session_setup: the session is already set up");
    LATS_CHECK(s->n >= 0, lats::ConfigurationError,
               "lats_session_setup: no points; call lats_session_set_points and lats_session_add_field first");
    s->mesh = lats::MeshBuilder(s->comm, s->dim).name("host").coordinates(s->xyz.data(), s->n).build();
    const std::string name = stepper && *stepper ? stepper : "surrogate";
    // The observation functions of this API talk to an assimilating stepper: the session
    // keeps one by its type when it asked for one; every other stepper comes from the registry.
    std::unique_ptr<lats::TimeStepper> st;
    if (name == "assimilating") {
      auto a = std::make_unique<lats::coupling::AssimilatingStepper>();
      s->assimilating = a.get();
      st = std::move(a);
    } else {
      st = lats::timeSteppers().create(name);
    }
    st->setFromOptions();
    if (s->assimilating) {
      auto settings = s->assimilating->settings();
      settings.observationsLater = true;  // a host may add them while it runs
      s->assimilating->setSettings(settings);
      for (const auto& b : s->pending) s->assimilating->addObservations(b);
    } else {
      LATS_CHECK(s->pending.empty(), lats::ConfigurationError,
                 "lats_session_setup: observations were added but the stepper '"
                     << st->type() << "' does not assimilate; use lats_session_setup(session, \"assimilating\")");
    }
    st->setUp(s->mesh, s->state);
    st->addObserver([s](const lats::TimeStepper&, const lats::State&, const lats::StepResult& r) {
      if (r.ok()) recordIfDue(s);
    });
    s->stepper = std::move(st);
    return LATS_OK;
  });
}

int lats_session_step(lats_session s, double dt, double* dt_taken) {
  if (!s) return gLastError = "lats_session_step: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->stepper != nullptr, LATS_ERR_CONFIGURATION, "lats_session_step: call lats_session_setup first");
    const auto r = s->stepper->step(s->state, dt);
    if (dt_taken) *dt_taken = r.dtTaken;
    return stepCode(s, r);
  });
}

int lats_session_advance(lats_session s, double to_time, double dt) {
  if (!s) return gLastError = "lats_session_advance: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->stepper != nullptr, LATS_ERR_CONFIGURATION,
                   "lats_session_advance: call lats_session_setup first");
    return stepCode(s, s->stepper->advance(s->state, to_time, dt));
  });
}

int lats_session_host_step(lats_session s, double dt) {
  if (!s) return gLastError = "lats_session_host_step: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->stepper != nullptr, LATS_ERR_CONFIGURATION,
                   "lats_session_host_step: call lats_session_setup first");
    LATS_CHECK(dt > 0 && std::isfinite(dt), lats::InvalidValueError,
               "lats_session_host_step: dt = " << dt << "; expected a positive finite step");
    s->stepper->pushHistory(s->state);
    s->state.setTime(s->state.time() + dt);
    s->state.setStepIndex(s->state.stepIndex() + 1);
    recordIfDue(s);
    s->lastStatus = lats::StepStatus::Success;
    return LATS_OK;
  });
}

int lats_session_add_observations(lats_session s, double time, int64_t n, const double* xyz, const char* component,
                                  const double* values, const double* noise_std) {
  if (!s) return gLastError = "lats_session_add_observations: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_CHECK(n >= 1, lats::InvalidValueError, "lats_session_add_observations: n = " << n << "; expected >= 1");
    LATS_CHECK(xyz && values && noise_std && component && *component, lats::InvalidValueError,
               "lats_session_add_observations: xyz, component, values and noise_std must not be NULL or empty");
    LATS_CHECK(s->dim >= 1, lats::ConfigurationError,
               "lats_session_add_observations: call lats_session_set_points first (it fixes the dimension)");
    lats::solvers::assimilation::Observations b;
    b.time = time;
    b.sensors.dimension = s->dim;
    b.sensors.coordinates.assign(xyz, xyz + n * s->dim);
    b.sensors.components.assign(static_cast<std::size_t>(n), component);
    b.sensors.noiseStd.assign(noise_std, noise_std + n);
    b.values.assign(values, values + n);
    if (s->stepper) {
      LATS_CHECK(s->assimilating != nullptr, lats::ConfigurationError,
                 "lats_session_add_observations: the session's stepper '"
                     << s->stepper->type() << "' does not assimilate; set it up with \"assimilating\"");
      s->assimilating->addObservations(b);
    } else {
      b.validate();
      s->pending.push_back(std::move(b));
    }
    return LATS_OK;
  });
}

int lats_session_synchronize(lats_session s) {
  if (!s) return gLastError = "lats_session_synchronize: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->stepper != nullptr, LATS_ERR_CONFIGURATION,
                   "lats_session_synchronize: call lats_session_setup first");
    s->stepper->synchronize(s->state);
    return LATS_OK;
  });
}

int lats_session_status(lats_session s, double* time, int64_t* steps, int* last_step_status) {
  if (!s) return gLastError = "lats_session_status: the session is NULL", LATS_ERR_INVALID_VALUE;
  if (time) *time = s->state.time();
  if (steps) *steps = s->state.stepIndex();
  if (last_step_status) *last_step_status = static_cast<int>(s->lastStatus);
  return LATS_OK;
}

const char* lats_session_last_error(lats_session s) { return s ? s->error.c_str() : gLastError.c_str(); }

int lats_session_record(lats_session s, const char* path, int every) {
  if (!s) return gLastError = "lats_session_record: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->stepper != nullptr, LATS_ERR_CONFIGURATION, "lats_session_record: call lats_session_setup first");
    LATS_CHECK(path && *path, lats::InvalidValueError, "lats_session_record: no file name");
    LATS_CHECK(every >= 1, lats::InvalidValueError, "lats_session_record: every = " << every << "; expected >= 1");
    LATS_CHECK(!s->recorder || s->recorder->written(), lats::ConfigurationError,
               "lats_session_record: already recording to '" << s->recorder->path()
                                                             << "'; call lats_session_record_finish first");
    s->recorder = std::make_unique<lats::coupling::TrajectoryRecorder>(path, "c_api_host", "recorded through the C API",
                                                                       "lats_session_record");
    s->recordEvery = every;
    s->recordSteps = 0;
    s->stepper->synchronize(s->state);
    s->recorder->snapshot(*s->mesh, s->state);
    return LATS_OK;
  });
}

int lats_session_record_finish(lats_session s) {
  if (!s) return gLastError = "lats_session_record_finish: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->recorder != nullptr, LATS_ERR_CONFIGURATION,
                   "lats_session_record_finish: not recording (call lats_session_record first)");
    s->recorder->write(*s->mesh);
    return LATS_OK;
  });
}

int lats_session_destroy(lats_session* s) {
  if (s && *s && (*s)->recorder && !(*s)->recorder->written() && (*s)->recorder->size() >= 2) {
    // An unfinished recording is written first; its failure is reported, the session freed.
    const int rc = lats_session_record_finish(*s);
    const std::string message = (*s)->error;
    delete *s;
    *s = nullptr;
    --gSessions;
    if (rc != LATS_OK) gLastError = message;
    return rc;
  }
  return guarded(nullptr, [&]() -> int {
    if (!s || !*s) return LATS_OK;
    delete *s;
    *s = nullptr;
    --gSessions;
    return LATS_OK;
  });
}

}  // extern "C"
