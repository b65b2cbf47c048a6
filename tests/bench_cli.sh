#!/usr/bin/env bash
# bench_cli.sh DTENSOR MPIEXEC SOURCE_DIR
#
# The benchmark as a product, at tiny sizes (values are not asserted, only
# that everything is produced and parses):
#   - `--help` of every subcommand prints that subcommand's usage; --version;
#   - bad bench options fail with a message, before any collective;
#   - `dtensor bench` at 2 ranks: every family present, CSV and JSON parse,
#     18 columns, the run's metadata first;
#   - scripts/scaling.sh (1 and 2 ranks, 1 thread) leaves CSV, JSON, the
#     ratio table and five valid PNGs;
#   - the Slurm scripts pass `bash -n`, and weak/strong --local 2 plus
#     merge.sh produce the merged CSV and PNGs.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 path/to/dtensor path/to/mpiexec path/to/source" >&2
  exit 2
fi
DTENSOR=$1
MPIEXEC=$2
SRC=$3
source "$(dirname "$0")/mpi_env.sh"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# ---- --help and --version -----------------------------------------------------
for cmd in tour make bench inspect; do
  if ! "$DTENSOR" "$cmd" --help >"$TMP/help" 2>&1; then
    fail "dtensor $cmd --help exited non-zero"
  elif ! head -1 "$TMP/help" | grep -q "^usage: mpirun -np N dtensor $cmd"; then
    fail "dtensor $cmd --help does not start with its own usage: $(head -1 "$TMP/help")"
  fi
done
"$DTENSOR" bench --help >"$TMP/help" 2>&1
grep -q -- "--scaling weak|strong" "$TMP/help" || fail "bench --help lacks --scaling"
version=$(sed -n 's/^project(dtensor VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
"$DTENSOR" --version >"$TMP/version" || fail "--version exited non-zero"
grep -qx "dtensor $version" "$TMP/version" || fail "--version does not print 'dtensor $version'"
grep -q "^HDF5 1\." "$TMP/version" || fail "--version lacks the HDF5 version"

# ---- bad options: a message, exit 1, at 2 ranks -----------------------------------
for bad in "--scaling sideways" "--size 0" "--reps 0" "nosuchfamily" "--dtype float16" "--ops="; do
  # shellcheck disable=SC2086
  if mpi_job 2 "$DTENSOR" bench $bad >"$TMP/bad" 2>&1; then
    fail "dtensor bench $bad succeeded"
  elif ! grep -q "^dtensor bench: " "$TMP/bad"; then
    fail "dtensor bench $bad: no message ($(head -1 "$TMP/bad"))"
  fi
done

# check_files CSV JSON FAMILIES... : both parse, 18 columns, metadata, families
check_files() {
  python3 - "$@" <<'PY' || fail "files $1 / $2 do not check out"
import csv, json, sys
c, j, fams = sys.argv[1], sys.argv[2], sys.argv[3:]
lines = open(c).read().splitlines()
meta = [l for l in lines if l.startswith('# ')]
rows = list(csv.reader(l for l in lines if not l.startswith('#')))
assert lines[0].startswith('# '), 'CSV does not start with metadata'
keys = {l[2:].split(': ')[0] for l in meta}
need = {'dtensor_version', 'git_commit', 'host', 'mpi_library', 'hdf5_version',
        'cpu_model', 'cores', 'ranks_per_node', 'threads', 'binding', 'date'}
assert need <= keys, 'CSV metadata lacks %s' % (need - keys)
assert rows[0][:3] == ['family', 'op', 'dtype'] and len(rows[0]) == 18, rows[0]
assert len(rows) > 1 and all(len(r) == 18 for r in rows), 'ragged CSV'
d = json.load(open(j))
m, rs = (d['meta'], d['rows']) if 'rows' in d else (d['meta'], d['runs'][0]['rows'])
assert need <= set(m), 'JSON metadata lacks %s' % (need - set(m))
got = {r[0] for r in rows[1:]}
assert set(fams) <= got, 'families %s missing' % (set(fams) - got)
for r in rs if 'rows' in d else []:
    assert {'op', 'ratio', 'target', 'status', 'median_s', 'min_s', 'max_s'} <= set(r)
PY
}

# is_png FILE : the PNG signature and a non-trivial size
is_png() {
  [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] \
    && [ "$(stat -c %s "$1")" -gt 1000 ]
}

# ---- one bench run, every family ------------------------------------------------------
if ! mpi_job 2 "$DTENSOR" bench --size 64K --reps 1 --dir "$TMP" --csv "$TMP/b.csv" \
       --json "$TMP/b.json" >"$TMP/b.txt" 2>"$TMP/b.err"; then
  fail "dtensor bench at 2 ranks failed: $(tail -3 "$TMP/b.err")"
else
  check_files "$TMP/b.csv" "$TMP/b.json" factories copy compute io latency
  grep -q '^\[factories\] zeros float32' "$TMP/b.err" || fail "no progress lines on stderr"
fi
# --ops / --quiet: only the chosen ops, nothing on stderr
if mpi_job 2 "$DTENSOR" bench copy --ops clone,copy_ --size 64K --reps 1 --quiet \
     --scaling strong >"$TMP/o.txt" 2>"$TMP/o.err"; then
  [ -s "$TMP/o.err" ] && fail "--quiet still wrote: $(head -1 "$TMP/o.err")"
  n=$(grep -cE '^(clone|copy_) ' "$TMP/o.txt" || true)
  [ "$n" -eq 4 ] || fail "--ops clone,copy_ gave $n rows, expected 4"
  grep -qE '^deepcopy ' "$TMP/o.txt" && fail "--ops clone,copy_ ran deepcopy"
else
  fail "bench copy --ops failed: $(tail -2 "$TMP/o.err")"
fi

# ---- scripts/scaling.sh ------------------------------------------------------------------
if ! "$SRC/scripts/scaling.sh" --dtensor "$DTENSOR" --ranks 1,2 --threads 1 --size 64K \
       --reps 1 --out "$TMP/sc" >"$TMP/sc.log" 2>&1; then
  fail "scaling.sh failed: $(tail -3 "$TMP/sc.log")"
else
  check_files "$TMP/sc/scaling.csv" "$TMP/sc/scaling.json" factories copy compute io latency
  for p in strong_time strong_efficiency weak_time weak_efficiency ratio; do
    is_png "$TMP/sc/$p.png" || fail "scaling.sh: $p.png missing or not a PNG"
  done
  grep -q '^| zeros | float32 | memset(0) |' "$TMP/sc/ratios.md" || fail "ratios.md lacks the zeros row"
  [ "$(grep -c '^[a-z]' "$TMP/sc/efficiency.csv")" -gt 10 ] || fail "efficiency.csv nearly empty"
fi

# ---- scripts/slurm ------------------------------------------------------------------------
for f in "$SRC"/scripts/slurm/*.sh "$SRC"/scripts/slurm/*.sbatch "$SRC/scripts/scaling.sh"; do
  bash -n "$f" || fail "bash -n $f"
done
ok=1
for sc in weak strong; do
  DT_JOB_TIMEOUT=120 bash "$SRC/scripts/slurm/$sc.sbatch" --local 2 --dtensor "$DTENSOR" \
    --out "$TMP/sl" --size 64K --reps 1 >"$TMP/sl.$sc.log" 2>&1 \
    || { ok=0; fail "$sc.sbatch --local 2 failed: $(tail -2 "$TMP/sl.$sc.log")"; }
done
if [ $ok -eq 1 ]; then
  if "$SRC/scripts/slurm/merge.sh" --out "$TMP/sl/plots" "$TMP"/sl/run-*.csv >"$TMP/m.log" 2>&1; then
    check_files "$TMP/sl/plots/scaling.csv" "$TMP/sl/plots/scaling.json" factories io
    is_png "$TMP/sl/plots/ratio.png" || fail "merge.sh: ratio.png missing or not a PNG"
  else
    fail "merge.sh failed: $(tail -2 "$TMP/m.log")"
  fi
fi

if [ "$failures" -ne 0 ]; then
  echo "bench_cli: $failures failure(s)" >&2
  exit 1
fi
echo "bench_cli: ok"
