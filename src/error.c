/*
 * error.c - the error table, per-thread messages and collective agreement.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DT_MSG_LEN 512

static _Thread_local char dt_msg[DT_MSG_LEN];
/* Length of the "dt_fn: " prefix the pending message carries (0: none). A
 * public function that calls another replaces the inner one's name with its
 * own on the way out, so the outermost, the one the user called, is named. */
static _Thread_local size_t dt_msg_prefix;

const char *dt_strerror(dt_err err) {
  switch (err) {
#define DT_ERR_STR_(name, msg)                                                 \
  case name:                                                                   \
    return msg;
    DT_ERR_MAP(DT_ERR_STR_)
#undef DT_ERR_STR_
  default:
    return "unknown error";
  }
}

const char *dt_err_name(dt_err err) {
  switch (err) {
#define DT_ERR_NAME_(name, msg)                                                \
  case name:                                                                   \
    return #name;
    DT_ERR_MAP(DT_ERR_NAME_)
#undef DT_ERR_NAME_
  default:
    return "DT_ERR_UNKNOWN";
  }
}

const char *dt_last_error(void) { return dt_msg; }

dt_err dt__error(dt_err code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dt_msg, sizeof dt_msg, fmt, ap);
  va_end(ap);
  dt_msg_prefix = 0;
  return code;
}

dt_err dt__api(dt_err err, const char *fn) {
  if (err == DT_OK)
    return err;
  char tmp[2 * DT_MSG_LEN];
  snprintf(tmp, sizeof tmp, "%s: %s", fn,
           dt_msg[0] ? dt_msg + dt_msg_prefix : dt_strerror(err));
  memcpy(dt_msg, tmp, DT_MSG_LEN - 1);
  dt_msg[DT_MSG_LEN - 1] = '\0';
  dt_msg_prefix = strlen(fn) + 2;
  if (dt_msg_prefix > strlen(dt_msg))
    dt_msg_prefix = strlen(dt_msg);
  return err;
}

dt_err dt__mpi_error(int mpierr, const char *what) {
  char s[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(mpierr, s, &len) != MPI_SUCCESS)
    snprintf(s, sizeof s, "MPI error %d", mpierr);
  return dt__error(DT_ERR_MPI, "%s failed: %s", what, s);
}

uint64_t dt__hash_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  uint64_t w;
  for (; n >= 8; n -= 8, c += 8) {
    memcpy(&w, c, 8);
    h = dt__hash_mix(h, w);
  }
  w = 0;
  memcpy(&w, c, n);
  return dt__hash_mix(h, w ^ ((uint64_t)n << 56));
}

/*
 * One MPI_Allreduce(MAX) of three words: the failure word (code in the high
 * half, 0x7fffffff - rank in the low half, so the maximum is the largest code
 * and, among equal codes, the lowest rank), the argument hash and its
 * complement (max of ~h is ~min of h, so max != min means they differ).
 */
dt_err dt__agree(MPI_Comm comm, dt_err local, uint64_t arghash) {
  return dt__agree_max(comm, local, arghash, NULL);
}

/* Tests: a simulated rank-local failure just before an agreement. */
static dt_err inject_fault(dt_err local, int rank) {
  if (dt__fault_agree() && local == DT_OK)
    return dt__error(
        DT_ERR_MPI, "simulated MPI failure on rank %d (fault injection)", rank);
  return local;
}

dt_err dt__agree_max(MPI_Comm comm, dt_err local, uint64_t arghash,
                     int64_t *value) {
  int rank;
  if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS)
    return dt__error(DT_ERR_MPI, "MPI_Comm_rank failed");
  local = inject_fault(local, rank);
  uint64_t in[4], out[4];
  in[0] = local ? ((uint64_t)local << 32) | (uint64_t)(0x7fffffff - rank) : 0;
  in[1] = arghash;
  in[2] = ~arghash;
  /* signed maximum as an unsigned one: flip the sign bit */
  in[3] = value ? (uint64_t)*value ^ (UINT64_C(1) << 63) : 0;
  int rc = MPI_Allreduce(in, out, value ? 4 : 3, MPI_UINT64_T, MPI_MAX, comm);
  if (rc != MPI_SUCCESS)
    return dt__mpi_error(rc, "MPI_Allreduce (error agreement)");
  if (out[0] != 0) {
    dt_err code = (dt_err)(out[0] >> 32);
    int root = 0x7fffffff - (int)(out[0] & 0xffffffffu);
    /* Everyone gets the failing rank's message (without the name of a
     * public function it passed through: the caller adds its own); the
     * error path only. */
    char msg[DT_MSG_LEN];
    if (rank == root)
      snprintf(msg, sizeof msg, "%s",
               dt_msg[0] ? dt_msg + dt_msg_prefix : dt_strerror(code));
    rc = MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, root, comm);
    if (rc != MPI_SUCCESS)
      return dt__mpi_error(rc, "MPI_Bcast (error agreement)");
    msg[sizeof msg - 1] = '\0';
    /* A rank that failed the same way keeps its own message. */
    if (rank == root || local == code)
      return code;
    if (strstr(msg, "(on rank ") == NULL)
      dt__error(code, "%.480s (on rank %d)", msg, root);
    else
      dt__error(code, "%s", msg);
    return code;
  }
  if (value)
    *value = (int64_t)(out[3] ^ (UINT64_C(1) << 63));
  if (out[1] != ~out[2])
    return dt__error(DT_ERR_MISMATCH,
                     "replicated arguments (shape, dtype, layout, scalars or "
                     "generator state) differ between ranks");
  return DT_OK;
}

/*
 * dt__agree and an integer sum in one MPI_Allreduce(SUM), for collectives
 * whose data is a sum anyway (dt_sum): buf[0..n) are the caller's values,
 * buf[n..n + DT_AGREE_SUM_EXTRA) scratch. The failures are counted and the
 * argument hash travels as four 16-bit pieces c with their squares: every
 * rank's pieces are equal iff P * sum(c^2) == (sum c)^2 (Cauchy-Schwarz,
 * exact in 128 bits), decided from the sums alone, so the same on every
 * rank. A failure anywhere costs one more agreement (dt__agree, the error
 * path only) that picks the code and message as dt__agree does.
 */
dt_err dt__agree_sum(MPI_Comm comm, dt_err local, uint64_t arghash,
                     int64_t *buf, int n) {
  int rank, size;
  if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS ||
      MPI_Comm_size(comm, &size) != MPI_SUCCESS)
    return dt__error(DT_ERR_MPI, "MPI_Comm_rank failed");
  local = inject_fault(local, rank);
  if (size == 1)
    return local;
  int64_t *x = buf + n;
  x[0] = local != DT_OK;
  for (int k = 0; k < 4; k++) {
    int64_t c = (int64_t)((arghash >> (16 * k)) & 0xffff);
    x[1 + k] = c;
    x[5 + k] = c * c;
  }
  int rc = MPI_Allreduce(MPI_IN_PLACE, buf, n + DT_AGREE_SUM_EXTRA, MPI_INT64_T,
                         MPI_SUM, comm);
  if (rc != MPI_SUCCESS)
    return dt__mpi_error(rc, "MPI_Allreduce (sum and error agreement)");
  if (x[0] != 0) {
    dt_err code = dt__agree(comm, local, 0);
    return code ? code
                : dt__error(DT_ERR_MPI, "a rank failed and then did not");
  }
  __extension__ typedef __int128 i128;
  for (int k = 0; k < 4; k++)
    if ((i128)size * x[5 + k] != (i128)x[1 + k] * x[1 + k])
      return dt__error(DT_ERR_MISMATCH,
                       "replicated arguments (shape, dtype, layout, scalars or "
                       "generator state) differ between ranks");
  return DT_OK;
}

/* ---- shapes -----------------------------------------------------------------
 */

const char *dt__shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
  size_t k = 0;
  k += (size_t)snprintf(buf + k, n - k, "[");
  for (int d = 0; d < ndim && k < n; d++)
    k += (size_t)snprintf(buf + k, n - k, d ? ", %lld" : "%lld",
                          (long long)shape[d]);
  if (k < n)
    snprintf(buf + k, n - k, "]");
  return buf;
}

dt_err dt__check_shape(int ndim, const int64_t *shape, size_t elsize,
                       int64_t *numel) {
  DT_CHECK(ndim >= 0, DT_ERR_SHAPE, "ndim %d is negative", ndim);
  DT_CHECK(ndim <= DT_MAX_DIMS, DT_ERR_SHAPE,
           "ndim %d exceeds the maximum of %d dimensions", ndim, DT_MAX_DIMS);
  DT_CHECK(ndim == 0 || shape != NULL, DT_ERR_NULL, "shape is NULL");
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) {
    DT_CHECK(shape[d] >= 0, DT_ERR_SHAPE, "size %lld of axis %d is negative",
             (long long)shape[d], d);
    DT_CHECK(dt__mul_ok(n, shape[d], &n), DT_ERR_OVERFLOW,
             "element count of shape %s overflows 64 bits",
             dt__shape_str((char[160]){0}, 160, ndim, shape));
  }
  int64_t bytes;
  DT_CHECK(dt__mul_ok(n, (int64_t)(elsize ? elsize : 1), &bytes),
           DT_ERR_OVERFLOW, "byte size of %lld elements overflows 64 bits",
           (long long)n);
  if (numel)
    *numel = n;
  return DT_OK;
}

dt_err dt__norm_axis(int axis, int ndim, int *out) {
  int a = axis < 0 ? axis + ndim : axis;
  DT_CHECK(a >= 0 && a < ndim, DT_ERR_AXIS,
           "axis %d is out of range for a %d-dimensional tensor", axis, ndim);
  *out = a;
  return DT_OK;
}
