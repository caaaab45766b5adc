#include "lats/solvers/neural/checkpoint.hpp"

#include <sys/stat.h>
#include <torch/serialize.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "lats/core/error.hpp"
#include "lats/core/files.hpp"
#include "lats/core/strings.hpp"
#include "lats/core/version.hpp"

namespace lats::solvers::neural {
namespace {

using json = nlohmann::json;

json toJson(const ComponentConfig& c) {
  json j{{"type", c.type()}};
  for (const auto& [k, v] : c.values()) {
    if (const auto* i = std::get_if<std::int64_t>(&v))
      j[k] = *i;
    else if (const auto* d = std::get_if<double>(&v))
      j[k] = *d;
    else
      j[k] = std::get<std::string>(v);
  }
  return j;
}

json toJson(const ModelDescription& d) {
  return json{{"spatial_dim", d.spatialDim},
              {"num_components", d.numComponents},
              {"num_parameters", d.numParameters},
              {"latent_dim", d.latentDim},
              {"history", d.history},
              {"encoder", toJson(d.encoder)},
              {"decoder", toJson(d.decoder)},
              {"dynamics", toJson(d.dynamics)}};
}

ComponentConfig componentFromJson(const json& j, const std::string& role) {
  LATS_CHECK(j.is_object() && j.contains("type") && j.at("type").is_string(), FileFormatError,
             "the '" << role << "' block must be an object with a string 'type'");
  ComponentConfig c(j.at("type").get<std::string>());
  for (const auto& [k, v] : j.items()) {
    if (k == "type") continue;
    if (v.is_number_integer())
      c.set(k, v.get<std::int64_t>());
    else if (v.is_number_float())
      c.set(k, v.get<double>());
    else if (v.is_string())
      c.set(k, v.get<std::string>());
    else
      LATS_THROW(FileFormatError, "'" << role << "." << k << "' is " << v.type_name() << "; expected a number or text");
  }
  return c;
}

/// The sizes both format versions write at the top of "config".
ModelDescription sizesFromJson(const json& j) {
  ModelDescription d;
  d.spatialDim = j.at("spatial_dim").get<std::int64_t>();
  d.numComponents = j.at("num_components").get<std::int64_t>();
  d.numParameters = j.at("num_parameters").get<std::int64_t>();
  d.latentDim = j.at("latent_dim").get<std::int64_t>();
  d.history = j.at("history").get<std::int64_t>();
  return d;
}

ModelDescription descriptionFromJson(const json& j) {
  ModelDescription d = sizesFromJson(j);
  d.encoder = componentFromJson(j.at("encoder"), "encoder");
  d.decoder = componentFromJson(j.at("decoder"), "decoder");
  d.dynamics = componentFromJson(j.at("dynamics"), "dynamics");
  return d;
}

/// The flat configuration of format version 1 (AROMA only) as a description. Its diffusion
/// refiner was conditioned on the last state only and came with an unused transformer.
ModelDescription descriptionFromVersion1(const json& j) {
  const auto architecture = j.at("architecture").get<std::string>();
  LATS_CHECK(architecture == "aroma", FileFormatError,
             "unknown latent model architecture '" << architecture << "' in a version-1 checkpoint; expected aroma");
  ModelDescription d = sizesFromJson(j);
  const auto heads = j.at("num_heads").get<std::int64_t>(), frequencies = j.at("num_frequencies").get<std::int64_t>();
  d.encoder = ComponentConfig("cross_attention")
                  .set("num_tokens", j.at("num_tokens").get<std::int64_t>())
                  .set("token_dim", j.at("token_dim").get<std::int64_t>())
                  .set("num_heads", heads)
                  .set("num_frequencies", frequencies)
                  .set("chunk", j.at("encoder_chunk").get<std::int64_t>());
  d.decoder = ComponentConfig("local_field")
                  .set("hidden", j.at("decoder_hidden").get<std::int64_t>())
                  .set("depth", j.value("decoder_depth", std::int64_t{0}))
                  .set("num_heads", heads)
                  .set("num_frequencies", frequencies)
                  .set("chunk", std::int64_t{0});
  const auto dynamics = j.at("dynamics").get<std::string>();
  LATS_CHECK(
      dynamics == "deterministic" || dynamics == "diffusion", FileFormatError,
      "unknown latent dynamics '" << dynamics << "' in a version-1 checkpoint; expected deterministic or diffusion");
  d.dynamics = ComponentConfig(dynamics)
                   .set("dim", j.at("dynamics_dim").get<std::int64_t>())
                   .set("depth", j.at("dynamics_depth").get<std::int64_t>())
                   .set("num_heads", heads);
  if (dynamics == "diffusion")
    d.dynamics.set("refinement_steps", j.at("refinement_steps").get<std::int64_t>())
        .set("sigma_min", j.at("sigma_min").get<double>())
        .set("conditioning", std::int64_t{1})
        .set("sampler", std::string("refine"));
  return d;
}

/// The name a version-1 tensor has in today's model ("" for one that is dropped).
std::string currentName(const std::string& name, int version, const ModelDescription& d) {
  if (version >= 2 || d.dynamics.type() != "diffusion") return name;
  if (name.rfind("dynamics.", 0) == 0) return "";  // the transformer diffusion inference never used
  if (name.rfind("refiner.", 0) == 0) return "dynamics." + name.substr(8);
  return name;
}

void writeAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(static_cast<long>(getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      LATS_THROW(Error, "could not write '" << path << "' (is the directory writable and the disk not full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    LATS_THROW(Error, "could not move '" << tmp << "' to '" << path << "'");
  }
}

std::string readFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    LATS_THROW(FileFormatError,
               "model checkpoint: cannot open '" << path << "' (" << what << "); is this a LaTS checkpoint directory?");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::map<std::string, torch::Tensor> stateOf(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : m.named_buffers()) out[b.key()] = b.value();
  return out;
}

}  // namespace

int64_t ModelMetadata::numComponents() const {
  int64_t n = 0;
  for (const auto& f : fields) n += static_cast<int64_t>(f.components.size());
  return n;
}

void saveCheckpoint(const std::string& dir, LatentModel& model, const ModelMetadata& metadata) {
  const auto& c = model->description();
  LATS_CHECK(model->trainable(), ModelMismatchError,
             "this model runs an imported TorchScript module, which a LaTS checkpoint does not hold; copy the "
             "directory it was loaded from (model.json and the module file) instead of saving it");
  LATS_CHECK(
      metadata.numComponents() == c.numComponents, ModelMismatchError,
      "checkpoint metadata lists " << metadata.numComponents() << " components but the model has " << c.numComponents);
  LATS_CHECK(
      metadata.spatialDim == c.spatialDim, ModelMismatchError,
      "checkpoint metadata says spatial dimension " << metadata.spatialDim << " but the model has " << c.spatialDim);
  LATS_CHECK(static_cast<int64_t>(metadata.mean.size()) == c.numComponents &&
                 static_cast<int64_t>(metadata.std.size()) == c.numComponents,
             ModelMismatchError,
             "normalisation needs one mean and one std per component ("
                 << c.numComponents << "), got " << metadata.mean.size() << " and " << metadata.std.size());
  LATS_CHECK((metadata.coordOffset.empty() && metadata.coordScale.empty()) ||
                 (static_cast<int64_t>(metadata.coordOffset.size()) == c.spatialDim &&
                  static_cast<int64_t>(metadata.coordScale.size()) == c.spatialDim),
             ModelMismatchError,
             "coordinate normalisation needs one offset and one scale per axis ("
                 << c.spatialDim << "), got " << metadata.coordOffset.size() << " and " << metadata.coordScale.size());
  LATS_CHECK((metadata.parameterMean.empty() && metadata.parameterStd.empty()) ||
                 (static_cast<int64_t>(metadata.parameterMean.size()) == c.numParameters &&
                  static_cast<int64_t>(metadata.parameterStd.size()) == c.numParameters),
             ModelMismatchError,
             "parameter normalisation needs one mean and one std per PDE parameter ("
                 << c.numParameters << "), got " << metadata.parameterMean.size() << " and "
                 << metadata.parameterStd.size());
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    LATS_THROW(Error, "could not create checkpoint directory '" << dir << "'");

  // Weights first, model.json last: a checkpoint without model.json is incomplete.
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : stateOf(*model)) dict.insert(name, t.detach().cpu().contiguous());
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  writeAtomically(dir + "/weights.pt", std::string(bytes.begin(), bytes.end()));
  const std::string weightsCrc = crc32Text(lats::crc32(bytes.data(), bytes.size()));

  json fields = json::array();
  for (const auto& f : metadata.fields) fields.push_back({{"name", f.name}, {"components", f.components}});
  json provenance = metadata.provenance;
  if (!provenance.contains("lats_version")) provenance["lats_version"] = lats::version();
  const json j = {{"format", "lats-model"},
                  {"format_version", kCheckpointFormatVersion},
                  {"config", toJson(model->description())},
                  {"fields", fields},
                  {"spatial_dim", metadata.spatialDim},
                  {"time_step", metadata.timeStep},
                  {"normalization",
                   {{"mean", metadata.mean},
                    {"std", metadata.std},
                    {"coord_offset", metadata.coordOffset},
                    {"coord_scale", metadata.coordScale},
                    {"parameter_mean", metadata.parameterMean},
                    {"parameter_std", metadata.parameterStd}}},
                  {"provenance", provenance},
                  {"checksums", {{"weights.pt", weightsCrc}}}};
  writeAtomically(dir + "/model.json", j.dump(2) + "\n");
}

Checkpoint loadCheckpoint(const std::string& dir) {
  const std::string jsonPath = dir + "/model.json", weightsPath = dir + "/weights.pt";
  json j;
  try {
    j = json::parse(readFile(jsonPath, "the model description"));
  } catch (const json::exception& e) {
    LATS_THROW(FileFormatError, "model checkpoint: '" << jsonPath << "' is not valid JSON (" << e.what()
                                                      << "); the file is corrupt or was not written by LaTS");
  }
  // Files whose checksum model.json records (written since 2026-12-03): a byte changed after
  // the save is refused before anything is computed with it.
  if (j.is_object() && j.contains("checksums")) {
    const auto& sums = j.at("checksums");
    LATS_CHECK(sums.is_object(), FileFormatError,
               "model checkpoint: '" << jsonPath << "' has a 'checksums' entry that is not an object");
    for (const auto& [name, value] : sums.items()) {
      LATS_CHECK(value.is_string() && name.find('/') == std::string::npos && name != ".." && !name.empty(),
                 FileFormatError,
                 "model checkpoint: '" << jsonPath << "' has a malformed checksum entry '" << name << "'");
      const std::string path = dir + "/" + name;
      LATS_CHECK(access(path.c_str(), R_OK) == 0, FileFormatError,
                 "model checkpoint: '" << path << "' is missing or unreadable; model.json lists it as part of the "
                                       << "checkpoint (copy the whole directory)");
      const std::string actual = crc32Text(fileCrc32(path)), recorded = value.get<std::string>();
      LATS_CHECK(actual == recorded, FileFormatError,
                 "model checkpoint: '" << path << "' is corrupt: its checksum is " << actual << " but model.json "
                                       << "records " << recorded
                                       << " (the file changed after it was saved; restore it or train again)");
    }
  }
  Checkpoint cp;
  int version = 0;
  try {
    LATS_CHECK(j.value("format", "") == "lats-model", FileFormatError,
               "model checkpoint: '" << jsonPath << "' is not a LaTS model description (format '"
                                     << j.value("format", "") << "', expected 'lats-model')");
    version = j.at("format_version").get<int>();
    LATS_CHECK(version >= 1 && version <= kCheckpointFormatVersion, FileFormatError,
               "model checkpoint: '" << jsonPath << "' has format version " << version
                                     << ", this LaTS reads versions 1 to " << kCheckpointFormatVersion
                                     << " (a newer LaTS wrote it?)");
    cp.description = version == 1 ? descriptionFromVersion1(j.at("config")) : descriptionFromJson(j.at("config"));
    for (const auto& f : j.at("fields"))
      cp.metadata.fields.push_back(
          {f.at("name").get<std::string>(), f.at("components").get<std::vector<std::string>>()});
    cp.metadata.spatialDim = j.at("spatial_dim").get<int>();
    cp.metadata.timeStep = j.value("time_step", 0.0);
    cp.metadata.mean = j.at("normalization").at("mean").get<std::vector<double>>();
    cp.metadata.std = j.at("normalization").at("std").get<std::vector<double>>();
    const auto& norm = j.at("normalization");
    if (norm.contains("coord_offset")) cp.metadata.coordOffset = norm.at("coord_offset").get<std::vector<double>>();
    if (norm.contains("coord_scale")) cp.metadata.coordScale = norm.at("coord_scale").get<std::vector<double>>();
    if (norm.contains("parameter_mean"))
      cp.metadata.parameterMean = norm.at("parameter_mean").get<std::vector<double>>();
    if (norm.contains("parameter_std")) cp.metadata.parameterStd = norm.at("parameter_std").get<std::vector<double>>();
    for (const auto& [k, v] : j.at("provenance").items())
      cp.metadata.provenance[k] = v.is_string() ? v.get<std::string>() : v.dump();
  } catch (const json::exception& e) {
    LATS_THROW(FileFormatError,
               "model checkpoint: '" << jsonPath << "' lacks an entry or has a wrong type (" << e.what() << ")");
  }

  try {
    cp.model = LatentModel(cp.description, dir);
  } catch (const Error& e) {
    LATS_THROW(FileFormatError,
               "model checkpoint: '" << jsonPath << "' describes a model that cannot be built: " << e.what());
  }
  cp.description = cp.model->description();
  LATS_CHECK(cp.metadata.spatialDim == cp.description.spatialDim &&
                 cp.metadata.numComponents() == cp.description.numComponents &&
                 static_cast<std::int64_t>(cp.metadata.mean.size()) == cp.description.numComponents &&
                 static_cast<std::int64_t>(cp.metadata.std.size()) == cp.description.numComponents,
             FileFormatError,
             "model checkpoint: '" << jsonPath << "' is inconsistent: the model takes " << cp.description.spatialDim
                                   << "D points with " << cp.description.numComponents
                                   << " components, the fields list " << cp.metadata.numComponents()
                                   << " components in " << cp.metadata.spatialDim << "D with "
                                   << cp.metadata.mean.size() << " means and " << cp.metadata.std.size()
                                   << " standard deviations");
  auto target = stateOf(*cp.model);
  if (target.empty() && access(weightsPath.c_str(), F_OK) != 0) {
    // Every component runs an imported module: there are no native weights to read.
    cp.model->eval();
    return cp;
  }
  const std::string bytes = readFile(weightsPath, "the weights");
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception&) {
    LATS_THROW(FileFormatError, "model checkpoint: '" << weightsPath << "' cannot be read as a pickled tensor "
                                                      << "dictionary (truncated or corrupt?)");
  }
  LATS_CHECK(value.isGenericDict(), FileFormatError,
             "model checkpoint: '" << weightsPath << "' does not hold a {name: tensor} dictionary");
  std::vector<std::string> names;
  for (const auto& entry : target) names.push_back(entry.first);
  std::set<std::string> seen;
  torch::NoGradGuard noGrad;
  for (const auto& entry : value.toGenericDict()) {
    LATS_CHECK(entry.key().isString() && entry.value().isTensor(), FileFormatError,
               "model checkpoint: '" << weightsPath << "' does not hold a {name: tensor} dictionary");
    const std::string name = currentName(entry.key().toStringRef(), version, cp.description);
    if (name.empty()) continue;
    auto it = target.find(name);
    LATS_CHECK(it != target.end(), FileFormatError,
               "model checkpoint: '" << weightsPath << "' has a tensor '" << name
                                     << "' that the configured model does not have." << didYouMean(name, names));
    const at::Tensor t = entry.value().toTensor();
    LATS_CHECK(t.sizes() == it->second.sizes(), FileFormatError,
               "model checkpoint: tensor '" << name << "' in '" << weightsPath << "' has shape " << t.sizes()
                                            << " but the configuration in model.json needs " << it->second.sizes());
    it->second.copy_(t);
    seen.insert(name);
  }
  for (const auto& [name, t] : target)
    LATS_CHECK(seen.count(name), FileFormatError,
               "model checkpoint: '" << weightsPath << "' lacks the tensor '" << name << "' of the configured model");
  cp.model->eval();
  return cp;
}

void validateAgainst(const ModelMetadata& metadata, const Mesh& mesh, const State& state) {
  LATS_CHECK(mesh.dimension() == metadata.spatialDim, ModelMismatchError,
             "the model was trained on a " << metadata.spatialDim << "D domain but the mesh '" << mesh.name() << "' is "
                                           << mesh.dimension() << "D");
  for (const auto& f : metadata.fields) {
    LATS_CHECK(state.has(f.name), ModelMismatchError,
               "the model expects a field '" << f.name << "' that the state does not have."
                                             << didYouMean(f.name, state.fieldNames())
                                             << " State fields: " << join(state.fieldNames(), ", "));
    const Field& field = state.field(f.name);
    LATS_CHECK(field.numComponents() == static_cast<int>(f.components.size()), ModelMismatchError,
               "field '" << f.name << "' has " << field.numComponents() << " components ("
                         << join(field.componentNames(), ", ") << ") but the model expects " << f.components.size()
                         << " (" << join(f.components, ", ") << ")");
  }
}

}  // namespace lats::solvers::neural
