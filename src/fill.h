/*
 * fill.h - the kernels that write a fresh run of a non-random factory
 * (fill.c): a repeated element, an arithmetic sequence in float64 or
 * float32 arithmetic, a wrapping integer sequence. Each has a portable
 * path and AVX2 / AVX-512 paths (picked by dt__isa_level()) that give the
 * same bits: the same operations in the same order, no FMA (except
 * dt__fill_pow_f32, whose bits are pow's on every path). Outputs bigger
 * than the last-level cache are written with non-temporal stores when `nt`
 * says so (dt__fill_streams). Not collective; thread-safe; any alignment.
 */
#ifndef DT_FILL_H
#define DT_FILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when a shard of `bytes` should be written with non-temporal stores:
 * it is bigger than the last-level cache (or the test override). */
bool dt__fill_streams(size_t bytes);
/* Test hook: stream shards bigger than `bytes` (0: back to the LLC size). */
void dt__fill_set_stream_min(size_t bytes);

/* n elements of esz bytes (1, 4 or 8), each a copy of elem. */
void dt__fill_pattern(void *out, size_t esz, const void *elem, int64_t n,
                      bool nt);

/*
 * Arithmetic sequences; x_i = x0 + i (down: x0 - i), exact integers:
 *   lin_f64      out[i] = a + b * x_i            (down: a - b * x_i), double
 *   lin_f64_f32  the same, rounded once to float
 *   lin_f32      the same in float arithmetic, x_i = (float)(integer)
 * Preconditions: lin_f64*: |x0| + n <= 2^53; lin_f32: every x_i in
 * [0, 2^31).
 */
void dt__fill_lin_f64(double *out, int64_t n, double a, double b, double x0,
                      bool down, bool nt);
void dt__fill_lin_f64_f32(float *out, int64_t n, double a, double b, double x0,
                          bool down, bool nt);
void dt__fill_lin_f32(float *out, int64_t n, float a, float b, int64_t x0,
                      bool down, bool nt);

/* out[i] = v0 + i * d, wrapping (two's complement), 64 or 32 bits. */
void dt__fill_step_i64(int64_t *out, int64_t n, uint64_t v0, uint64_t d,
                       bool nt);
void dt__fill_step_i32(int32_t *out, int64_t n, uint32_t v0, uint32_t d,
                       bool nt);

/* out[i] = (float)pow(base, x[i]) with libm's bits, calling pow only for
 * the elements whose float rounding a cheaper approximation (FMA on the
 * vector paths) cannot decide (see fill.c); the portable path calls pow
 * for every element. */
void dt__fill_pow_f32(float *out, const double *x, int64_t n, double base);

#endif
