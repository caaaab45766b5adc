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
#include "lats/core/strings.hpp"
#include "lats/core/version.hpp"

namespace lats::solvers::neural {
namespace {

using json = nlohmann::json;

json toJson(const LatentModelConfig& c) {
  return json{{"architecture", c.architecture},
              {"spatial_dim", c.spatialDim},
              {"num_components", c.numComponents},
              {"num_tokens", c.numTokens},
              {"token_dim", c.tokenDim},
              {"latent_dim", c.latentDim},
              {"num_heads", c.numHeads},
              {"num_frequencies", c.numFrequencies},
              {"decoder_hidden", c.decoderHidden},
              {"decoder_depth", c.decoderDepth},
              {"dynamics_dim", c.dynamicsDim},
              {"dynamics_depth", c.dynamicsDepth},
              {"num_parameters", c.numParameters},
              {"history", c.history},
              {"dynamics", c.dynamics},
              {"refinement_steps", c.refinementSteps},
              {"sigma_min", c.sigmaMin},
              {"encoder_chunk", c.encoderChunk}};
}

LatentModelConfig configFromJson(const json& j) {
  LatentModelConfig c;
  c.architecture = j.at("architecture").get<std::string>();
  c.spatialDim = j.at("spatial_dim").get<int64_t>();
  c.numComponents = j.at("num_components").get<int64_t>();
  c.numTokens = j.at("num_tokens").get<int64_t>();
  c.tokenDim = j.at("token_dim").get<int64_t>();
  c.latentDim = j.at("latent_dim").get<int64_t>();
  c.numHeads = j.at("num_heads").get<int64_t>();
  c.numFrequencies = j.at("num_frequencies").get<int64_t>();
  c.decoderHidden = j.at("decoder_hidden").get<int64_t>();
  // Absent in checkpoints written before the decoder had token blocks: none.
  c.decoderDepth = j.value("decoder_depth", int64_t{0});
  c.dynamicsDim = j.at("dynamics_dim").get<int64_t>();
  c.dynamicsDepth = j.at("dynamics_depth").get<int64_t>();
  c.numParameters = j.at("num_parameters").get<int64_t>();
  c.history = j.at("history").get<int64_t>();
  c.dynamics = j.at("dynamics").get<std::string>();
  c.refinementSteps = j.at("refinement_steps").get<int64_t>();
  c.sigmaMin = j.at("sigma_min").get<double>();
  c.encoderChunk = j.at("encoder_chunk").get<int64_t>();
  return c;
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
  const auto& c = model->config();
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

  json fields = json::array();
  for (const auto& f : metadata.fields) fields.push_back({{"name", f.name}, {"components", f.components}});
  json provenance = metadata.provenance;
  if (!provenance.contains("lats_version")) provenance["lats_version"] = lats::version();
  const json j = {{"format", "lats-model"},
                  {"format_version", kCheckpointFormatVersion},
                  {"config", toJson(c)},
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
                  {"provenance", provenance}};
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
  Checkpoint cp;
  try {
    LATS_CHECK(j.value("format", "") == "lats-model", FileFormatError,
               "model checkpoint: '" << jsonPath << "' is not a LaTS model description (format '"
                                     << j.value("format", "") << "', expected 'lats-model')");
    const int version = j.at("format_version").get<int>();
    LATS_CHECK(version == kCheckpointFormatVersion, FileFormatError,
               "model checkpoint: '" << jsonPath << "' has format version " << version << ", this LaTS reads version "
                                     << kCheckpointFormatVersion);
    cp.config = configFromJson(j.at("config"));
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

  cp.model = LatentModel(cp.config);
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
  auto target = stateOf(*cp.model);
  std::vector<std::string> names;
  for (const auto& entry : target) names.push_back(entry.first);
  std::set<std::string> seen;
  torch::NoGradGuard noGrad;
  for (const auto& entry : value.toGenericDict()) {
    const std::string name = entry.key().toStringRef();
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
