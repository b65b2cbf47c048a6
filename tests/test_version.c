/*
 * test_version - dt_version and dt_build_info say what the header says, and
 * dt_philox_fill (the benchmark's raw-generator limit) gives exactly the
 * reference Philox4x32-10 words, on the vector and the portable path, from
 * any first block (groups unaligned, near a 2^32 wrap of the low counter
 * word). Not collective; runs at 1-4 ranks like every suite.
 */
#include "dt_test.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void t_version(void) {
  CU_ASSERT_STRING_EQUAL(dt_version(), DT_VERSION_STRING);
  char buf[32];
  snprintf(buf, sizeof buf, "%d.%d.%d", DT_VERSION_MAJOR, DT_VERSION_MINOR,
           DT_VERSION_PATCH);
  CU_ASSERT_STRING_EQUAL(dt_version(), buf);
  CU_ASSERT_STRING_EQUAL(dt_build_info("version"), DT_VERSION_STRING);
  /* HDF5 is linked: its version is known and looks like 1.x.y */
  CU_ASSERT_EQUAL(strncmp(dt_build_info("hdf5"), "1.", 2), 0);
  CU_ASSERT_PTR_NOT_NULL(dt_build_info("git_commit"));
  CU_ASSERT(strlen(dt_build_info("git_commit")) > 0);
  CU_ASSERT(strlen(dt_build_info("compiler")) > 0);
  CU_ASSERT_STRING_EQUAL(dt_build_info("no such key"), "unknown");
  CU_ASSERT_STRING_EQUAL(dt_build_info(NULL), "unknown");
}

/* nblocks blocks from first against the scalar reference; returns the
 * number of words that differ. */
static int compare(uint64_t seed, uint64_t offset, uint64_t first,
                   int64_t nblocks) {
  uint32_t *out = malloc(16 * (size_t)nblocks + 16);
  if (!out)
    return -1;
  dt_err err = dt_philox_fill(seed, offset, first, nblocks, out);
  CU_ASSERT_EQUAL(err, DT_OK);
  int bad = 0;
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  for (int64_t k = 0; k < nblocks; k++) {
    uint64_t b = first + (uint64_t)k;
    const uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32),
                             (uint32_t)offset, (uint32_t)(offset >> 32)};
    uint32_t ref[4];
    dt__philox4x32_10(ctr, key, ref);
    bad += memcmp(ref, out + 4 * k, sizeof ref) != 0;
  }
  free(out);
  return bad;
}

static void t_philox_fill(void) {
  for (int portable = 0; portable < 2; portable++) {
    dt__rng_set_portable(portable != 0);
    CU_ASSERT_EQUAL(compare(7, 0, 0, 100000), 0);       /* threads, groups */
    CU_ASSERT_EQUAL(compare(UINT64_C(0x123456789abcdef), 3, 5, 37), 0);
    CU_ASSERT_EQUAL(compare(1, UINT64_C(1) << 40, 17, 1), 0);
    /* the low counter word wraps inside the range */
    CU_ASSERT_EQUAL(compare(9, 1, UINT64_C(0xffffffff) - 20, 64), 0);
    CU_ASSERT_EQUAL(compare(9, 1, UINT64_C(0x1fffffff0), 40), 0);
  }
  dt__rng_set_portable(false);
}

static void t_philox_fill_errors(void) {
  uint32_t w[4];
  T_OK(dt_philox_fill(1, 0, 0, 0, NULL));
  T_ERR(dt_philox_fill(1, 0, 0, 1, NULL), DT_ERR_NULL);
  T_ERR(dt_philox_fill(1, 0, 0, -1, w), DT_ERR_ARG);
}

int main(int argc, char **argv) {
  const dt_test_case cases[] = {{"version", t_version},
                                {"philox_fill", t_philox_fill},
                                {"philox_fill_errors", t_philox_fill_errors},
                                {NULL, NULL}};
  return dt_test_main(argc, argv, "version", cases);
}
