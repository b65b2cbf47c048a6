/*
 * fuzz_parse - dt_parse on arbitrary text, one rank. Any input must give a
 * tensor or an error, never a crash, a leak or undefined behaviour.
 */
#include "fuzz_common.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  dt_tensor *t = NULL;
  if (dt_parse(fuzz_ctx, s, NULL, &t) == DT_OK) {
    uint64_t c = 0;
    dt_checksum(t, &c);
  }
  dt_tensor_destroy(&t);
  free(s);
  return 0;
}
