/*
 * version.c - dt_version and dt_build_info: what a benchmark or a bug report
 * needs to say which library it ran.
 */
#include "internal.h"

#include <hdf5.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#ifndef DT_GIT_COMMIT
#define DT_GIT_COMMIT "unknown"
#endif
#ifndef DT_BUILD_TYPE
#define DT_BUILD_TYPE "unknown"
#endif

#define DT_STR2(x) #x
#define DT_STR(x) DT_STR2(x)

_Static_assert(DT_VERSION_MAJOR >= 0 && DT_VERSION_MINOR >= 0 &&
                   DT_VERSION_PATCH >= 0,
               "version numbers");

const char *dt_version(void) {
  return DT_STR(DT_VERSION_MAJOR) "." DT_STR(DT_VERSION_MINOR) "." DT_STR(
      DT_VERSION_PATCH);
}

static char hdf5_buf[48] = "unknown";
static pthread_once_t hdf5_once = PTHREAD_ONCE_INIT;

static void hdf5_read(void) {
  unsigned maj = 0, min = 0, rel = 0;
  if (H5get_libversion(&maj, &min, &rel) >= 0)
    snprintf(hdf5_buf, sizeof hdf5_buf, "%u.%u.%u", maj, min, rel);
}

static const char *hdf5_version(void) {
  pthread_once(&hdf5_once, hdf5_read);
  return hdf5_buf;
}

const char *dt_build_info(const char *key) {
  if (!key)
    return "unknown";
  if (strcmp(key, "version") == 0)
    return dt_version();
  if (strcmp(key, "git_commit") == 0)
    return DT_GIT_COMMIT[0] ? DT_GIT_COMMIT : "unknown";
  if (strcmp(key, "hdf5") == 0)
    return hdf5_version();
  if (strcmp(key, "compiler") == 0) {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
  }
  if (strcmp(key, "build_type") == 0)
    return DT_BUILD_TYPE[0] ? DT_BUILD_TYPE : "unknown";
  if (strcmp(key, "kernels") == 0)
    return dt__isa_name(dt__isa_level());
  return "unknown";
}
