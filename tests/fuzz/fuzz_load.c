/*
 * fuzz_load - the bytes as a checkpoint file, one rank: list it, read the
 * generator state and load every listed tensor, as `dtensor inspect` does;
 * then list every dataset (dt_list_datasets) and load each with
 * dt_load_dataset.
 * Any input must give tensors or errors, never a crash, a hang, a leak or
 * undefined behaviour. Seeds: checkpoints the library saved (make_seeds in
 * scripts/stages/30-fuzz.sh) and the regression inputs in regress_load/.
 */
#include "fuzz_common.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[64];
  if (!path[0])
    snprintf(path, sizeof path, "/tmp/dt_fuzz_load.%d.h5", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f)
    return 0;
  if (size)
    fwrite(data, 1, size, f);
  fclose(f);
  int n = 0;
  dt_file_entry *e = NULL;
  if (dt_list(fuzz_ctx, path, &n, &e) == DT_OK) {
    dt_load_rng_state(fuzz_ctx, path);
    for (int i = 0; i < n; i++) {
      dt_tensor *t = NULL;
      dt_load(fuzz_ctx, path, e[i].name, NULL, &t);
      dt_tensor_destroy(&t);
    }
  }
  free(e);
  dt_dataset_info *d = NULL;
  if (dt_list_datasets(fuzz_ctx, path, &n, &d, NULL) == DT_OK) {
    for (int i = 0; i < n; i++) {
      dt_tensor *t = NULL;
      dt_load_dataset(fuzz_ctx, path, d[i].name, NULL, &t);
      dt_tensor_destroy(&t);
    }
  }
  free(d);
  unlink(path);
  return 0;
}
