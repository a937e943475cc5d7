#!/bin/sh
# Installs the Debian 12 packages relmask needs, when any is missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu
# Each option adds a package set; several may be given.
ARGS="$*"
has() { case " $ARGS " in *" $1 "*) return 0 ;; esac; return 1; }
PKGS="gcc make libc6-dev libdnnl-dev libhdf5-dev hdf5-tools libcriterion-dev
      libpng-dev libjpeg-dev libtiff-dev zlib1g-dev
      libprotobuf-c-dev protobuf-c-compiler libonnx-dev"
# --bench: also the peers that `make bench` measures side by side.
# (python3-h5py and GNU time: make bench-experiment's PyTorch pipeline reads
# the HDF5 datasets, and each relmask stage is timed with /usr/bin/time.)
has --bench && PKGS="$PKGS python3 python3-torch python3-numpy python3-h5py libopenblas0-openmp time"
# --fuzz: clang with libFuzzer and the sanitizer runtimes (Debian's clang
# only recommends libclang-rt-14-dev, which holds libclang_rt.fuzzer) and
# LLVM's OpenMP runtime for clang's -fopenmp.
has --fuzz && PKGS="$PKGS clang libclang-rt-14-dev libomp-14-dev"
# --fixtures: what the golden-fixture generators in tests/fixtures/ import
# (make check itself reads only their committed outputs).
has --fixtures && PKGS="$PKGS python3 python3-torch python3-numpy python3-h5py python3-onnx"
# --valgrind: the memcheck run of scripts/valgrind-pipeline.sh.
has --valgrind && PKGS="$PKGS valgrind"
# --browser: headless Chromium and the report's font for the browser suite
# (tests/test_browser.c renders report.html); `make check` passes it, so
# the base packages and these come in one apt call.
has --browser && PKGS="$PKGS chromium fonts-dejavu-core"
# --mpi: Open MPI and parallel HDF5 for the MPI=1 build (docs/scale.md).
has --mpi && PKGS="$PKGS libopenmpi-dev openmpi-bin libhdf5-openmpi-dev"
missing=""
for p in $PKGS; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
  esac
done
[ -z "$missing" ] && exit 0
echo "relmask: missing Debian packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Installing OpenBLAS may switch the system BLAS/LAPACK alternatives; the
  # peer selects OpenBLAS itself, so keep the system's choice as it was.
  blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p')
  lapack=$(update-alternatives --query liblapack.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p')
  apt-get install -y -q --no-install-recommends $missing
  [ -n "$blas" ] && update-alternatives --set libblas.so.3-x86_64-linux-gnu "$blas" >/dev/null 2>&1 || true
  [ -n "$lapack" ] && update-alternatives --set liblapack.so.3-x86_64-linux-gnu "$lapack" >/dev/null 2>&1 || true
else
  echo "relmask: run as root:  apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
