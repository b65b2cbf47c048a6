# Install the build into a scratch prefix, then build and run the consumer
# against it twice: with find_package(dtensor) and with pkg-config.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
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
    -DCMAKE_PREFIX_PATH=${prefix} "-DCMAKE_C_FLAGS=${san_string}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake)
run(timeout 120 ${MPIEXEC} --oversubscribe -np 2 ${WORK_DIR}/cmake/consumer)
if(NOT out MATCHES "consumer ok")
  message(FATAL_ERROR "CMake consumer did not report success: ${out}")
endif()

# pkg-config
file(GLOB pcdir ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
run(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pcdir} pkg-config --cflags --libs dtensor)
string(STRIP "${out}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
file(GLOB libdirs ${prefix}/lib*)
run(cc -std=c11 ${san_flags} ${SOURCE_DIR}/tests/consumer/main.c ${flags} -Wl,-rpath,${libdirs}
    -o ${WORK_DIR}/consumer-pc)
run(timeout 120 ${MPIEXEC} --oversubscribe -np 2 ${WORK_DIR}/consumer-pc)
if(NOT out MATCHES "consumer ok")
  message(FATAL_ERROR "pkg-config consumer did not report success: ${out}")
endif()

# The installed command runs.
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
message(STATUS "consumer package test passed")
