/* cpu.c: which instruction set the hot kernels may use.
 *
 * Every kernel with a vector path (fills, copies, Philox, conversions, the
 * exact sum, the checksum hash) asks dt__isa() and takes the widest path
 * that is at most the answer. All paths give bitwise identical results;
 * the switch exists so that the suite can prove it (DT_KERNELS=portable
 * runs every kernel's portable fallback) and so that a site can rule out a
 * path it distrusts.
 *
 * DT_KERNELS (read once, at the first call):
 *   auto (or unset)  the widest the CPU supports
 *   portable         no target-specific code at all
 *   avx2             at most AVX2
 *   avx512           at most AVX-512 (F + DQ + BW + VL)
 * Anything else is treated as auto. Tests override it with dt__isa_cap.
 */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_int isa_cached = -1; /* dt__isa value, or -1 before the first */
static atomic_int isa_cap = -1;    /* a test's cap, or -1 for none */

static int cpu_level(void) {
#if defined(__GNUC__) && defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return DT_ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return DT_ISA_AVX2;
#endif
  return DT_ISA_PORTABLE;
}

static int env_cap(void) {
  const char *s = getenv("DT_KERNELS");
  if (!s)
    return DT_ISA_AVX512;
  if (!strcmp(s, "portable"))
    return DT_ISA_PORTABLE;
  if (!strcmp(s, "avx2"))
    return DT_ISA_AVX2;
  return DT_ISA_AVX512;
}

dt__isa dt__isa_level(void) {
  int v = atomic_load_explicit(&isa_cached, memory_order_relaxed);
  if (v < 0) {
    int cpu = cpu_level(), cap = env_cap();
    v = cpu < cap ? cpu : cap;
    atomic_store(&isa_cached, v);
  }
  int c = atomic_load_explicit(&isa_cap, memory_order_relaxed);
  return (dt__isa)(c >= 0 && c < v ? c : v);
}

void dt__isa_set_cap(int level) { atomic_store(&isa_cap, level); }

const char *dt__isa_name(dt__isa level) {
  switch (level) {
  case DT_ISA_AVX512:
    return "avx512";
  case DT_ISA_AVX2:
    return "avx2";
  default:
    return "portable";
  }
}
