#!/usr/bin/env bash
# cli_tour.sh DTENSOR MPIEXEC
#
# `dtensor tour` runs to the end at 4 ranks and at 1, prints PyTorch's reprs
# and the layouts, shows dt_from_buffer sharing the user's memory both ways,
# and its random checksums do not depend on the rank count.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 path/to/dtensor path/to/mpiexec" >&2
  exit 2
fi
DTENSOR=$1
MPIEXEC=$2
source "$(dirname "$0")/mpi_env.sh"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0

run() {
  local np=$1
  shift
  mpi_job "$np" "$DTENSOR" "$@"
}

# expect FILE TEXT... : FILE contains each TEXT verbatim.
expect() {
  local file=$1 text
  shift
  for text in "$@"; do
    if ! grep -qF -- "$text" "$file"; then
      echo "FAIL: $(basename "$file") lacks: $text" >&2
      failures=$((failures + 1))
    fi
  done
}

for np in 4 1; do
  out=$TMP/tour.np$np
  if ! run "$np" tour >"$out" 2>"$TMP/err"; then
    echo "FAIL: dtensor tour at -np $np exited non-zero" >&2
    cat "$TMP/err" "$out" >&2
    exit 1
  fi
  expect "$out" \
    ">>> torch.tensor([[1.0, 2], [3, 4]])" \
    ">>> torch.zeros(2, 3)" \
    ">>> torch.full((2, 3), 7)" \
    ">>> torch.arange(0, 1, 0.3)" \
    ">>> torch.linspace(0, 1, 5)" \
    ">>> torch.logspace(0, 2, 3)" \
    ">>> torch.eye(2, 3)" \
    "tensor([[1., 0., 0.]," \
    ">>> torch.manual_seed(0)" \
    ">>> torch.randn(2, 3)" \
    ">>> torch.zeros_like(x)" \
    ">>> x.new_tensor([[5, 6], [7, 8]])" \
    "split on axis 0 over $np rank" \
    "replicated over $np rank" \
    "t = torch.from_numpy(buf)" \
    "dt_local_data(t) == buf on every rank: yes" \
    "r0 {0, 100, -1}" \
    "shares memory with x:  clone no, deepcopy no, slice yes (every rank)" \
    "[-1., -1., -1.]," \
    "x.grad = 6  (2x: the gradient flowed back through the clone)" \
    "c = 3, c.requires_grad = True, grad_fn = CopyBackwards; c.backward(): x.grad = 7" \
    "d.requires_grad = True, d.grad = 7, d is a leaf: yes, shares memory with x: no" \
    "Reproducibility:"
  # After `buf[1] = 100 + r` the printed tensor shows the user's new value.
  if ! grep -A1 -F 'buf[1] = 100 + r' "$out" | grep -q '100\.'; then
    echo "FAIL: -np $np: the tensor over buf does not show buf[1] = 100" >&2
    failures=$((failures + 1))
  fi
  echo "ok   tour at -np $np ($(wc -l <"$out") lines)"
done

expect "$TMP/tour.np4" "(empty)" "grid 2 x 2 over 4 ranks" \
  "r3 {30, 103, -4}"
expect "$TMP/tour.np1" "needs a rank count with two factors"

# The random steps print the same checksums at 1 and 4 ranks.
grep -e 'checksum 0x' -e 'the exact sum rounded once' "$TMP/tour.np1" >"$TMP/sums1"
grep -e 'checksum 0x' -e 'the exact sum rounded once' "$TMP/tour.np4" >"$TMP/sums4"
if [[ ! -s $TMP/sums1 ]] || ! diff "$TMP/sums1" "$TMP/sums4" >&2; then
  echo "FAIL: the tour's checksums differ between -np 1 and -np 4" >&2
  failures=$((failures + 1))
fi

# Usage on `dtensor`, `dtensor help` and `dtensor --help`, exit 0.
for args in "" help --help; do
  # shellcheck disable=SC2086 # an empty $args must vanish
  if ! run 2 $args >"$TMP/usage" 2>&1 || ! grep -q '^usage:' "$TMP/usage"; then
    echo "FAIL: 'dtensor $args' did not print the usage" >&2
    failures=$((failures + 1))
  fi
done

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all tour checks passed"
