#!/usr/bin/env bash
# restart.sh RESTART MPIEXEC WORKDIR PYTHON
#
# Restart at another size, end to end (examples/restart.c): 40 steps at 4
# ranks uninterrupted; 20 steps at 4 ranks checkpointing every 10; resumed
# to step 40 at 3 ranks and at 1 rank. The losses of steps 21-40 and the
# final weights must be bitwise the uninterrupted run's. Twice: a plain fit,
# and one drawing fresh noise every step (dt_randn_like), where restoring the
# generator state is what makes the curve identical: resumed without it
# (--no-rng-restore) the curve must differ. And the gradient stored with the
# weights is used (the two-step update): with it deleted from the checkpoint
# (h5py) the curve must differ from step 22 on.
set -euo pipefail
if [[ $# -ne 4 ]]; then
  echo "usage: $0 path/to/restart path/to/mpiexec workdir python3-with-h5py" >&2
  exit 2
fi
exe=$1
MPIEXEC=$2
work=$3/restart
PY=$4
source "$(dirname "$0")/mpi_env.sh"
rm -rf "$work"
mkdir -p "$work"
status=0
fit=(--n 600 --k 12 --lr 0.05)

# run NAME NP ARGS...: rank 0's output in $work/NAME
run() {
  local name=$1 np=$2
  shift 2
  if ! mpi_job "$np" "$exe" "${fit[@]}" "$@" >"$work/$name" 2>"$work/$name.err"; then
    echo "FAIL: restart $* at $np rank(s) exited non-zero:"
    cat "$work/$name.err" "$work/$name"
    exit 1
  fi
}
# tail_of FILE: the loss lines of steps 21-40 and the final checksum
tail_of() { awk '($1 == "step" && $2 > 20) || $1 == "final"' "$1"; }

for variant in plain noise; do
  extra=()
  [ $variant = noise ] && extra=(--noise 0.1)
  run $variant.ref 4 --steps 40 "${extra[@]}"
  run $variant.first 4 --steps 20 --every 10 --ckpt "$work/$variant.h5" "${extra[@]}"
  tail_of "$work/$variant.ref" >"$work/$variant.ref.tail"
  n=$(grep -c '^step' "$work/$variant.ref.tail")
  if [ "$n" -ne 20 ] || ! grep -q '^final w checksum 0x' "$work/$variant.ref.tail"; then
    echo "FAIL: $variant reference run printed $n losses after step 20"
    cat "$work/$variant.ref"
    exit 1
  fi
  # the first half must be the reference's first half too
  if ! cmp -s <(awk '$1 == "step"' "$work/$variant.first") \
              <(awk '$1 == "step" && $2 <= 20' "$work/$variant.ref"); then
    echo "FAIL: $variant: steps 1-20 at 4 ranks differ between the runs"
    status=1
  fi
  for np in 3 1; do
    run $variant.np$np $np --steps 40 --resume "$work/$variant.h5" "${extra[@]}"
    tail_of "$work/$variant.np$np" >"$work/$variant.np$np.tail"
    if ! grep -q '^# resumed from .* at step 20$' "$work/$variant.np$np" ||
      ! cmp -s "$work/$variant.ref.tail" "$work/$variant.np$np.tail"; then
      echo "FAIL: $variant: steps 21-40 resumed at $np rank(s) differ from the uninterrupted run:"
      diff "$work/$variant.ref.tail" "$work/$variant.np$np.tail" | head -6
      status=1
    else
      echo "$variant 4->$np ranks: steps 21-40 and final w bitwise identical;" \
        "curve sha256 $(sha256sum <"$work/$variant.np$np.tail" | cut -c1-16)," \
        "$(grep '^final' "$work/$variant.np$np.tail")"
    fi
  done
done

# Without the generator state the noise after the restart is other noise.
run noise.norng 3 --steps 40 --resume "$work/noise.h5" --noise 0.1 --no-rng-restore
tail_of "$work/noise.norng" >"$work/noise.norng.tail"
if cmp -s "$work/noise.ref.tail" "$work/noise.norng.tail"; then
  echo "FAIL: resumed without restoring the generator, the noisy curve is still identical"
  status=1
else
  echo "noise 4->3 ranks without the generator state: the curve differs, as it must" \
    "(step 21: $(awk '$2 == 21 {print $4}' "$work/noise.ref") vs" \
    "$(awk '$1 == "step" && $2 == 21 {print $4}' "$work/noise.norng"))"
fi

# The gradient link is covered by the metadata checksum: a checkpoint whose
# stored gradient was deleted behind dtensor's back is refused, not resumed
# as if it had none.
cp "$work/plain.h5" "$work/nograd.h5"
"$PY" -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r+"); del f["model/w@grad"]; f.close()' \
  "$work/nograd.h5"
if mpi_job 3 "$exe" "${fit[@]}" --steps 40 --resume "$work/nograd.h5" >"$work/nograd.out" 2>&1; then
  echo "FAIL: a checkpoint with its gradient deleted was resumed"
  status=1
elif ! grep -q "metadata checksum does not match" "$work/nograd.out"; then
  echo "FAIL: the damaged checkpoint was refused for another reason:"
  cat "$work/nograd.out"
  status=1
else
  echo "plain: a checkpoint with its gradient deleted is refused (metadata checksum)"
fi
# Without the stored gradient g_20 the update of step 21 is another one.
run plain.nograd 3 --steps 40 --resume "$work/plain.h5" --no-grad-restore
if cmp -s <(awk '$1 == "step" && $2 == 22' "$work/plain.ref") \
          <(awk '$1 == "step" && $2 == 22' "$work/plain.nograd"); then
  echo "FAIL: resumed without the stored gradient, step 22 is still the same"
  status=1
else
  echo "plain 4->3 ranks without the stored gradient: step 22 differs, as it must"
fi
exit $status
