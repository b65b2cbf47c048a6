/*
 * format.c - tensor literals in (torch.tensor syntax) and PyTorch's repr out.
 *
 * The parser is a state machine over the bytes of the literal with an
 * explicit stack of at most DT_MAX_DIMS open lists, so hostile input costs
 * neither C stack nor reads past the terminating NUL. Lists and tuples are
 * Python's: "[1, 2]", "(1, 2)", "(1,)", "()", trailing commas ("[1,]"), and
 * parentheses around one value without a comma are only grouping ("(1)" is
 * 1), found by a first pass that matches the brackets. Values go from their
 * text straight to the target dtype the way torch.tensor stores Python
 * numbers (floats through double, ints exactly as int64). The printer follows
 * torch/_tensor_str.py (PyTorch 2.x) with the default print options; it
 * gathers only the elements it prints.
 */
#include "internal.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- literal parser ------------------------------------------------------ */

typedef enum tok_kind { TOK_INT, TOK_FLOAT, TOK_BOOL } tok_kind;

typedef struct tok {
  double f;   /* TOK_FLOAT; TOK_INT: the value rounded to double */
  int64_t i;  /* TOK_INT, TOK_BOOL (0 or 1) */
  size_t pos; /* where the token starts, for messages */
  tok_kind kind;
  bool big; /* TOK_INT beyond int64: only f holds it */
} tok;

typedef struct parser {
  const char *s;
  size_t pos;
  /* skip[k]: byte k is a grouping parenthesis, read as whitespace */
  unsigned char *skip;
  /* the bracket that closes each open list: ']' or ')' */
  char close[DT_MAX_DIMS];
  tok *vals;
  size_t nvals, cap;
  bool any_int, any_float, any_bool;
  /* Nesting: lists open, the depth of the leaves (-1 until known), elements
   * so far in each open list, and the length every list at each depth must
   * have (-1 until the first one closes). */
  int depth;
  int leaf;
  int64_t count[DT_MAX_DIMS];
  int64_t shape[DT_MAX_DIMS];
} parser;

static bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
/* What may follow a scalar. */
static bool is_delim(char c) {
  return c == '\0' || c == ',' || c == ']' || c == ')' || is_ws(c);
}

/* Whitespace, or a parenthesis that only groups. */
static bool is_blank(const parser *p, size_t k) {
  return is_ws(p->s[k]) || (p->skip && p->skip[k]);
}

/*
 * The first pass: match the brackets and mark each "(...)" that holds one
 * value and no comma at its own level: Python reads it as that value, not
 * as a tuple. Mismatched or unclosed brackets are left to the parser, which
 * reports them at their position. Deeper nesting than the parser accepts
 * stops the pass (the parser then reports the depth).
 */
enum { GROUP_MAX = 4 * DT_MAX_DIMS };

static dt_err mark_groups(parser *p) {
  const char *s = p->s;
  struct {
    size_t at;
    char open;
    bool comma, content;
  } st[GROUP_MAX];
  int top = 0;
  for (size_t k = 0; s[k]; k++) {
    char c = s[k];
    if (c == '[' || c == '(') {
      if (top > 0)
        st[top - 1].content = true;
      if (top == GROUP_MAX)
        return DT_OK;
      st[top].at = k;
      st[top].open = c;
      st[top].comma = st[top].content = false;
      top++;
    } else if (c == ']' || c == ')') {
      if (top == 0 || st[top - 1].open != (c == ']' ? '[' : '('))
        return DT_OK;
      top--;
      if (c == ')' && st[top].content && !st[top].comma) {
        if (!p->skip) {
          p->skip = dt__calloc(strlen(s) + 1, 1);
          if (!p->skip)
            return dt__error(DT_ERR_NOMEM, "cannot allocate %zu bytes",
                             strlen(s) + 1);
        }
        p->skip[st[top].at] = p->skip[k] = 1;
      }
    } else if (top > 0 && c == ',') {
      st[top - 1].comma = true;
    } else if (top > 0 && !is_ws(c)) {
      st[top - 1].content = true;
    }
  }
  return DT_OK;
}

/* "unexpected ']' at position 7 (expected a value)", naming bytes that do
 * not print by their code so the message stays one readable line. */
static dt_err unexpected(const parser *p, size_t at, const char *expected) {
  unsigned char c = (unsigned char)p->s[at];
  char what[24];
  if (c == '\0')
    snprintf(what, sizeof what, "end of input");
  else if (c >= 0x20 && c < 0x7f)
    snprintf(what, sizeof what, "'%c'", c);
  else
    snprintf(what, sizeof what, "byte 0x%02x", c);
  return dt__error(DT_ERR_PARSE, "unexpected %s at position %zu (expected %s)",
                   what, at, expected);
}

/* Case-insensitive comparison of the n bytes at s with the word w. */
static bool word_is(const char *s, size_t n, const char *w, bool nocase) {
  if (strlen(w) != n)
    return false;
  for (size_t k = 0; k < n; k++) {
    char a = s[k], b = w[k];
    if (nocase && a >= 'A' && a <= 'Z')
      a = (char)(a - 'A' + 'a');
    if (a != b)
      return false;
  }
  return true;
}

static dt_err push(parser *p, tok v) {
  if (p->nvals == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 64;
    tok *nv = dt__realloc(p->vals, cap * sizeof *nv);
    if (!nv)
      return dt__error(DT_ERR_NOMEM, "cannot allocate %zu parsed values", cap);
    p->vals = nv;
    p->cap = cap;
  }
  p->vals[p->nvals++] = v;
  switch (v.kind) {
  case TOK_INT:
    p->any_int = true;
    break;
  case TOK_FLOAT:
    p->any_float = true;
    break;
  case TOK_BOOL:
    p->any_bool = true;
    break;
  }
  return DT_OK;
}

/* Digits [a, b) as an int64, exactly (a double would round past 2^53);
 * false when the value does not fit. */
static bool parse_int(const parser *p, size_t a, size_t b, bool neg,
                      int64_t *out) {
  uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  uint64_t mag = 0;
  for (size_t k = a; k < b; k++) {
    uint64_t d = (uint64_t)(p->s[k] - '0');
    if (mag > (lim - d) / 10)
      return false;
    mag = mag * 10 + d;
  }
  *out = neg ? (mag > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)mag)
             : (int64_t)mag;
  return true;
}

/* strtod of s[a, b) with its '.' (at most one) spelled dp; true when the
 * whole token converted. The copy keeps strtod off the rest of the literal. */
static bool convert(const char *s, size_t a, size_t b, const char *dp,
                    char *buf, double *out) {
  size_t k = 0, dpl = strlen(dp);
  for (size_t j = a; j < b; j++) {
    if (s[j] == '.') {
      memcpy(buf + k, dp, dpl);
      k += dpl;
    } else {
      buf[k++] = s[j];
    }
  }
  buf[k] = '\0';
  char *end;
  *out = strtod(buf, &end);
  return end == buf + k;
}

/* A validated float token [a, b). strtod follows LC_NUMERIC, so when a
 * program has set a locale whose decimal point is not '.', the token is
 * retried with that locale's decimal point: "1.5" always means 1.5. */
static dt_err parse_float(const parser *p, size_t a, size_t b, double *out) {
  char local[128];
  bool ok = false;
  for (int attempt = 0; attempt < 2 && !ok; attempt++) {
    const char *dp = ".";
    if (attempt == 1) {
      dp = localeconv()->decimal_point;
      if (!dp || !dp[0] || strcmp(dp, ".") == 0)
        break;
    }
    size_t need = b - a + strlen(dp) + 1;
    char *buf = need <= sizeof local ? local : dt__malloc(need);
    if (!buf)
      return dt__error(DT_ERR_NOMEM, "cannot copy a %zu-byte number", b - a);
    ok = convert(p->s, a, b, dp, buf, out);
    if (buf != local)
      free(buf);
  }
  if (!ok)
    return dt__error(DT_ERR_PARSE, "cannot convert the number at position %zu",
                     a);
  return DT_OK;
}

/* One scalar at p->pos: a number, inf/nan (any case), true/false/True/False.
 * It must end at a delimiter, so "1.2.3" and "truex" are rejected. */
static dt_err parse_scalar(parser *p) {
  const char *s = p->s;
  size_t start = p->pos, i = start;
  tok v = {0.0, 0, start, TOK_INT, false};
  bool neg = false;
  if (s[i] == '+' || s[i] == '-')
    neg = s[i++] == '-';
  size_t n = 0;
  while (is_alpha(s[i + n]))
    n++;
  if (n > 0) {
    bool sign = i > start;
    if (!sign && (word_is(s + i, n, "true", false) ||
                  word_is(s + i, n, "True", false))) {
      v.kind = TOK_BOOL, v.i = 1, v.f = 1.0;
    } else if (!sign && (word_is(s + i, n, "false", false) ||
                         word_is(s + i, n, "False", false))) {
      v.kind = TOK_BOOL, v.i = 0;
    } else if (word_is(s + i, n, "inf", true) ||
               word_is(s + i, n, "infinity", true)) {
      v.kind = TOK_FLOAT, v.f = neg ? -INFINITY : INFINITY;
    } else if (word_is(s + i, n, "nan", true)) {
      v.kind = TOK_FLOAT, v.f = NAN;
    } else {
      return dt__error(DT_ERR_PARSE,
                       "unknown word '%.*s' at position %zu (expected a "
                       "number, true or false)",
                       (int)(n < 16 ? n : 16), s + i, i);
    }
    i += n;
  } else {
    size_t d0 = i;
    while (is_digit(s[i]))
      i++;
    size_t d1 = i, nfrac = 0;
    bool isfloat = false;
    if (s[i] == '.') {
      isfloat = true;
      size_t f0 = ++i;
      while (is_digit(s[i]))
        i++;
      nfrac = i - f0;
    }
    if (d1 == d0 && nfrac == 0)
      return unexpected(p, d0, "a number, '[', true or false");
    if (s[i] == 'e' || s[i] == 'E') {
      isfloat = true;
      i++;
      if (s[i] == '+' || s[i] == '-')
        i++;
      size_t e0 = i;
      while (is_digit(s[i]))
        i++;
      if (i == e0)
        return unexpected(p, i, "the digits of an exponent");
    }
    if (isfloat) {
      v.kind = TOK_FLOAT;
      DT_CALL(parse_float(p, start, i, &v.f));
    } else if (parse_int(p, d0, d1, neg, &v.i)) {
      v.f = (double)v.i;
    } else {
      /* Python's int has no limit: a float dtype still takes it */
      v.big = true;
      DT_CALL(parse_float(p, start, i, &v.f));
    }
  }
  if (!is_delim(s[i]))
    return unexpected(p, i, "',' or ']' after a value");
  p->pos = i;
  return push(p, v);
}

/* The list at depth p->depth - 1 closes: every list at one depth must have
 * the same length and every leaf must sit at the same depth. */
static dt_err close_list(parser *p) {
  int k = p->depth - 1;
  int64_t len = p->count[k];
  size_t at = p->pos - 1;
  if (len == 0) {
    if (p->leaf < 0)
      p->leaf = k + 1;
    else if (p->leaf != k + 1)
      return dt__error(DT_ERR_PARSE,
                       "ragged nested list: empty list closed at position %zu "
                       "where lists nested %d deep were expected",
                       at, p->leaf);
  }
  if (p->shape[k] < 0) {
    p->shape[k] = len;
  } else if (p->shape[k] != len) {
    /* The first list at this depth was the one at index [0]...[0]. */
    char path[DT_MAX_DIMS * 24], first[DT_MAX_DIMS * 4];
    size_t w = 0;
    path[0] = first[0] = '\0';
    for (int j = 0; j < k; j++) {
      w += (size_t)snprintf(path + w, sizeof path - w, "[%lld]",
                            (long long)p->count[j]);
      memcpy(first + 3 * j, "[0]", 4);
    }
    return dt__error(DT_ERR_PARSE,
                     "ragged nested list at position %zu: sublist %s has "
                     "length %lld but sublist %s has length %lld",
                     at, path, (long long)len, first, (long long)p->shape[k]);
  }
  p->depth--;
  if (p->depth > 0)
    p->count[p->depth - 1]++;
  return DT_OK;
}

/* The whole value: one scalar or one (nested) list. */
static dt_err parse_value(parser *p) {
  const char *s = p->s;
  bool need_value = true; /* at the start and after ',' */
  bool may_close = false; /* right after '[' or '(', or after ',' */
  for (;;) {
    while (is_blank(p, p->pos))
      p->pos++;
    char c = s[p->pos];
    char want = p->depth > 0 ? p->close[p->depth - 1] : '\0';
    if (!need_value) { /* after an element, inside a list */
      if (c == ',') {
        p->pos++;
        need_value = may_close = true;
      } else if (c == want) {
        p->pos++;
        DT_CALL(close_list(p));
        if (p->depth == 0)
          return DT_OK;
      } else {
        return unexpected(p, p->pos, want == ')' ? "',' or ')'" : "',' or ']'");
      }
      continue;
    }
    if (c == '[' || c == '(') {
      if (p->leaf >= 0 && p->depth >= p->leaf)
        return dt__error(DT_ERR_PARSE,
                         "unexpected '[' at position %zu: the elements at "
                         "nesting depth %d are scalars",
                         p->pos, p->depth);
      if (p->depth == DT_MAX_DIMS)
        return dt__error(DT_ERR_SHAPE,
                         "list at position %zu nests deeper than %d levels",
                         p->pos, DT_MAX_DIMS);
      p->close[p->depth] = c == '[' ? ']' : ')';
      p->count[p->depth++] = 0;
      p->pos++;
      may_close = true;
      continue;
    }
    /* "[]", "()" and a trailing comma ("[1,]"; not "[,]") */
    if (c == want && may_close) {
      p->pos++;
      DT_CALL(close_list(p));
      if (p->depth == 0)
        return DT_OK;
      need_value = may_close = false;
      continue;
    }
    if (c == ']' || c == ')' || c == ',' || c == '\0')
      return unexpected(p, p->pos,
                        (c == ']' || c == ')') && p->depth > 0
                            ? "a value after ','"
                            : "a value");
    if (p->leaf < 0)
      p->leaf = p->depth;
    else if (p->leaf != p->depth)
      return dt__error(DT_ERR_PARSE,
                       "unexpected scalar at position %zu: elements at "
                       "nesting depth %d are lists",
                       p->pos, p->depth);
    DT_CALL(parse_scalar(p));
    if (p->depth == 0)
      return DT_OK;
    p->count[p->depth - 1]++;
    need_value = may_close = false;
  }
}

/* torch.tensor's refusal of a value the integer dtype cannot hold. */
static dt_err no_fit(const tok *v, dt_dtype dtype) {
  if (v->big)
    return dt__error(DT_ERR_PARSE,
                     "integer at position %zu does not fit in int64", v->pos);
  return dt__error(DT_ERR_ARG,
                   "value cannot be converted to type %s without overflow "
                   "(the value at position %zu)",
                   dt_dtype_name(dtype), v->pos);
}

/*
 * Store the parsed values as `dtype`, as torch.tensor stores Python numbers
 * (Python >= 3.10): a float goes to float32 as (float) of its double; to an
 * integer dtype truncated toward zero, refused when it is out of range or
 * NaN; an int is exact in int64 and refused by int32 when it does not fit;
 * anything nonzero (NaN too) is true.
 */
static dt_err store_values(const parser *p, dt_dtype dtype, void *data) {
  for (size_t k = 0; k < p->nvals; k++) {
    const tok *v = &p->vals[k];
    bool isf = v->kind == TOK_FLOAT;
    switch (dtype) {
    case DT_INT64:
    case DT_INT32: {
      /* torch's bounds: lowest <= f <= max compared in double (for int64
       * max rounds up to 2^63, which no int64 holds: refused here) */
      bool fits = dtype == DT_INT64 ? v->f >= -9223372036854775808.0 &&
                                          v->f < 9223372036854775808.0
                                    : v->f >= -2147483648.0 &&
                                          v->f <= 2147483647.0;
      int64_t x = v->i;
      if (isf && !fits)
        return no_fit(v, dtype);
      if (isf)
        x = (int64_t)v->f;
      if (v->big || (dtype == DT_INT32 && (x < INT32_MIN || x > INT32_MAX)))
        return no_fit(v, dtype);
      if (dtype == DT_INT64)
        ((int64_t *)data)[k] = x;
      else
        ((int32_t *)data)[k] = (int32_t)x;
      break;
    }
    case DT_BOOL:
      ((uint8_t *)data)[k] = isf || v->big ? v->f != 0 : v->i != 0;
      break;
    case DT_FLOAT32:
      ((float *)data)[k] = (float)v->f;
      break;
    default:
      ((double *)data)[k] = v->f;
      break;
    }
  }
  return DT_OK;
}

dt_err dt__parse_literal(const char *s, dt_dtype default_float, int *ndim,
                         int64_t *shape, dt_dtype *dtype, void **data) {
  return dt__parse_literal_as(s, default_float, DT_DTYPE_DEFAULT, ndim, shape,
                              dtype, data);
}

dt_err dt__parse_literal_as(const char *s, dt_dtype default_float,
                            dt_dtype want, int *ndim, int64_t *shape,
                            dt_dtype *dtype, void **data) {
  DT_CHECK(ndim && shape && dtype && data, DT_ERR_NULL,
           "an output pointer is NULL");
  *ndim = 0;
  *data = NULL;
  *dtype = default_float;
  DT_CHECK(s, DT_ERR_NULL, "literal is NULL");
  DT_CHECK(dt_dtype_is_float(default_float), DT_ERR_DTYPE,
           "default float dtype %s is not a float dtype",
           dt_dtype_name(default_float));
  DT_CHECK(want == DT_DTYPE_DEFAULT || dt_dtype_size(want) != 0, DT_ERR_DTYPE,
           "unknown dtype %d", (int)want);
  parser p;
  memset(&p, 0, sizeof p);
  p.s = s;
  p.leaf = -1;
  for (int d = 0; d < DT_MAX_DIMS; d++)
    p.shape[d] = -1;

  dt_err err = mark_groups(&p);
  if (!err)
    err = parse_value(&p);
  if (!err) {
    while (is_blank(&p, p.pos))
      p.pos++;
    if (s[p.pos] != '\0')
      err = unexpected(&p, p.pos, "the end of the literal");
  }
  int64_t numel = 1;
  for (int d = 0; !err && d < p.leaf; d++)
    if (!dt__mul_ok(numel, p.shape[d], &numel))
      err = dt__error(DT_ERR_PARSE, "the literal's element count overflows");
  void *out = NULL;
  dt_dtype dt = want != DT_DTYPE_DEFAULT ? want
                : p.any_float            ? default_float
                : p.any_int              ? DT_INT64
                : p.any_bool             ? DT_BOOL
                                         : default_float;
  if (!err) {
    DT_ASSERT((size_t)numel == p.nvals);
    size_t nbytes = p.nvals * dt_dtype_size(dt);
    out = dt__malloc(nbytes ? nbytes : 1);
    if (!out)
      err = dt__error(DT_ERR_NOMEM, "cannot allocate %zu bytes", nbytes);
  }
  if (!err)
    err = store_values(&p, dt, out);
  if (!err) {
    *ndim = p.leaf;
    for (int d = 0; d < p.leaf; d++)
      shape[d] = p.shape[d];
    *dtype = dt;
    *data = out;
  } else {
    free(out);
  }
  free(p.vals);
  free(p.skip);
  return err;
}

/* ---- printer ------------------------------------------------------------- */

/* PyTorch's default print options. */
enum {
  PRINT_THRESHOLD = 1000,
  PRINT_EDGE = 3,
  PRINT_LINEWIDTH = 80,
  PRINT_INDENT = 7, /* strlen("tensor(") */
  SUFFIX_LEN = 200  /* "size=(...)" of DT_MAX_DIMS 19-digit sizes fits */
};

typedef struct sbuf {
  char *p;
  size_t len, cap;
  bool oom; /* sticky: checked once at the end */
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap)
      cap *= 2;
    char *np = dt__realloc(b->p, cap);
    if (!np) {
      b->oom = true;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_rep(sbuf *b, char c, int n) {
  char chunk[32];
  memset(chunk, c, sizeof chunk);
  while (n > 0) {
    int m = n < (int)sizeof chunk ? n : (int)sizeof chunk;
    sb_add(b, chunk, (size_t)m);
    n -= m;
  }
}

/* torch._tensor_str._Formatter over the printed values. */
typedef struct formatter {
  dt_dtype dtype;
  const void *vals;
  bool floating, int_mode, sci_mode;
  int width;
} formatter;

/* One value, unpadded; returns its length. Python prints NaN as "nan"
 * whatever its sign bit, where printf may say "-nan". */
static int fmt_value(const formatter *f, int64_t k, char *buf, size_t n) {
  if (f->dtype == DT_BOOL)
    return snprintf(buf, n, "%s",
                    dt__load_i64(f->vals, f->dtype, k) ? "True" : "False");
  if (!f->floating)
    return snprintf(buf, n, "%lld",
                    (long long)dt__load_i64(f->vals, f->dtype, k));
  double v = dt__load_f64(f->vals, f->dtype, k);
  if (isnan(v))
    return snprintf(buf, n, "nan");
  if (isinf(v))
    return snprintf(buf, n, "%s", v < 0 ? "-inf" : "inf");
  if (f->sci_mode)
    return snprintf(buf, n, "%.4e", v);
  if (f->int_mode)
    return snprintf(buf, n, "%.0f.", v);
  return snprintf(buf, n, "%.4f", v);
}

/* Width, int_mode and sci_mode as PyTorch chooses them: for floats only the
 * nonzero finite values count. */
static void formatter_init(formatter *f, dt_dtype dtype, const void *vals,
                           int64_t n) {
  f->dtype = dtype;
  f->vals = vals;
  f->floating = dt_dtype_is_float(dtype);
  f->int_mode = true;
  f->sci_mode = false;
  f->width = 1;
  char buf[400];
  if (!f->floating) {
    for (int64_t k = 0; k < n; k++) {
      int len = fmt_value(f, k, buf, sizeof buf);
      f->width = len > f->width ? len : f->width;
    }
    return;
  }
  double lo = INFINITY, hi = 0;
  bool any = false;
  for (int64_t k = 0; k < n; k++) {
    double v = dt__load_f64(vals, dtype, k);
    if (!isfinite(v) || v == 0)
      continue;
    any = true;
    lo = fmin(lo, fabs(v));
    hi = fmax(hi, fabs(v));
    if (v != ceil(v))
      f->int_mode = false;
  }
  if (!any)
    return;
  f->sci_mode = hi / lo > 1000.0 || hi > 1.0e8 || lo < 1.0e-4;
  for (int64_t k = 0; k < n; k++) {
    double v = dt__load_f64(vals, dtype, k);
    if (!isfinite(v) || v == 0)
      continue;
    int len = fmt_value(f, k, buf, sizeof buf);
    f->width = len > f->width ? len : f->width;
  }
}

/* The selection: per axis the printed indices (all, or the first and last
 * PRINT_EDGE of a summarised axis longer than 2 * PRINT_EDGE). */
typedef struct printer {
  formatter f;
  int ndim;
  bool summarize;
  int64_t shape[DT_MAX_DIMS];
  int64_t cnt[DT_MAX_DIMS];
  int64_t sstride[DT_MAX_DIMS]; /* C-order strides of the selection */
} printer;

static void put_value(const printer *pr, sbuf *b, int64_t k) {
  char buf[400];
  int n = fmt_value(&pr->f, k, buf, sizeof buf);
  if (n < 0)
    n = 0;
  if ((size_t)n >= sizeof buf)
    n = (int)sizeof buf - 1;
  sb_rep(b, ' ', pr->f.width - n);
  sb_add(b, buf, (size_t)n);
}

/* _tensor_str_with_formatter for the sub-tensor at axis d whose first
 * selected element is at offset off of the selection. */
static void put_tensor(const printer *pr, sbuf *b, int d, int64_t off,
                       int indent) {
  int rest = pr->ndim - d;
  if (rest == 0) {
    put_value(pr, b, off);
    return;
  }
  bool cut = pr->summarize && pr->shape[d] > 2 * PRINT_EDGE;
  sb_add(b, "[", 1);
  if (rest == 1) {
    /* _vector_str: " ..." counts as one element when wrapping lines. */
    int per_line = (PRINT_LINEWIDTH - indent) / (pr->f.width + 2);
    per_line = per_line < 1 ? 1 : per_line;
    int64_t item = 0;
    for (int64_t j = 0; j < pr->cnt[d]; j++) {
      for (int dots = cut && j == PRINT_EDGE; dots >= 0; dots--) {
        if (item > 0 && item % per_line == 0) {
          sb_add(b, ",\n", 2);
          sb_rep(b, ' ', indent + 1);
        } else if (item > 0) {
          sb_add(b, ", ", 2);
        }
        item++;
        if (dots)
          sb_add(b, " ...", 4);
        else
          put_value(pr, b, off + j);
      }
    }
  } else {
    int64_t item = 0;
    for (int64_t j = 0; j < pr->cnt[d]; j++) {
      for (int dots = cut && j == PRINT_EDGE; dots >= 0; dots--) {
        if (item++ > 0) {
          sb_add(b, ",", 1);
          sb_rep(b, '\n', rest - 1);
          sb_rep(b, ' ', indent + 1);
        }
        if (dots)
          sb_add(b, "...", 3);
        else
          put_tensor(pr, b, d + 1, off + j * pr->sstride[d], indent + 1);
      }
    }
  }
  sb_add(b, "]", 1);
}

/* _add_suffixes: a suffix goes on a new line when it would pass the line
 * width; PyTorch's measure of the last line is len - rfind('\n') + 1. */
static void add_suffixes(sbuf *b, char suffixes[][SUFFIX_LEN], int n) {
  size_t last = b->len + 2;
  for (size_t k = b->len; b->p && k > 0; k--)
    if (b->p[k - 1] == '\n') {
      last = b->len - (k - 1) + 1;
      break;
    }
  for (int k = 0; k < n; k++) {
    size_t len = strlen(suffixes[k]);
    if (last + len + 2 > PRINT_LINEWIDTH) {
      sb_add(b, ",\n", 2);
      sb_rep(b, ' ', PRINT_INDENT);
      last = PRINT_INDENT + len;
    } else {
      sb_add(b, ", ", 2);
      last += len + 2;
    }
    sb_add(b, suffixes[k], len);
  }
  sb_add(b, ")", 1);
}

/* repr(tensor) from the gathered selection (vals; NULL when empty). */
/* PyTorch's name for the node that made a tensor. */
static const char *grad_fn_name(dt__op op) {
  switch (op) {
  case DT__OP_ADD:
  case DT__OP_ADDS:
    return "AddBackward0";
  case DT__OP_SUB:
    return "SubBackward0";
  case DT__OP_MUL:
  case DT__OP_MULS:
    return "MulBackward0";
  case DT__OP_DIV:
    return "DivBackward0";
  case DT__OP_NEG:
    return "NegBackward0";
  case DT__OP_POW:
    return "PowBackward0";
  case DT__OP_EXP:
    return "ExpBackward0";
  case DT__OP_LOG:
    return "LogBackward0";
  case DT__OP_SUM:
    return "SumBackward0";
  case DT__OP_MEAN:
    return "MeanBackward0";
  case DT__OP_MATMUL:
    return "MmBackward0";
  case DT__OP_CLONE:
    return "CloneBackward0";
  case DT__OP_REDIST:
    return "ToCopyBackward0";
  case DT__OP_VIEW:
    return "ViewBackward0";
  case DT__OP_SLICE:
    return "SliceBackward0";
  case DT__OP_TRANSPOSE:
    return "TransposeBackward0";
  case DT__OP_SUM_DIM:
    return "SumBackward1";
  case DT__OP_MEAN_DIM:
    return "MeanBackward1";
  case DT__OP_AMAX:
    return "AmaxBackward0";
  case DT__OP_AMIN:
    return "AminBackward0";
  case DT__OP_CAT:
    return "CatBackward0";
  case DT__OP_STACK:
    return "StackBackward0";
  case DT__OP_COPY:
    return "CopyBackwards";
  case DT__OP_WHERE:
    return "WhereBackward0";
  }
  return "Backward";
}

const char *dt_grad_fn_name(const dt_tensor *t) {
  return t && t->grad_fn ? grad_fn_name(t->grad_fn->op) : NULL;
}

static dt_err build_repr(const dt_tensor *t, const printer *pr, char **out) {
  sbuf b = {NULL, 0, 0, false};
  char suffixes[3][SUFFIX_LEN];
  int nsuf = 0;
  dt_dtype def = t->ctx->default_dtype;
  sb_str(&b, "tensor(");
  if (t->numel == 0) {
    if (t->ndim != 1) {
      /* str(tuple(shape)) */
      int w = snprintf(suffixes[nsuf], sizeof suffixes[nsuf], "size=(");
      for (int d = 0; d < t->ndim; d++)
        w += snprintf(suffixes[nsuf] + w, sizeof suffixes[nsuf] - (size_t)w,
                      d ? ", %lld" : "%lld", (long long)t->shape[d]);
      snprintf(suffixes[nsuf] + w, sizeof suffixes[nsuf] - (size_t)w, ")");
      nsuf++;
    }
    if (t->dtype != def)
      snprintf(suffixes[nsuf++], sizeof suffixes[0], "dtype=torch.%s",
               dt_dtype_name(t->dtype));
    sb_str(&b, "[]");
  } else {
    if (t->dtype != def && t->dtype != DT_INT64 && t->dtype != DT_BOOL)
      snprintf(suffixes[nsuf++], sizeof suffixes[0], "dtype=torch.%s",
               dt_dtype_name(t->dtype));
    put_tensor(pr, &b, 0, 0, PRINT_INDENT);
  }
  if (t->grad_fn)
    snprintf(suffixes[nsuf++], sizeof suffixes[0], "grad_fn=<%s>",
             grad_fn_name(t->grad_fn->op));
  else if (t->requires_grad)
    snprintf(suffixes[nsuf++], sizeof suffixes[0], "requires_grad=True");
  add_suffixes(&b, suffixes, nsuf);
  if (b.oom) {
    free(b.p);
    return dt__error(DT_ERR_NOMEM, "cannot allocate the tensor's repr");
  }
  *out = b.p;
  return DT_OK;
}

/* dt_format with an error found earlier (dt_print's stream check) folded
 * into the first agreement. */
static dt_err format_impl(const dt_tensor *t, dt_err pre, char **str) {
  dt_ctx *ctx = t->ctx;
  dt_err err = pre;
  if (!err && !str)
    err = dt__error(DT_ERR_NULL, "str is NULL");
  if (str)
    *str = NULL;

  printer pr;
  memset(&pr, 0, sizeof pr);
  pr.ndim = t->ndim;
  pr.summarize = t->numel > PRINT_THRESHOLD;
  /* Unsummarised, the sizes multiply to at most PRINT_THRESHOLD, so they
   * add up to at most PRINT_THRESHOLD + ndim - 1; summarised, each axis
   * contributes at most 2 * PRINT_EDGE indices. */
  int64_t idxbuf[PRINT_THRESHOLD + DT_MAX_DIMS];
  int64_t *idx[DT_MAX_DIMS];
  int64_t total = 1, used = 0;
  for (int d = 0; d < t->ndim && t->numel > 0; d++) {
    int64_t n = t->shape[d];
    bool cut = pr.summarize && n > 2 * PRINT_EDGE;
    pr.shape[d] = n;
    pr.cnt[d] = cut ? 2 * PRINT_EDGE : n;
    DT_ASSERT(used + pr.cnt[d] <= PRINT_THRESHOLD + DT_MAX_DIMS);
    idx[d] = idxbuf + used;
    for (int64_t j = 0; j < pr.cnt[d]; j++)
      idx[d][j] = cut && j >= PRINT_EDGE ? n - 2 * PRINT_EDGE + j : j;
    used += pr.cnt[d];
    total *= pr.cnt[d];
  }
  int64_t stride = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    pr.sstride[d] = stride;
    stride *= pr.cnt[d];
  }
  void *vals = NULL;
  if (!err && t->numel > 0) {
    vals = dt__malloc((size_t)total * dt_dtype_size(t->dtype));
    if (!vals)
      err = dt__error(DT_ERR_NOMEM, "cannot allocate %lld printed elements",
                      (long long)total);
  }
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    free(vals);
    return err;
  }
  if (t->numel > 0)
    err = dt__gather_select(t, idx, pr.cnt, vals);
  char *s = NULL;
  if (!err) {
    formatter_init(&pr.f, t->dtype, vals, t->numel > 0 ? total : 0);
    err = build_repr(t, &pr, &s);
  }
  /* Also catches a gather failure that only some ranks saw. */
  err = dt__agree(ctx->comm, err, 0);
  free(vals);
  if (err) {
    free(s);
    return err;
  }
  *str = s;
  return DT_OK;
}

dt_err dt_format(const dt_tensor *t, char **str) {
  if (!t) {
    if (str)
      *str = NULL;
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  }
  DT_RETURN(format_impl(t, DT_OK, str));
}

dt_err dt_print(const dt_tensor *t, FILE *f) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  bool writer = t->ctx->rank == 0;
  dt_err pre =
      writer && !f ? dt__error(DT_ERR_NULL, "f is NULL on rank 0") : DT_OK;
  char *s = NULL;
  dt_err err = format_impl(t, pre, &s);
  if (err)
    DT_RETURN(err);
  if (writer && (fputs(s, f) == EOF || fputc('\n', f) == EOF || fflush(f)))
    err = dt__error(DT_ERR_IO, "cannot write the tensor to the stream");
  free(s);
  DT_RETURN(dt__agree(t->ctx->comm, err, 0));
}
