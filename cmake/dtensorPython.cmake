# The Python package (python/, issue 13): find an interpreter that has numpy
# and mpi4py, its development headers and cython3. Sets DT_PYTHON_FOUND and,
# when something is missing, DT_PYTHON_MISSING (said in the configure log).
#
# The python3 first on PATH may be another installation (pyenv, a venv)
# without the Debian modules; the first candidate that imports both wins,
# unless Python3_EXECUTABLE is given.
set(DT_PYTHON_FOUND FALSE)
set(DT_PYTHON_MISSING "")
find_program(DT_CYTHON_EXECUTABLE NAMES cython3 cython)
if(NOT Python3_EXECUTABLE)
  find_program(_dt_py_path NAMES python3 NO_CACHE)
  foreach(_dt_py ${_dt_py_path} /usr/bin/python3)
    if(EXISTS "${_dt_py}")
      execute_process(COMMAND "${_dt_py}" -c "import numpy, mpi4py"
        RESULT_VARIABLE _dt_py_rc OUTPUT_QUIET ERROR_QUIET TIMEOUT 60)
      if(_dt_py_rc EQUAL 0)
        set(Python3_EXECUTABLE "${_dt_py}" CACHE FILEPATH
            "The Python interpreter the dtensor package is built for")
        break()
      endif()
    endif()
  endforeach()
endif()
find_package(Python3 COMPONENTS Interpreter Development.Module QUIET)
if(NOT DT_CYTHON_EXECUTABLE)
  list(APPEND DT_PYTHON_MISSING "cython3")
endif()
if(NOT Python3_Interpreter_FOUND OR NOT Python3_Development.Module_FOUND)
  list(APPEND DT_PYTHON_MISSING "python3-dev")
else()
  execute_process(COMMAND "${Python3_EXECUTABLE}" -c
    "import numpy, mpi4py; print(numpy.get_include()); print(mpi4py.get_include())"
    RESULT_VARIABLE _dt_py_rc OUTPUT_VARIABLE _dt_py_out ERROR_QUIET
    OUTPUT_STRIP_TRAILING_WHITESPACE TIMEOUT 60)
  if(NOT _dt_py_rc EQUAL 0)
    list(APPEND DT_PYTHON_MISSING "python3-numpy/python3-mpi4py for ${Python3_EXECUTABLE}")
  else()
    string(REPLACE "\n" ";" _dt_py_out "${_dt_py_out}")
    list(GET _dt_py_out 0 DT_NUMPY_INCLUDE)
    list(GET _dt_py_out 1 DT_MPI4PY_INCLUDE)
    # mpi4py's .pxd files sit in the package directory, one above include/.
    get_filename_component(DT_MPI4PY_PXD_DIR "${DT_MPI4PY_INCLUDE}/../.." ABSOLUTE)
  endif()
endif()
# mpi4py must use the MPI dtensor is built with (the MPICH side build of the
# suite has Debian's mpi4py, built for Open MPI, beside it): compare the MPI
# library its extension links with that of MPI_C_LIB_NAMES.
if(NOT DT_PYTHON_MISSING)
  execute_process(COMMAND "${Python3_EXECUTABLE}" -c
    "import importlib.util; print(importlib.util.find_spec('mpi4py.MPI').origin)"
    OUTPUT_VARIABLE _dt_mpi4py_so OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET TIMEOUT 60)
  find_program(DT_LDD ldd)
  set(_dt_py_mpi "")
  if(DT_LDD AND _dt_mpi4py_so)
    execute_process(COMMAND ${DT_LDD} "${_dt_mpi4py_so}" OUTPUT_VARIABLE _dt_ldd
                    ERROR_QUIET TIMEOUT 60)
    if(_dt_ldd MATCHES "libmpich")
      set(_dt_py_mpi mpich)
    elseif(_dt_ldd MATCHES "libmpi\\.so")
      set(_dt_py_mpi openmpi)
    endif()
  endif()
  set(_dt_c_mpi "")
  if(MPI_C_LIB_NAMES MATCHES "mpich")
    set(_dt_c_mpi mpich)
  elseif(MPI_C_LIB_NAMES MATCHES "(^|;)mpi(;|$)")
    set(_dt_c_mpi openmpi)
  endif()
  if(_dt_py_mpi AND _dt_c_mpi AND NOT _dt_py_mpi STREQUAL _dt_c_mpi)
    list(APPEND DT_PYTHON_MISSING
         "an mpi4py for ${_dt_c_mpi} (${_dt_mpi4py_so} uses ${_dt_py_mpi})")
  endif()
endif()
if(NOT DT_PYTHON_MISSING)
  set(DT_PYTHON_FOUND TRUE)
endif()
