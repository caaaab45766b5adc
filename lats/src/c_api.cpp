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
  struct FieldArray {
    std::string name;
    int components;
    double* values;
  };
  std::vector<FieldArray> fields;  // bound when the session is set up (the points then exist)
  lats_host_step_fn hostStep = nullptr;
  void* hostContext = nullptr;
  std::vector<lats::solvers::assimilation::Observations> pending;  // added before setup
  std::unique_ptr<lats::coupling::HostSession> host;               // after setup
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
  s->error = std::string("step from t = ") + std::to_string(s->host->state().time()) + " " + lats::toString(r.status) +
             ": " + r.reason;
  return LATS_ERR_STEP_FAILED;
}

/// The host's own step function as a stepper: "classical" of the session (alone, or the
/// reference part of a hybrid). Advances the arrays of the state it is given (the host's,
/// or copies when a trust policy compares); on failure on any rank they are restored.
class HostCallbackStepper final : public lats::TimeStepper {
 public:
  HostCallbackStepper(lats_host_step_fn fn, void* context, std::vector<std::string> fields)
      : fn_(fn), context_(context), fields_(std::move(fields)) {}
  std::string type() const override { return "host"; }
  std::vector<std::string> evolvedFields() const override { return fields_; }

 protected:
  void doSetUp(const lats::Mesh& /*mesh*/, lats::State& state) override {
    for (const auto& f : fields_)
      LATS_CHECK(state.has(f), lats::ConfigurationError, "the host's step function: no field '" << f << "'");
  }
  lats::StepResult doStep(lats::State& state, double dt) override {
    const lats::State before = state.clone();
    std::vector<double*> values;
    for (const auto& f : fields_) values.push_back(state.field(f).view().data());
    const int rc = fn_(context_, state.time(), dt, values.data());
    lats::StepResult local{dt, dt, lats::StepStatus::Success, {}};
    if (rc != 0) {
      local.status = lats::StepStatus::SolverFailed;
      local.reason = "the host's step function (lats_session_set_host_step) reported a failure (returned " +
                     std::to_string(rc) + ")";
    }
    const lats::StepResult r = lats::agreeOnStep(mesh()->comm(), local);
    if (!r.ok()) state.copyFrom(before);
    return r;
  }

 private:
  lats_host_step_fn fn_;
  void* context_;
  std::vector<std::string> fields_;
};

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
    LATS_C_REQUIRE(!s->host, LATS_ERR_CONFIGURATION, "lats_session_set_points: the session is already set up");
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
    LATS_C_REQUIRE(!s->host, LATS_ERR_CONFIGURATION, "lats_session_add_field: the session is already set up");
    LATS_C_REQUIRE(name && *name, LATS_ERR_INVALID_VALUE, "lats_session_add_field: the field name is empty");
    LATS_C_REQUIRE(components >= 1, LATS_ERR_INVALID_VALUE,
                   "lats_session_add_field: field '" + std::string(name) + "' with " + std::to_string(components) +
                       " components; expected at least 1");
    LATS_C_REQUIRE(values != nullptr || s->n == 0, LATS_ERR_INVALID_VALUE,
                   "lats_session_add_field: field '" + std::string(name) + "' at NULL with " + std::to_string(s->n) +
                       " points; expected an array of n * components values");
    for (const auto& f : s->fields)
      LATS_C_REQUIRE(f.name != name, LATS_ERR_CONFIGURATION,
                     "lats_session_add_field: a field named '" + std::string(name) + "' was added already");
    s->fields.push_back({name, components, values});
    return LATS_OK;
  });
}

int lats_session_set_host_step(lats_session s, lats_host_step_fn step, void* context) {
  if (!s) return gLastError = "lats_session_set_host_step: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(!s->host, LATS_ERR_CONFIGURATION,
                   "lats_session_set_host_step: the session is already set up; call it before lats_session_setup");
    s->hostStep = step;
    s->hostContext = context;
    return LATS_OK;
  });
}

int lats_session_setup(lats_session s, const char* stepper) {
  if (!s) return gLastError = "lats_session_setup: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(!s->host, LATS_ERR_CONFIGURATION, "lats_session_setup: the session is already set up");
    LATS_CHECK(s->n >= 0 && !s->fields.empty(), lats::ConfigurationError,
               "lats_session_setup: no points or fields; call lats_session_set_points and lats_session_add_field "
               "first");
    auto mesh = lats::MeshBuilder(s->comm, s->dim).name("host").coordinates(s->xyz.data(), s->n).build();
    auto host = std::make_unique<lats::coupling::HostSession>(mesh);
    std::vector<std::string> names;
    for (const auto& f : s->fields) {
      host->bindField(f.name, f.components, f.values);
      names.push_back(f.name);
    }
    if (s->hostStep) {
      const auto fn = s->hostStep;
      void* context = s->hostContext;
      host->setHostStepper([fn, context, names] { return std::make_unique<HostCallbackStepper>(fn, context, names); });
    }
    for (const auto& b : s->pending) host->addObservations(b);
    host->setUp(stepper && *stepper ? stepper : "surrogate");
    s->pending.clear();
    s->host = std::move(host);
    return LATS_OK;
  });
}

int lats_session_step(lats_session s, double dt, double* dt_taken) {
  if (!s) return gLastError = "lats_session_step: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->host != nullptr, LATS_ERR_CONFIGURATION, "lats_session_step: call lats_session_setup first");
    const auto r = s->host->step(dt);
    if (dt_taken) *dt_taken = r.dtTaken;
    return stepCode(s, r);
  });
}

int lats_session_advance(lats_session s, double to_time, double dt) {
  if (!s) return gLastError = "lats_session_advance: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->host != nullptr, LATS_ERR_CONFIGURATION, "lats_session_advance: call lats_session_setup first");
    return stepCode(s, s->host->advance(to_time, dt));
  });
}

int lats_session_host_step(lats_session s, double dt) {
  if (!s) return gLastError = "lats_session_host_step: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->host != nullptr, LATS_ERR_CONFIGURATION, "lats_session_host_step: call lats_session_setup first");
    LATS_CHECK(dt > 0 && std::isfinite(dt), lats::InvalidValueError,
               "lats_session_host_step: dt = " << dt << "; expected a positive finite step");
    s->host->hostStep(dt);
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
    if (s->host) {
      s->host->addObservations(b);  // ConfigurationError when the stepper does not assimilate
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
    LATS_C_REQUIRE(s->host != nullptr, LATS_ERR_CONFIGURATION,
                   "lats_session_synchronize: call lats_session_setup first");
    s->host->synchronize();
    return LATS_OK;
  });
}

int lats_session_status(lats_session s, double* time, int64_t* steps, int* last_step_status) {
  if (!s) return gLastError = "lats_session_status: the session is NULL", LATS_ERR_INVALID_VALUE;
  if (time) *time = s->host ? s->host->state().time() : 0.0;
  if (steps) *steps = s->host ? s->host->state().stepIndex() : 0;
  if (last_step_status) *last_step_status = static_cast<int>(s->lastStatus);
  return LATS_OK;
}

const char* lats_session_last_error(lats_session s) { return s ? s->error.c_str() : gLastError.c_str(); }

int lats_session_record(lats_session s, const char* path, int every) {
  if (!s) return gLastError = "lats_session_record: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->host != nullptr, LATS_ERR_CONFIGURATION, "lats_session_record: call lats_session_setup first");
    LATS_CHECK(path && *path, lats::InvalidValueError, "lats_session_record: no file name");
    LATS_CHECK(every >= 1, lats::InvalidValueError, "lats_session_record: every = " << every << "; expected >= 1");
    LATS_CHECK(!s->host->recording(), lats::ConfigurationError,
               "lats_session_record: already recording to '" << s->host->recordPath()
                                                             << "'; call lats_session_record_finish first");
    s->host->record(path, every, "c_api_host", "recorded through the C API", "lats_session_record");
    return LATS_OK;
  });
}

int lats_session_record_finish(lats_session s) {
  if (!s) return gLastError = "lats_session_record_finish: the session is NULL", LATS_ERR_INVALID_VALUE;
  return guarded(s, [&]() -> int {
    LATS_C_REQUIRE(s->host != nullptr && !s->host->recordPath().empty(), LATS_ERR_CONFIGURATION,
                   "lats_session_record_finish: not recording (call lats_session_record first)");
    s->host->finishRecording();
    return LATS_OK;
  });
}

int lats_session_destroy(lats_session* s) {
  if (s && *s && (*s)->host && (*s)->host->recording() && (*s)->host->recordedSnapshots() >= 2) {
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
