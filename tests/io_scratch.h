/*
 * io_scratch.h - the scratch directory and the agreement check shared by
 * the checkpoint suites (test_io, test_io_hard, test_io_chunked).
 *
 * Define IO_SCRATCH_NAME (the suite's name) before including, and
 * IO_SCRATCH_FRESH 1 to empty the directory on first use. Each rank count
 * gets its own directory, "$DT_TEST_IO_DIR/<name>.np<P>" (default
 * io-work/...), because ctest runs np1..np4 side by side.
 */
#ifndef DT_IO_SCRATCH_H
#define DT_IO_SCRATCH_H

#include <dirent.h>
#include <mpi.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef IO_SCRATCH_NAME
#error "define IO_SCRATCH_NAME before including io_scratch.h"
#endif
#ifndef IO_SCRATCH_FRESH
#define IO_SCRATCH_FRESH 0
#endif

static char g_dir[512];

/* "<dir>/<file>" into buf (at least 600 bytes); creates the directory on
 * the first call (collective then: every rank must make it). */
static inline const char *path_of(char *buf, const char *file) {
  if (!g_dir[0]) {
    const char *d = getenv("DT_TEST_IO_DIR");
    snprintf(g_dir, sizeof g_dir, "%s/%s.np%d", d ? d : "io-work",
             IO_SCRATCH_NAME, T_size);
    if (T_rank == 0) {
      char cmd[1200];
      if (IO_SCRATCH_FRESH)
        snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", g_dir,
                 g_dir);
      else
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g_dir);
      if (system(cmd) != 0)
        fprintf(stderr, "cannot create %s\n", g_dir);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  snprintf(buf, 600, "%s/%s", g_dir, file);
  return buf;
}

/* Temporaries (".*.tmp.*") left in the scratch directory, as every rank
 * sees it after a barrier. Collective. */
static inline int temps_left(void) {
  MPI_Barrier(MPI_COMM_WORLD);
  int n = 0;
  DIR *d = opendir(g_dir);
  for (struct dirent *e; d && (e = readdir(d));)
    if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp."))
      n++;
  if (d)
    closedir(d);
  return n;
}

/* v (e.g. an error code) is the same on every rank. Collective. */
static inline bool same_everywhere(int v) {
  int mm[2] = {v, -v}; /* max of v, -(min of v) */
  MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return mm[0] == -mm[1];
}

#endif /* DT_IO_SCRATCH_H */
