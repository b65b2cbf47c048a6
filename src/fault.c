/*
 * fault.c - fault injection for the tests, and the one allocator every
 * library allocation goes through so that injection can reach it.
 *
 * Three kinds of fault, each on one rank (see internal.h for the contract):
 *   - a named site: dt__fault(comm, "copy") is true where the environment
 *     says DT_FAULT=copy (or the older DT_FAULT_ALLOC=copy);
 *   - the Nth allocation on this process (DT_FAULT_NTH=N or
 *     dt__fault_arm(DT__FAULT_ALLOC, N)) returns NULL, once;
 *   - the Nth error agreement on this process (DT_FAULT_AGREE=N or
 *     dt__fault_arm(DT__FAULT_AGREE, N)) contributes a simulated MPI failure
 *     as this rank's local code, once.
 * When nothing is armed each allocation costs one relaxed atomic load.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* fault state: armed kinds, the N to fail at, the counts since arming */
static atomic_int armed_alloc, armed_agree;
static atomic_long nth_alloc, nth_agree;
static atomic_long count_alloc, count_agree;
static atomic_long fired;
/* 0: the environment not read yet, 1: read */
static atomic_int env_read;

static int world_rank(void) {
  int inited = 0, finalized = 0, rank = -1;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (inited && !finalized)
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

/* The environment's DT_FAULT_RANK: -1 when unset (every rank). */
static int env_rank(void) {
  const char *r = getenv("DT_FAULT_RANK");
  return r && *r ? atoi(r) : -1;
}

/* DT_FAULT_NTH / DT_FAULT_AGREE, read once MPI is up (the rank is known). */
static void read_env(void) {
  if (atomic_load_explicit(&env_read, memory_order_acquire))
    return;
  const char *nth = getenv("DT_FAULT_NTH");
  const char *agr = getenv("DT_FAULT_AGREE");
  if (!nth && !agr) {
    atomic_store(&env_read, 1);
    return;
  }
  int me = world_rank();
  if (me < 0)
    return; /* before MPI_Init: decide later */
  int want = env_rank();
  if (want < 0 || want == me) {
    if (nth && atol(nth) > 0)
      dt__fault_arm(DT__FAULT_ALLOC, atol(nth));
    if (agr && atol(agr) > 0)
      dt__fault_arm(DT__FAULT_AGREE, atol(agr));
  }
  atomic_store_explicit(&env_read, 1, memory_order_release);
}

void dt__fault_arm(dt__fault_kind kind, long nth) {
  atomic_store(&env_read, 1); /* an explicit arm overrides the environment */
  atomic_store(&fired, 0);
  if (kind == DT__FAULT_ALLOC) {
    atomic_store(&count_alloc, 0);
    atomic_store(&nth_alloc, nth);
    atomic_store(&armed_alloc, nth > 0);
  } else {
    atomic_store(&count_agree, 0);
    atomic_store(&nth_agree, nth);
    atomic_store(&armed_agree, nth > 0);
  }
}

void dt__fault_disarm(void) {
  atomic_store(&armed_alloc, 0);
  atomic_store(&armed_agree, 0);
}

long dt__fault_fired(void) { return atomic_load(&fired); }

long dt__fault_count(dt__fault_kind kind) {
  return atomic_load(kind == DT__FAULT_ALLOC ? &count_alloc : &count_agree);
}

/* Count one event of a kind; true when it is the armed Nth one. */
static bool hit(atomic_int *armed, atomic_long *count, atomic_long *nth) {
  if (!atomic_load_explicit(&env_read, memory_order_relaxed))
    read_env();
  if (!atomic_load_explicit(armed, memory_order_relaxed))
    return false;
  long k = atomic_fetch_add(count, 1) + 1;
  if (k != atomic_load(nth))
    return false;
  atomic_fetch_add(&fired, 1);
  return true;
}

bool dt__fault_alloc(void) {
  return hit(&armed_alloc, &count_alloc, &nth_alloc);
}

bool dt__fault_agree(void) {
  return hit(&armed_agree, &count_agree, &nth_agree);
}

bool dt__fault(MPI_Comm comm, const char *site) {
  const char *want = getenv("DT_FAULT");
  if (!want)
    want = getenv("DT_FAULT_ALLOC");
  if (!want || strcmp(want, site) != 0)
    return false;
  const char *r = getenv("DT_FAULT_RANK");
  int rank = -1;
  MPI_Comm_rank(comm, &rank);
  return r && atoi(r) == rank;
}

/* ---- the allocator --------------------------------------------------------
 */

void *dt__malloc(size_t n) { return dt__fault_alloc() ? NULL : malloc(n); }

void *dt__calloc(size_t n, size_t size) {
  return dt__fault_alloc() ? NULL : calloc(n, size);
}

void *dt__realloc(void *p, size_t n) {
  return dt__fault_alloc() ? NULL : realloc(p, n);
}
