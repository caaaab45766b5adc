#pragma once
/// \file torchscript_module.hpp
/// An imported TorchScript module (doc/torchscript.md) and the components that run it: the
/// "torchscript" encoder, decoder and latent dynamics. The three components of one model
/// share one loaded module. Private to lats::solvers (torch's JIT headers stay out of the
/// public ones).

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lats/solvers/neural/decoder.hpp"
#include "lats/solvers/neural/encoder.hpp"
#include "lats/solvers/neural/latent_dynamics.hpp"

namespace lats::solvers::neural::detail {

/// A loaded TorchScript module: attribute and method checks, calls that turn TorchScript's
/// errors into ModelMismatchError naming the file and the method.
class ScriptedModule {
 public:
  /// Loads `path` (FileFormatError if it is not TorchScript, naming how to export one).
  static std::shared_ptr<ScriptedModule> load(const std::string& path);
  /// The module of `path` already loaded by another component of this process, or a new load.
  static std::shared_ptr<ScriptedModule> shared(const std::string& path);

  const std::string& path() const { return path_; }
  /// The integer attribute `name` (ModelMismatchError if absent or not an integer).
  std::int64_t integer(const char* name) const;
  /// The integer attribute `name`, or `fallback` when the module does not have it.
  std::int64_t integer(const char* name, std::int64_t fallback) const;
  /// ModelMismatchError unless the module has the method `name`.
  void requireMethod(const char* name) const;
  /// Calls `method`; the result must be a tensor.
  torch::Tensor call(const char* method, std::vector<torch::IValue> args);

 private:
  ScriptedModule(torch::jit::Module module, std::string path);
  torch::jit::Module module_;
  std::string path_;
};

/// The "file" hyper-parameter the three components share (-lats_model_torchscript).
const HyperSpec& torchscriptFileSpec();

void registerTorchScriptEncoder(ComponentRegistry<Encoder, const ModelShape&>& registry);
void registerTorchScriptDecoder(ComponentRegistry<Decoder, const ModelShape&>& registry);
void registerTorchScriptDynamics(ComponentRegistry<LatentDynamics, const ModelShape&>& registry);

}  // namespace lats::solvers::neural::detail
