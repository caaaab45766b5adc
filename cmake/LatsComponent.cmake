# lats_target_defaults(<target>): warnings and, with -DLATS_SANITIZE=address;undefined,
# sanitizer instrumentation. Set on each target, never through global flags.
set(LATS_SANITIZE "" CACHE STRING "Sanitizers for every LaTS target, e.g. address;undefined")
function(lats_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  foreach(s IN LISTS LATS_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${s} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${s})
  endforeach()
endfunction()

# lats_add_component(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Creates the shared library liblats_<name>.so, its alias lats::<name>, and installs it
# with its public headers from <name>/include.
function(lats_add_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(lats_${name} SHARED ${ARG_SOURCES})
  add_library(lats::${name} ALIAS lats_${name})
  set_target_properties(lats_${name} PROPERTIES
    EXPORT_NAME ${name}
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
    CXX_EXTENSIONS OFF
    CXX_VISIBILITY_PRESET default)
  target_compile_features(lats_${name} PUBLIC cxx_std_17)
  target_include_directories(lats_${name}
    PUBLIC
      $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE
      ${CMAKE_CURRENT_SOURCE_DIR}/src)
  lats_target_defaults(lats_${name})
  target_link_libraries(lats_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  install(TARGETS lats_${name} EXPORT LaTSTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
