#!/usr/bin/env bash
# Data-parallel training under mpirun (examples/mpi_train, libdsmooth_mpi).
#   mpi_tests.sh MPI_TRAIN CASE [PYTHON LIBDSMOOTH]
# CASE: bitwise (1, 2 and 3 ranks, 2 ranks x 2 threads, and 3 ranks of the scattered
# exchange give the same checkpoint bytes: weights, Adam moments, step), resume (2 ranks to step 20, then 3 ranks to 40 =
# 1 rank to 40), failure (a rank with corrupt data stops all 3 ranks with its message;
# the last checkpoint stays valid), killed (a rank killed by SIGKILL ends the job, mpirun
# exits non-zero), hung (a rank that stops responding: mpirun --timeout ends the job), fast (MPI_Allreduce mode trains, ranks agree), python (the same from
# examples/python/mpi_train.py with mpi4py: bitwise, resume on another rank count, failure).
# Exit 77 (skipped) without mpirun (or, for python, without numpy and mpi4py).
set -uo pipefail
TRAIN=$1
CASE=$2
if ! command -v mpirun >/dev/null; then
  echo "mpirun not found: skipped (apt-get install openmpi-bin libopenmpi-dev)"
  exit 77
fi
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# no network interfaces needed: shared memory between the ranks of this machine
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
# more ranks than cores is fine for correctness (CI machines may have one core)
export OMPI_MCA_rmaps_base_oversubscribe=1
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
COMMON=(--steps 40 --total 40 --batch 96 --blocks 12 --n 2048 --data 8gaussians)

run() { # run NP [mpirun options] -- mpi_train options
  local np=$1; shift
  local mopts=()
  while [ "$1" != "--" ]; do mopts+=("$1"); shift; done
  shift
  mpirun -np "$np" "${mopts[@]}" "$TRAIN" "${COMMON[@]}" "$@"
}

fail() { echo "FAIL: $*"; exit 1; }

same() { # same A B: byte for byte
  cmp "$1" "$2" || fail "$1 and $2 differ"
  echo "same bytes: $(basename "$1") = $(basename "$2")"
}

case "$CASE" in
  bitwise)
    run 1 -- --checkpoint "$DIR/np1.ckpt" --threads 2 || fail "1 rank"
    run 2 -- --checkpoint "$DIR/np2.ckpt" || fail "2 ranks"
    run 3 --oversubscribe -- --checkpoint "$DIR/np3.ckpt" --rank-states || fail "3 ranks"
    run 2 -- --checkpoint "$DIR/np2t2.ckpt" --threads 2 || fail "2 ranks x 2 threads"
    run 3 -- --checkpoint "$DIR/sc3.ckpt" --reduction scatter || fail "3 ranks, scattered"
    same "$DIR/np1.ckpt" "$DIR/np2.ckpt"
    same "$DIR/np1.ckpt" "$DIR/np3.ckpt"
    for r in 0 1 2; do same "$DIR/np1.ckpt" "$DIR/np3.ckpt.rank$r"; done # every rank's state
    same "$DIR/np1.ckpt" "$DIR/np2t2.ckpt"
    same "$DIR/np1.ckpt" "$DIR/sc3.ckpt" # MPI_Alltoallv + MPI_Allgatherv: the same bits
    # the comparison can fail: another grad_blocks gives other bits
    run 2 -- --checkpoint "$DIR/k8.ckpt" --blocks 8 || fail "2 ranks, 8 blocks"
    cmp -s "$DIR/np1.ckpt" "$DIR/k8.ckpt" && fail "8 blocks gave the bits of 12 blocks"
    # Fashion-MNIST PixelCNN++ (a small one) when the data set is installed
    if [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
      COMMON=(--model pixelcnn --filters 8 --resnets 1 --n 64 --batch 8 --steps 3 --blocks 4)
      run 1 -- --checkpoint "$DIR/pc1.ckpt" || fail "PixelCNN++, 1 rank"
      run 3 --oversubscribe -- --checkpoint "$DIR/pc3.ckpt" || fail "PixelCNN++, 3 ranks"
      same "$DIR/pc1.ckpt" "$DIR/pc3.ckpt"
    else
      echo "Fashion-MNIST not installed: PixelCNN++ part skipped (apt-get install dataset-fashion-mnist)"
    fi
    ;;
  resume)
    run 1 -- --checkpoint "$DIR/whole.ckpt" || fail "1 rank"
    COMMON=(--total 40 --batch 96 --blocks 12 --n 2048 --data 8gaussians)
    run 2 -- --steps 20 --checkpoint "$DIR/split.ckpt" || fail "2 ranks to step 20"
    run 3 --oversubscribe -- --steps 40 --checkpoint "$DIR/split.ckpt" --resume --threads 2 \
      || fail "3 ranks from step 20"
    same "$DIR/whole.ckpt" "$DIR/split.ckpt"
    ;;
  failure)
    out=$(run 3 --oversubscribe -- --checkpoint "$DIR/f.ckpt" --save-every 10 \
            --fail-rank 1 --fail-step 20 2>&1)
    rc=$?
    echo "$out"
    [ $rc -ne 0 ] || fail "the job succeeded though rank 1 failed"
    # counted as occurrences: mpirun may merge the ranks' lines
    n=$(grep -o "training stopped: DS_ERR_NUMERIC: ds_trainer_train: rank 1 of 3 stopped the job at step 20" <<<"$out" | wc -l)
    [ "$n" = 3 ] || fail "$n of 3 ranks reported rank 1's failure"
    grep -q "x\[1024\]\[0\] is NaN" <<<"$out" || fail "rank 1's own detail did not reach the others"
    # the checkpoint of step 20 is whole: the job continues from it on 2 ranks
    run 2 -- --checkpoint "$DIR/f.ckpt" --resume || fail "resume after the failure"
    run 1 -- --checkpoint "$DIR/ref.ckpt" || fail "reference"
    same "$DIR/ref.ckpt" "$DIR/f.ckpt"
    ;;
  killed)
    out=$(run 2 -- --steps 400 --total 400 --kill-rank 1 --kill-step 10 2>&1)
    rc=$?
    echo "$out" | tail -20
    [ $rc -ne 0 ] || fail "mpirun exited 0 though rank 1 was killed"
    grep -qiE "signal 9|killed" <<<"$out" || fail "no message about the killed rank"
    ;;
  hung)
    # a rank that stops responding: the others wait in the exchange (MPI has no timeout of
    # its own); mpirun --timeout ends the whole job
    out=$(mpirun --timeout 10 -np 2 "$TRAIN" "${COMMON[@]}" --steps 400 --total 400 \
            --hang-rank 1 --hang-step 10 2>&1)
    rc=$?
    echo "$out" | tail -12
    [ $rc -ne 0 ] || fail "mpirun exited 0 though rank 1 hung"
    grep -qi "timeout" <<<"$out" || fail "no message about the timeout"
    ;;
  fast)
    out=$(run 3 --oversubscribe -- --reduction fast --checkpoint "$DIR/fast.ckpt" --stats \
            --rank-states 2>&1)
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || fail "fast mode failed"
    grep -q "step     40  loss" <<<"$out" || fail "no loss at step 40"
    grep -qE "loss (nan|inf)" <<<"$out" && fail "non-finite loss"
    # every rank holds the same weights and moments (MPI_Allreduce gave each the same sum)
    same "$DIR/fast.ckpt.rank0" "$DIR/fast.ckpt.rank1"
    same "$DIR/fast.ckpt.rank0" "$DIR/fast.ckpt.rank2"
    ;;
  python)
    PY=${3:-/usr/bin/python3}
    export DSMOOTH_LIBRARY=$4
    if ! "$PY" -c "import numpy, mpi4py" 2>/dev/null; then
      echo "SKIPPED: $PY cannot import numpy and mpi4py (apt-get install python3-mpi4py)"
      exit 77
    fi
    SCRIPT=$(dirname "$0")/../../examples/python/mpi_train.py
    prun() { local np=$1; shift; mpirun -np "$np" --oversubscribe "$PY" "$SCRIPT" --total 60 "$@"; }
    prun 1 --steps 60 --checkpoint "$DIR/p1.ckpt" || fail "python, 1 rank"
    prun 3 --steps 60 --checkpoint "$DIR/p3.ckpt" --threads 2 || fail "python, 3 ranks"
    same "$DIR/p1.ckpt" "$DIR/p3.ckpt"
    prun 2 --steps 60 --checkpoint "$DIR/psc.ckpt" --reduction scatter || fail "python, scattered"
    same "$DIR/p1.ckpt" "$DIR/psc.ckpt"
    prun 2 --steps 30 --checkpoint "$DIR/ps.ckpt" || fail "python, 2 ranks to step 30"
    prun 3 --steps 60 --checkpoint "$DIR/ps.ckpt" --resume || fail "python, 3 ranks from 30"
    same "$DIR/p1.ckpt" "$DIR/ps.ckpt"
    prun 3 --steps 60 --reduction fast || fail "python, fast mode"
    out=$(prun 2 --steps 60 --fail-rank 1 2>&1)
    echo "$out" | grep "stopped"
    n=$(grep -o "training stopped: DS_ERR_NUMERIC: ds_trainer_train: rank 1 of 2 stopped the job" <<<"$out" | wc -l)
    [ "$n" = 2 ] || fail "$n of 2 Python ranks reported rank 1's failure"
    ;;
  install) # mpi_tests.sh MPI_TRAIN install BUILD_DIR SOURCE_DIR
    cmake --install "$3" --prefix "$DIR/prefix" >/dev/null || fail "cmake --install"
    cmake -S "$4/tests/mpi/consumer" -B "$DIR/consumer" -DCMAKE_PREFIX_PATH="$DIR/prefix" \
      >"$DIR/configure.log" || { cat "$DIR/configure.log"; fail "find_package(dsmooth_mpi)"; }
    cmake --build "$DIR/consumer" >/dev/null || fail "building the CMake consumer"
    export PKG_CONFIG_PATH="$DIR/prefix/lib/pkgconfig"
    cc -o "$DIR/pc" "$4/tests/mpi/consumer/main.c" $(pkg-config --cflags --libs dsmooth_mpi) \
      || fail "building with pkg-config dsmooth_mpi"
    export LD_LIBRARY_PATH="$DIR/prefix/lib"
    for prog in "$DIR/consumer/consumer" "$DIR/pc"; do
      out=$(mpirun -np 2 "$prog") || fail "$prog"
      echo "$out"
      [ "$(grep -o "of 2, libdsmooth" <<<"$out" | wc -l)" = 2 ] || fail "$prog: two ranks expected"
    done
    ;;
  *)
    fail "unknown case $CASE"
    ;;
esac
echo "PASS: $CASE"
