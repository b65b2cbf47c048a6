# dtensorPkgConfig.cmake - the MPI part of dtensor.pc, taken from the MPI this
# build found (Open MPI, MPICH, Intel MPI, Cray, ...), never a hard-coded
# pkg-config module: the public header includes <mpi.h> and applications call
# MPI themselves, so the flags are the package's public requirements.
#
# Sets, for configure_file(cmake/dtensor.pc.in):
#   DT_PC_MPI_CFLAGS  -I/-D/compile options of MPI::MPI_C
#   DT_PC_MPI_LIBS    -L/-l (or full paths) and link flags of MPI::MPI_C
#   DT_PC_MPI_NAME    which MPI it is, for the comment in the file
# A site whose MPI is only its compiler wrapper (Cray cc, mpicc) gets empty
# flags, which is right there: the wrapper adds them.
function(dt_pkgconfig_mpi)
  set(cflags "")
  foreach(dir IN LISTS MPI_C_INCLUDE_DIRS)
    list(APPEND cflags "-I${dir}")
  endforeach()
  foreach(def IN LISTS MPI_C_COMPILE_DEFINITIONS)
    list(APPEND cflags "-D${def}")
  endforeach()
  list(APPEND cflags ${MPI_C_COMPILE_OPTIONS})
  list(REMOVE_DUPLICATES cflags)

  set(ldirs "")
  set(libs "")
  foreach(lib IN LISTS MPI_C_LIBRARIES)
    get_filename_component(name "${lib}" NAME)
    if(IS_ABSOLUTE "${lib}" AND name MATCHES "^lib(.+)\\.(so|a|dylib)(\\.[0-9.]+)?$")
      get_filename_component(dir "${lib}" DIRECTORY)
      list(APPEND ldirs "-L${dir}")
      list(APPEND libs "-l${CMAKE_MATCH_1}")
    elseif(lib MATCHES "^-")
      list(APPEND libs "${lib}")
    elseif(IS_ABSOLUTE "${lib}")
      list(APPEND libs "${lib}")
    else()
      list(APPEND libs "-l${lib}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES ldirs)
  set(all ${ldirs} ${libs})
  if(MPI_C_LINK_FLAGS)
    separate_arguments(lf UNIX_COMMAND "${MPI_C_LINK_FLAGS}")
    list(APPEND all ${lf})
  endif()

  set(name "MPI ${MPI_C_VERSION}, libraries ${MPI_C_LIB_NAMES}")
  if(MPI_C_COMPILER)
    string(APPEND name ", compiler ${MPI_C_COMPILER}")
  endif()
  string(REPLACE ";" " " cflags "${cflags}")
  string(REPLACE ";" " " all "${all}")
  set(DT_PC_MPI_CFLAGS "${cflags}" PARENT_SCOPE)
  set(DT_PC_MPI_LIBS "${all}" PARENT_SCOPE)
  set(DT_PC_MPI_NAME "${name}" PARENT_SCOPE)
endfunction()
