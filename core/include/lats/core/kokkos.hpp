#pragma once
/// \file kokkos.hpp
/// The Kokkos spaces and View types every LaTS component uses.

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace lats {

using ExecSpace = Kokkos::DefaultExecutionSpace;
using MemSpace = ExecSpace::memory_space;
using HostSpace = Kokkos::HostSpace;

/// Field values: (entities x components), row-major so one entity's components are contiguous.
using FieldView = Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>;
/// Coordinates: (entities x dimension).
using CoordView = Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>;
using RealView = Kokkos::View<double*, MemSpace>;
using IdView = Kokkos::View<std::int64_t*, MemSpace>;
using IndexView = Kokkos::View<std::int64_t*, MemSpace>;

}  // namespace lats
