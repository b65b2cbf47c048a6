# Stage "fuzz" (issue 9): libFuzzer targets for dt_parse and for loading a
# checkpoint on one rank, built with clang and ASan/UBSan in build-fuzz.
# Replays every kept regression input (tests/fuzz/regress_*/), then fuzzes
# each target for DT_FUZZ_SECONDS (60) seeded with checkpoints the library
# saves and literals. A crash, sanitizer report or timeout fails the stage
# and leaves the input in build-fuzz/ (fix it, then keep it under
# tests/fuzz/regress_<target>/). Leak detection is off while fuzzing: HDF5
# 1.10 and Open MPI leak small blocks of their own on error paths (the
# ASan/UBSan stage checks dtensor's leaks). About 3 minutes with its build.
if dt_stage_wanted fuzz; then
  dt_fuzz_start=$SECONDS
  dt_fuzz_rc=0
  dt_fuzz_dir=$DT_ROOT/build-fuzz
  dt_fuzz_secs=${DT_FUZZ_SECONDS:-60}
  if ! command -v clang >/dev/null; then
    echo "fuzz: clang is not installed (scripts/setup.sh installs it)" >&2
    dt_fuzz_rc=1
  elif ! { mkdir -p "$dt_fuzz_dir" && CC=clang cmake -S "$DT_ROOT" -B "$dt_fuzz_dir" \
             -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDT_FUZZ=ON -DDT_WERROR=OFF \
             -DDT_BUILD_TESTS=OFF >"$dt_fuzz_dir/build.log" 2>&1 &&
           cmake --build "$dt_fuzz_dir" -j2 \
             --target fuzz_parse fuzz_load dtensor_cli >>"$dt_fuzz_dir/build.log" 2>&1; }; then
    echo "fuzz: the build failed, see $dt_fuzz_dir.log" >&2
    dt_fuzz_rc=1
  else
    (
      cd "$dt_fuzz_dir" || exit 1
      export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      export OMP_NUM_THREADS=1 DT_CACHE_BYTES=0
      export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
      export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
      rm -rf seeds && mkdir -p seeds/load seeds/parse corpus/load corpus/parse
      # Seeds: real checkpoints of every dtype, a gradient-free nested name.
      ./dtensor make rand --shape 6,5 --out seeds/load/f32.h5 --name w >/dev/null &&
        ./dtensor make randint --low -9 --high 9 --dtype int64 --shape 4 \
          --out seeds/load/i64.h5 --name model/layer.0/b >/dev/null &&
        ./dtensor make zeros --shape 3 --dtype bool --out seeds/load/bool.h5 \
          --name flags >/dev/null &&
        ./dtensor make randn --shape 2,3,2 --dtype float64 \
          --out seeds/load/f64.h5 --name x >/dev/null || exit 1
      printf '[[1, 2], [3, 4]]' >seeds/parse/a
      printf '[1.5, -2e3, inf, nan]' >seeds/parse/b
      printf '[[True, False]]' >seeds/parse/c
      printf '[]' >seeds/parse/d
      rc=0
      for t in parse load; do
        reg=$DT_ROOT/tests/fuzz/regress_$t
        if compgen -G "$reg/*" >/dev/null; then
          ./fuzz_$t -runs=0 "$reg"/* >"fuzz_$t.replay.log" 2>&1 || {
            echo "fuzz: fuzz_$t fails on a kept regression input" >&2
            tail -30 "fuzz_$t.replay.log" >&2
            rc=1
          }
        fi
        ./fuzz_$t -max_total_time="$dt_fuzz_secs" -max_len=16384 -timeout=20 \
          -rss_limit_mb=4096 corpus/$t seeds/$t >"fuzz_$t.log" 2>&1 || {
          echo "fuzz: fuzz_$t found a failure:" >&2
          grep -v '^#' "fuzz_$t.log" | tail -40 >&2
          rc=1
        }
        grep -h '^#.*DONE' "fuzz_$t.log" | tail -1 | sed "s/^/fuzz_$t: /"
      done
      exit $rc
    ) || dt_fuzz_rc=1
  fi
  dt_stage_result fuzz "$dt_fuzz_rc" $((SECONDS - dt_fuzz_start))
fi
