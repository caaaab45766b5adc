#include "lats/solvers/neural/model_description.hpp"

#include <sstream>
#include <tuple>

#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/solvers/neural/decoder.hpp"
#include "lats/solvers/neural/encoder.hpp"
#include "lats/solvers/neural/latent_dynamics.hpp"
#include "lats/solvers/neural/sampler.hpp"

namespace lats::solvers::neural {
namespace {

const IntOption kLatentDim{"model_latent_dim", 16, "model: latent dimension per token (in [1, 4096])"};
const IntOption kHistory{"model_history", 1, "model: latent states the dynamics sees (in [1, 64])"};
const StringOption kEncoder{"model_encoder", "cross_attention", "model: registered encoder (lats help lists them)"};
const StringOption kDecoder{"model_decoder", "local_field", "model: registered decoder (lats help lists them)"};
const StringOption kDynamics{"model_dynamics", "deterministic",
                             "model: registered latent dynamics, e.g. deterministic or diffusion (AROMA's refiner)"};

template <class Registry>
const std::vector<HyperSpec>& schemaOf(const Registry& registry, const ComponentConfig& c) {
  return registry.entry(c.type()).schema;
}

}  // namespace

std::vector<std::string> registeredNames(const std::string& role) {
  if (role == "encoder") return encoders().names();
  if (role == "decoder") return decoders().names();
  if (role == "dynamics") return latentDynamics().names();
  if (role == "sampler") return samplers().names();
  LATS_THROW(ConfigurationError, "no registry of '" << role << "'; registries: encoder, decoder, dynamics, sampler");
}

ModelDescription ModelDescription::defaults() {
  ModelDescription d;
  d.encoder = encoders().defaults("cross_attention");
  d.decoder = decoders().defaults("local_field");
  d.dynamics = latentDynamics().defaults("deterministic");
  return d;
}

ModelDescription ModelDescription::fromOptions() {
  ModelDescription d;
  d.latentDim = kLatentDim.get();
  d.history = kHistory.get();
  d.encoder = encoders().fromOptions(kEncoder.get());
  d.decoder = decoders().fromOptions(kDecoder.get());
  d.dynamics = latentDynamics().fromOptions(kDynamics.get());
  d.validate();
  return d;
}

void ModelDescription::validate() {
  LATS_CHECK(spatialDim >= 1 && spatialDim <= 3 && numComponents >= 1 && numComponents <= 4096 && numParameters >= 0 &&
                 numParameters <= 4096,
             ConfigurationError,
             "model: " << spatialDim << "D points with " << numComponents << " components and " << numParameters
                       << " PDE parameters; expected 1 to 3 dimensions, 1 to 4096 components, 0 to 4096 parameters");
  LATS_CHECK(latentDim >= 1 && latentDim <= 4096, ConfigurationError,
             "model: latent dimension " << latentDim << " is outside [1, 4096] (-lats_model_latent_dim)");
  LATS_CHECK(history >= 1 && history <= 64, ConfigurationError,
             "model: history " << history << " is outside [1, 64] (-lats_model_history)");
  neural::validate(encoder, schemaOf(encoders(), encoder), "encoder '" + encoder.type() + "'", false);
  neural::validate(decoder, schemaOf(decoders(), decoder), "decoder '" + decoder.type() + "'", false);
  neural::validate(dynamics, schemaOf(latentDynamics(), dynamics), "latent dynamics '" + dynamics.type() + "'", false);
}

ModelDescription& ModelDescription::set(const std::string& path, HyperValue value) {
  const auto dot = path.find('.');
  if (dot == std::string::npos) {
    LATS_CHECK((path == "latent_dim" || path == "history") && std::holds_alternative<std::int64_t>(value),
               ConfigurationError,
               "model description: no integer '" << path << "' at the top (latent_dim, history, or role.key such as "
                                                 << "encoder.num_tokens)");
    (path == "latent_dim" ? latentDim : history) = std::get<std::int64_t>(value);
    return *this;
  }
  const std::string role = path.substr(0, dot), key = path.substr(dot + 1);
  ComponentConfig* c = role == "encoder"    ? &encoder
                       : role == "decoder"  ? &decoder
                       : role == "dynamics" ? &dynamics
                                            : nullptr;
  LATS_CHECK(c != nullptr, ConfigurationError,
             "model description: no component '" << role << "'." << didYouMean(role, {"encoder", "decoder", "dynamics"})
                                                 << " Components: encoder, decoder, dynamics");
  c->set(key, std::move(value));
  return *this;
}

ModelDescription& ModelDescription::setType(const std::string& role, const std::string& name) {
  if (role == "encoder")
    encoder = encoders().defaults(name);
  else if (role == "decoder")
    decoder = decoders().defaults(name);
  else if (role == "dynamics")
    dynamics = latentDynamics().defaults(name);
  else
    LATS_THROW(ConfigurationError, "model description: no component '"
                                       << role << "'." << didYouMean(role, {"encoder", "decoder", "dynamics"})
                                       << " Components: encoder, decoder, dynamics");
  return *this;
}

bool ModelDescription::sameAutoencoder(const ModelDescription& o) const {
  return spatialDim == o.spatialDim && numComponents == o.numComponents && latentDim == o.latentDim &&
         encoder.equals(o.encoder, schemaOf(encoders(), encoder), true) &&
         decoder.equals(o.decoder, schemaOf(decoders(), decoder), true);
}

bool ModelDescription::sameArchitecture(const ModelDescription& o) const {
  return sameAutoencoder(o) && numParameters == o.numParameters && history == o.history &&
         dynamics.equals(o.dynamics, schemaOf(latentDynamics(), dynamics), true);
}

bool ModelDescription::operator==(const ModelDescription& o) const {
  return spatialDim == o.spatialDim && numComponents == o.numComponents && numParameters == o.numParameters &&
         latentDim == o.latentDim && history == o.history && encoder == o.encoder && decoder == o.decoder &&
         dynamics == o.dynamics;
}

std::string ModelDescription::fingerprint() const {
  std::ostringstream os;
  os << "spatial_dim=" << spatialDim << ";num_components=" << numComponents << ";num_parameters=" << numParameters
     << ";latent_dim=" << latentDim << ";history=" << history;
  const std::tuple<const char*, const ComponentConfig*, const std::vector<HyperSpec>*> roles[] = {
      {"encoder", &encoder, &schemaOf(encoders(), encoder)},
      {"decoder", &decoder, &schemaOf(decoders(), decoder)},
      {"dynamics", &dynamics, &schemaOf(latentDynamics(), dynamics)}};
  for (const auto& [role, c, schema] : roles) {
    os << ";" << role << "=" << c->type();
    for (const auto& spec : *schema)  // run-time settings (chunk sizes) are not the architecture
      if (!spec.runtime && c->has(spec.key))
        os << ";" << role << "." << spec.key << "=" << toText(c->values().at(spec.key));
  }
  return os.str();
}

}  // namespace lats::solvers::neural
