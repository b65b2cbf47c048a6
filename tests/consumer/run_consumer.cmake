# Install the build into a scratch prefix, then build and run the consumers
# against it: a C and a C++ program with find_package(dtensor), the same two
# with pkg-config and a plain compiler (no MPI wrapper: dtensor.pc must carry
# the MPI flags of the build, whichever MPI it is). Then the installed docs:
# LICENSE, README, examples, and `man dtensor` from the prefix.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

# mpirun(PROGRAM TEXT): run PROGRAM at 2 ranks; it must print TEXT.
separate_arguments(mpi_flags UNIX_COMMAND "${MPIEXEC_FLAGS}")
function(mpirun exe text)
  run(timeout 120 ${MPIEXEC} ${mpi_flags} -n 2 ${exe})
  if(NOT out MATCHES "${text}")
    message(FATAL_ERROR "${exe} did not report success: ${out}")
  endif()
endfunction()

set(prefix ${WORK_DIR}/prefix)
# A sanitized library needs sanitized programs (the runtime must come first).
set(san_flags "")
if(SANITIZE)
  set(san_flags -fsanitize=address,undefined)
endif()
file(REMOVE_RECURSE ${WORK_DIR})
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# CMake package
string(REPLACE ";" " " san_string "${san_flags}")
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/cmake
    -DCMAKE_PREFIX_PATH=${prefix} "-DCMAKE_C_FLAGS=${san_string}"
    "-DCMAKE_CXX_FLAGS=${san_string}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake)
mpirun(${WORK_DIR}/cmake/consumer "consumer ok")
mpirun(${WORK_DIR}/cmake/consumer_cxx "consumer_cxx ok")

# pkg-config, with the plain compilers
file(GLOB pcdir ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
run(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pcdir} pkg-config --validate dtensor)
run(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pcdir} pkg-config --cflags --libs dtensor)
string(STRIP "${out}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
file(GLOB libdirs ${prefix}/lib*)
file(READ ${pcdir}/dtensor.pc pc)
if(NOT pc MATCHES "\nLicense: BSD-3-Clause\n" OR pc MATCHES "Requires:[^\n]*ompi")
  message(FATAL_ERROR "dtensor.pc lacks the license or names Open MPI:\n${pc}")
endif()
run(cc -std=c11 ${san_flags} ${SOURCE_DIR}/tests/consumer/main.c ${flags} -Wl,-rpath,${libdirs}
    -o ${WORK_DIR}/consumer-pc)
mpirun(${WORK_DIR}/consumer-pc "consumer ok")
run(c++ -std=c++11 -Wall -Wextra -pedantic -Werror ${san_flags}
    ${SOURCE_DIR}/tests/consumer/main.cpp ${flags} -Wl,-rpath,${libdirs}
    -o ${WORK_DIR}/consumer-pc-cxx)
mpirun(${WORK_DIR}/consumer-pc-cxx "consumer_cxx ok")

# The installed command runs; the docs and the man page are there.
file(GLOB exe ${prefix}/bin/dtensor)
# Outside mpirun Open MPI initialises as a singleton, and LeakSanitizer then
# either crashes (it cannot stop the world with the singleton's helper
# threads under some kernels' ptrace rules) or reports the singleton's own
# allocations: this run checks that the installed command starts, so it
# runs without the leak check (the MPI suites keep it).
if(SANITIZE)
  run(${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
      ${exe} --help)
else()
  run(${exe} --help)
endif()
foreach(f LICENSE README.md examples/least_squares.c examples/restart.c
          examples/to_torch.py)
  if(NOT EXISTS ${prefix}/share/doc/dtensor/${f})
    message(FATAL_ERROR "not installed: share/doc/dtensor/${f}")
  endif()
endforeach()
run(${CMAKE_COMMAND} -E env MANWIDTH=80 man -M ${prefix}/share/man dtensor)
if(NOT out MATCHES "DTENSOR\\(1\\)" OR NOT out MATCHES "inspect")
  message(FATAL_ERROR "man dtensor did not render the page:\n${out}")
endif()
message(STATUS "consumer package test passed")
