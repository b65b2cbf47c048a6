/*
 * args.c - option matching and value parsing shared by the subcommands.
 *
 * Parsers are pure functions of their text, so every rank reaches the same
 * verdict on the same command line without talking to the others.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_getopt(const cli_env *env, int argc, char **argv, int *i,
               const cli_option *opts, int nopts, const char **value) {
  const char *arg = argv[*i];
  *value = NULL;
  if (strncmp(arg, "--", 2) != 0) {
    cli_fail(env, "unexpected argument '%s'", arg);
    return -1;
  }
  const char *name = arg + 2;
  const char *eq = strchr(name, '=');
  size_t len = eq ? (size_t)(eq - name) : strlen(name);
  for (int k = 0; k < nopts; k++) {
    if (strlen(opts[k].name) != len || strncmp(opts[k].name, name, len) != 0)
      continue;
    if (!opts[k].has_value) {
      if (eq) {
        cli_fail(env, "option --%s takes no value", opts[k].name);
        return -1;
      }
      return k;
    }
    if (eq) {
      *value = eq + 1;
    } else if (*i + 1 < argc) {
      /* Take the next word whatever it looks like: "--start -5" is valid. */
      *value = argv[++*i];
    } else {
      cli_fail(env, "option --%s needs a value", opts[k].name);
      return -1;
    }
    return k;
  }
  cli_fail(env, "unknown option '%s'", arg);
  return -1;
}

bool cli_parse_i64(const char *s, int64_t *v) {
  if (!s || !*s || isspace((unsigned char)*s))
    return false;
  char *end = NULL;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (errno == ERANGE || *end != '\0')
    return false;
  *v = (int64_t)x;
  return true;
}

bool cli_parse_u64(const char *s, uint64_t *v) {
  /* strtoull would quietly wrap "-1" to 2^64 - 1. */
  if (!s || !isdigit((unsigned char)*s))
    return false;
  char *end = NULL;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno == ERANGE || *end != '\0')
    return false;
  *v = (uint64_t)x;
  return true;
}

bool cli_parse_f64(const char *s, double *v) {
  if (!s || !*s || isspace((unsigned char)*s))
    return false;
  char *end = NULL;
  errno = 0;
  double x = strtod(s, &end);
  /* Underflow to a tiny value is fine; "1e999" overflowing to inf is not. */
  if (*end != '\0' || (errno == ERANGE && isinf(x)))
    return false;
  *v = x;
  return true;
}

bool cli_parse_bytes(const char *s, int64_t *v) {
  if (!s || !isdigit((unsigned char)*s))
    return false;
  char *end = NULL;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (errno == ERANGE)
    return false;
  int shift = 0;
  switch (toupper((unsigned char)*end)) {
  case '\0':
    break;
  case 'K':
    shift = 10;
    break;
  case 'M':
    shift = 20;
    break;
  case 'G':
    shift = 30;
    break;
  default:
    return false;
  }
  if (shift) {
    end++;
    if (strcmp(end, "") != 0 && strcmp(end, "B") != 0 && strcmp(end, "iB") != 0)
      return false;
    if (x > (INT64_MAX >> shift))
      return false;
  }
  *v = (int64_t)x << shift;
  return true;
}

/* Case-insensitive "does s contain word". */
static bool contains_word(const char *s, const char *word) {
  size_t n = strlen(word);
  for (; *s; s++) {
    size_t k = 0;
    while (k < n && s[k] && tolower((unsigned char)s[k]) == word[k])
      k++;
    if (k == n)
      return true;
  }
  return false;
}

bool cli_parse_scalar(const char *s, dt_scalar *v) {
  if (!s)
    return false;
  if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0) {
    *v = DT_B(1);
    return true;
  }
  if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0) {
    *v = DT_B(0);
    return true;
  }
  if (strpbrk(s, ".eE") || contains_word(s, "inf") || contains_word(s, "nan")) {
    double f;
    if (!cli_parse_f64(s, &f))
      return false;
    *v = DT_F(f);
    return true;
  }
  int64_t i;
  if (!cli_parse_i64(s, &i))
    return false;
  *v = DT_I(i);
  return true;
}

bool cli_parse_shape(const char *s, int *ndim, int64_t *shape) {
  if (!s)
    return false;
  size_t len = strlen(s);
  /* Accept Python's spellings too: "(2, 3)" and "[2, 3]". */
  if (len >= 2 && ((s[0] == '(' && s[len - 1] == ')') ||
                   (s[0] == '[' && s[len - 1] == ']'))) {
    s++;
    len -= 2;
  }
  int n = 0;
  size_t pos = 0;
  while (pos < len && isspace((unsigned char)s[pos]))
    pos++;
  if (pos == len) {
    *ndim = 0;
    return true;
  }
  for (;;) {
    if (n == DT_MAX_DIMS)
      return false;
    char tok[32];
    size_t k = 0;
    while (pos < len && s[pos] != ',') {
      if (!isspace((unsigned char)s[pos])) {
        if (k + 1 >= sizeof tok)
          return false;
        tok[k++] = s[pos];
      }
      pos++;
    }
    tok[k] = '\0';
    int64_t x;
    if (!cli_parse_i64(tok, &x) || x < 0)
      return false;
    shape[n++] = x;
    if (pos == len)
      break;
    pos++; /* the comma */
  }
  *ndim = n;
  return true;
}

const char *cli_shape_str(int ndim, const int64_t *shape, char *buf,
                          size_t len) {
  size_t used = 0;
  int w = snprintf(buf, len, "[");
  used = w > 0 ? (size_t)w : 0;
  for (int d = 0; d < ndim && used < len; d++) {
    w = snprintf(buf + used, len - used, "%s%lld", d ? ", " : "",
                 (long long)shape[d]);
    used += w > 0 ? (size_t)w : 0;
  }
  if (used < len)
    snprintf(buf + used, len - used, "]");
  return buf;
}
