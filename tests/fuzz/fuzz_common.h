/*
 * fuzz_common.h - what the libFuzzer targets share: MPI (singleton init,
 * one rank) and one dtensor context for the whole run.
 */
#ifndef DT_FUZZ_COMMON_H
#define DT_FUZZ_COMMON_H

#include <dtensor.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static dt_ctx *fuzz_ctx;

static void fuzz_finish(void) {
  dt_ctx_destroy(&fuzz_ctx);
  int fin = 0;
  MPI_Finalized(&fin);
  if (!fin)
    MPI_Finalize();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  int provided = 0;
  MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
  if (dt_ctx_create(MPI_COMM_WORLD, &fuzz_ctx) != DT_OK)
    abort();
  atexit(fuzz_finish);
  return 0;
}

#endif
