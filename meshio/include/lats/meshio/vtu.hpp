#pragma once
/// \file vtu.hpp
/// Snapshots for ParaView: one VTU file per rank plus a PVTU index.

#include <string>
#include <vector>

#include "lats/core/field.hpp"
#include "lats/core/mesh.hpp"

namespace lats::meshio {

/// Writes the owned entities of each rank to `<base>_<rank>.vtu` (points = entity
/// coordinates, one vertex cell each, point data = the fields, plus "GlobalIds"), and rank 0
/// writes `<base>.pvtu`, which ParaView opens as one dataset. `time` is stored as TimeValue.
/// Every file is written under a temporary name and renamed, so an interrupted run never
/// leaves a partial file behind. Returns the .pvtu path. Collective over the mesh's
/// communicator; throws DimensionMismatchError if a field does not match the mesh, and
/// Error (on every rank) if a file cannot be written.
std::string writeVtu(const std::string& base, const Mesh& mesh, const std::vector<Field>& fields, double time = 0.0);

}  // namespace lats::meshio
