# relmask build and experiment configuration. Override any of these on the
# command line: `make THREADS=16`, `make check CC=clang`.

# --- toolchain -------------------------------------------------------------
# make's built-in default CC is cc; use gcc unless CC is given.
ifeq ($(origin CC),default)
CC        := gcc
endif
OPT       ?= -O2 -march=native
# -Werror is on: CI and every developer build must stay warning-free.
WARN      ?= -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CSTD      ?= -std=c11
# SANITIZE=1 builds with AddressSanitizer + UndefinedBehaviorSanitizer.
SANITIZE  ?= 0
# Build directory; different configurations can live side by side.
BUILD     ?= build

# --- dependencies (Debian 12 packages) -------------------------------------
HDF5_CFLAGS ?= -I/usr/include/hdf5/serial
HDF5_LIBS   ?= -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5_hl -lhdf5
DNNL_LIBS   ?= -ldnnl
IMAGE_LIBS  ?= -lpng16 -ljpeg -ltiff -lz
TEST_LIBS   ?= -lcriterion

# --- runtime ---------------------------------------------------------------
# Threads for OpenMP stages (0 = all cores).
THREADS   ?= 0
# Threads for `make bench` (the peers' figures are for 2).
BENCH_THREADS ?= 2
# Deflate level for HDF5 image stacks (0-9).
DEFLATE   ?= 4

# --- embedded default data (synthetic faces) -------------------------------
SYNTH_SIZE      ?= 48
SYNTH_SEED      ?= 1
SOURCE_IMAGES   ?= 20000
TARGET_TRAIN    ?= 1000
TARGET_VAL      ?= 500
TARGET_TEST     ?= 1000
SYNTH_INTENSITY ?= 0.6
SEED            ?= 1

# --- the experiment's source model ------------------------------------------
SOURCE_NET      ?= fer-small
SOURCE_EPOCHS   ?= 12
SOURCE_LR       ?= 0.02

# --- real data: make mnist, make fashion-mnist (datasets/README.md) ---------
# Where the fetched IDX files are cached (gitignored); results go to
# results/mnist/ and results/fashion-mnist/.
DATA_DIR        ?= datasets/cache
MNIST_NET       ?= lenet
MNIST_EPOCHS    ?= 12
MNIST_BATCH     ?= 64
MNIST_LR        ?= 0.04
# Epochs of linear warm-up from LR/10 (lenet has no batchnorm: without it,
# a rate of 0.05 leaves it stuck at chance after the first epoch).
MNIST_WARMUP    ?= 1
MNIST_AUGMENT   ?= --shift 2
FASHION_NET     ?= fer-small-28-bn
FASHION_EPOCHS  ?= 12
FASHION_BATCH   ?= 64
FASHION_LR      ?= 0.05
FASHION_WARMUP  ?= 0
FASHION_AUGMENT ?= --hflip --shift 2
