# The README's tour, as a user would copy it: the first ```c block after
# "## A short tour" is compiled with -std=c11 -Wall -Wextra -Werror against
# the build's library and run at 2 ranks; it must exit 0 and print the
# tensor it parses.
#   cmake -DREADME=... -DWORK_DIR=... -DCC=... -DINCLUDES="a b" -DLIB=...
#         -DMPI_LIBS="..." -DMPIEXEC=... -DMPIEXEC_FLAGS="..." -P readme_tour.cmake
file(READ ${README} text)
string(FIND "${text}" "## A short tour" at)
if(at LESS 0)
  message(FATAL_ERROR "README has no '## A short tour' section")
endif()
string(SUBSTRING "${text}" ${at} -1 text)
string(FIND "${text}" "```c\n" open)
if(open LESS 0)
  message(FATAL_ERROR "the tour has no ```c block")
endif()
math(EXPR open "${open} + 5")
string(SUBSTRING "${text}" ${open} -1 text)
string(FIND "${text}" "```" close)
string(SUBSTRING "${text}" 0 ${close} code)
file(MAKE_DIRECTORY ${WORK_DIR})
file(WRITE ${WORK_DIR}/tour.c "${code}")

separate_arguments(includes UNIX_COMMAND "${INCLUDES}")
separate_arguments(mpi_libs UNIX_COMMAND "${MPI_LIBS}")
separate_arguments(mpi_flags UNIX_COMMAND "${MPIEXEC_FLAGS}")
set(incflags "")
foreach(d ${includes})
  list(APPEND incflags -I${d})
endforeach()
get_filename_component(libdir ${LIB} DIRECTORY)
set(san "")
if(SANITIZE) # a sanitized library needs a sanitized program
  set(san -fsanitize=address,undefined)
endif()
execute_process(COMMAND ${CC} -std=c11 -Wall -Wextra -Werror ${san} ${incflags}
    ${WORK_DIR}/tour.c ${LIB} ${mpi_libs} -Wl,-rpath,${libdir} -o ${WORK_DIR}/tour
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the README's tour does not compile cleanly:\n${out}")
endif()
execute_process(COMMAND timeout 120 ${MPIEXEC} ${mpi_flags} -n 2 ${WORK_DIR}/tour
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "tensor\\(\\[\\[1\\., 2\\.\\]")
  message(FATAL_ERROR "the tour failed (${rc}):\n${out}\n${err}")
endif()
message(STATUS "README tour: compiled with -Wall -Wextra -Werror, ran at 2 ranks:\n${out}")
