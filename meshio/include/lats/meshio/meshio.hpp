#pragma once
/// \file meshio.hpp
/// Umbrella header of lats::meshio.

#include "lats/meshio/convert.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/meshio/file_kind.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/meshio/vtu.hpp"
