# Included from the top-level CMakeLists.txt (languages and MPI's imported targets must be
# set up in the top directory to be usable by examples/ and tests/): decides whether the
# Fortran bindings can be built and sets CAIRN_HAVE_FORTRAN (0/1) and CAIRN_CFI_INCLUDE.
# Needs: a Fortran compiler, MPI for Fortran with mpi_f08, the compiler's
# ISO_Fortran_binding.h, and cairn's MPI mode. Otherwise prints why and sets 0.
option(CAIRN_WITH_FORTRAN "Build the Fortran bindings when a Fortran compiler is found" ON)
set(CAIRN_HAVE_FORTRAN 0)
if(NOT CAIRN_WITH_FORTRAN)
  message(STATUS "cairn: Fortran bindings disabled (CAIRN_WITH_FORTRAN=OFF)")
  return()
endif()
if(NOT CAIRN_HAVE_MPI)
  message(STATUS "cairn: no MPI: Fortran bindings not built")
  return()
endif()
include(CheckLanguage)
check_language(Fortran)
if(NOT CMAKE_Fortran_COMPILER)
  message(STATUS "cairn: no Fortran compiler: Fortran bindings not built")
  return()
endif()
enable_language(Fortran)
find_package(MPI COMPONENTS C Fortran)
if(NOT MPI_Fortran_FOUND OR NOT MPI_Fortran_HAVE_F08_MODULE)
  message(STATUS "cairn: no MPI for Fortran with mpi_f08: Fortran bindings not built")
  return()
endif()
# The C glue reads Fortran descriptors: it needs the Fortran compiler's own
# ISO_Fortran_binding.h (for gfortran: in its private include directory).
set(_cairn_cfi_hint "")
if(CMAKE_Fortran_COMPILER_ID STREQUAL "GNU")
  execute_process(COMMAND ${CMAKE_Fortran_COMPILER} -print-file-name=include
                  OUTPUT_VARIABLE _cairn_cfi_hint OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
find_path(CAIRN_CFI_INCLUDE ISO_Fortran_binding.h HINTS ${_cairn_cfi_hint})
if(NOT CAIRN_CFI_INCLUDE)
  message(STATUS "cairn: no ISO_Fortran_binding.h: Fortran bindings not built")
  return()
endif()
set(CAIRN_HAVE_FORTRAN 1)
message(STATUS "cairn: Fortran bindings: ${CMAKE_Fortran_COMPILER_ID} ${CMAKE_Fortran_COMPILER_VERSION}")
