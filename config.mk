# relmask build and experiment configuration. Override any of these on the
# command line: `make THREADS=16`, `make check CC=clang`.

# --- toolchain -------------------------------------------------------------
# MPI=1: build with mpicc against parallel HDF5 (Debian's libopenmpi-dev and
# libhdf5-openmpi-dev, which `make deps MPI=1` installs) in build-mpi/, so
# that `mpirun -np R relmask relevance` shards its records over R processes
# (docs/scale.md). The plain build has no MPI.
MPI       ?= 0
ifeq ($(MPI),1)
ifeq ($(origin CC),default)
CC        := mpicc
endif
BUILD       ?= build-mpi
HDF5_CFLAGS ?= -I/usr/include/hdf5/openmpi
HDF5_LIBS   ?= -L/usr/lib/x86_64-linux-gnu/hdf5/openmpi -lhdf5_hl -lhdf5
DEPS_FLAGS  += --mpi
CPPFLAGS    += -DRELMASK_MPI
endif
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
# make fuzz: seconds per target, the compiler (libFuzzer needs clang), its
# optimization and build directory (docs/reliability.md).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_OPT     ?= -O1
FUZZ_BUILD   ?= build-fuzz

# make install: where (bin/, share/relmask/, share/man/man1/ under it).
PREFIX    ?= /usr/local

# --- dependencies (Debian 12 packages) -------------------------------------
HDF5_CFLAGS ?= -I/usr/include/hdf5/serial
HDF5_LIBS   ?= -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5_hl -lhdf5
DNNL_LIBS   ?= -ldnnl
IMAGE_LIBS  ?= -lpng16 -ljpeg -ltiff -lz
TEST_LIBS   ?= -lcriterion
PROTOBUF_LIBS  ?= -lprotobuf-c
ONNX_PROTO_DIR ?= /usr/include/onnx

# --- runtime ---------------------------------------------------------------
# Threads for OpenMP stages (0 = all cores).
THREADS   ?= 0
# Threads for `make bench` (the peers' figures are for 2).
BENCH_THREADS ?= 2
# Deflate level for HDF5 image stacks (0-9).
DEFLATE   ?= 4

# --- which data `make experiment` runs on ----------------------------------
# synth (default: the embedded synthetic faces), fashion-mnist (fetched from
# Debian), fer2013 (FER2013_CSV=path/to/fer2013.csv) or folder
# (IMAGE_FOLDER=path with train/val/test or class folders); see README.md.
DATA ?= synth
ifeq ($(DATA),fashion-mnist)
SOURCE_NET      ?= fer-small-28-bn
STUDENT_NET     ?= fer-small-28-bn
SOURCE_LR       ?= 0.05
endif
ifneq ($(filter fer2013 folder,$(DATA)),)
IMAGE_SIZE      ?= 48
endif
# Records of the scarce target set drawn from a large real dataset (the
# rest is the source set); synthetic target sizes are below.
TARGET_DRAW     ?= --take train:1000 --take train:500:val --take test:1000

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
# Synthetic source data: source-style faces (SOURCE_DOMAIN=target with
# another SOURCE_SYNTH_SEED gives a source model that knows the target
# domain, trained on target-style faces disjoint from the target set).
SOURCE_DOMAIN     ?= source
SOURCE_SYNTH_SEED ?= $(SYNTH_SEED)
SOURCE_NET      ?= fer-small
SOURCE_EPOCHS   ?= 12
SOURCE_LR       ?= 0.02
# A source model trained elsewhere instead of one trained here: an ONNX
# file (imported with SOURCE_IMPORT_ARGS: the classes in the model's output
# order, which must be the dataset's, and --mean/--std/--size as the model
# expects; docs/import.md) or a relmask model file. Its accuracy is then
# measured on the target test split. Empty: train SOURCE_NET on the source
# data.
SOURCE_MODEL       ?=
SOURCE_IMPORT_ARGS ?= $(if $(DATA_CLASSES),--classes $(DATA_CLASSES))

# --- the experiment: relevance, encodings, students --------------------------
# LRP composite and what is explained when the source model's relevance is
# computed on the target data (docs/relevance.md). The masks explain the
# source model's prediction ("pred"), not the true class: true-class masks
# put the kept region in a class-typical place, and a student on binary
# masks alone read the label off them (94.4% on target test masks, chance
# 14.3%), which confounds any effect of masking. Prediction masks carry no
# label (the "mask" control below measures it in every run), but with a
# source model that gets ~20% of target faces right they put only 1.1x
# chance of the positive relevance in the expression regions (true class:
# 2.7x). RELEVANCE_TARGET=true gives the leaky version; the study
# (docs/sweep.md) compares both, and a source that knows the domain.
COMPOSITE        ?= epsilon-plus-flat
RELEVANCE_TARGET ?= pred
# Test images scored by relevance-eval (pixel flipping, region mass).
QUALITY_IMAGES   ?= 500
# Encodings compared with raw training (docs/encode.md): each becomes a
# condition; "negative" adds the fused raw+negative condition, "channel"
# the channel-const condition (its models tested with a constant channel),
# "mask" the mask-only control (trained and tested on binary masks: its
# accuracy above chance is how much the mask shape tells about the label).
ENCODINGS        ?= mean soft negative channel mask
# channel: the student's input channels (the images' plus the relevance:
# 2 for gray data, 4 for RGB), and the constant that replaces the relevance
# in channel-const (a value in [0, 1], or train-mean: the mean relevance
# channel byte of the train records).
CHANNEL_INPUTS   ?= 2
CHANNEL_CONSTANT ?= train-mean
# What the channel encoding's relevance explains. The channel student gets
# relevance at test time too, so it must not use the label: "pred" (the
# source model's prediction). With "true" the channel students scored
# 90.9% on target test faces (raw: 37.9%) by reading the label off the map.
CHANNEL_RELEVANCE_TARGET ?= pred
ENCODE_KEEP      ?= 0.3
ENCODE_SMOOTH    ?= 1
# Empty: keep the top ENCODE_KEEP of each whole image. N: the top ENCODE_KEEP
# of every NxN tile (encode --tile), so the mask's layout says less about
# the class (docs/encode.md, "Tiled selection").
ENCODE_TILE      ?=
# Encoded images for the first K epochs, raw afterwards (or
# --encoded-share 1.0:0.0 for a decaying share).
ENCODED_SCHEDULE ?= --encoded-epochs 5
# The students (any architecture; fer-small is also the source's) and the
# fine-tuned source model, with several seeds each. Students warm up for an
# epoch: at 0.02 without warm-up one seed of fer-small diverged in its
# first epoch on the 1,000 target faces.
STUDENT_NET      ?= fer-small
STUDENT_EPOCHS   ?= 20
STUDENT_BATCH    ?= 32
STUDENT_LR       ?= 0.01
FINETUNE_LR      ?= 0.005
SEEDS            ?= 1 2 3 4 5
# Knowledge distillation (the kd and kd-<encoding> conditions, Hinton et al.
# 2015): the temperature and the weight of the soft-target loss.
KD_TEMPERATURE   ?= 4
KD_ALPHA         ?= 0.5
# More conditions besides raw, finetune and one per encoding: kd (the source
# model distilled into the student on raw data), kd-<encoding> (distilled
# while training on an encoding listed in ENCODINGS).
EXTRA_CONDITIONS ?=

# --- make sweep: a grid of experiments (docs/sweep.md) ---------------------
# The study described in sweeps/$(SWEEP).mk (or SWEEP=path/to/file.mk);
# SWEEP_TINY=1 runs its miniature, <sweep>-tiny.mk (make check runs
# sweeps/default-tiny.mk: about two minutes). JOBS: students trained
# at once (each with THREADS threads).
SWEEP           ?= default
SWEEP_TINY      ?= 0
JOBS            ?= 1
# With JOBS > 1, each concurrent stage is pinned to THREADS cores of its own
# (PIN=0: not pinned). LAUNCH prefixes every stage command, e.g.
# LAUNCH='srun -N1 -n1 -c 8 --exclusive' (docs/scale.md).
PIN             ?= 1
LAUNCH          ?=

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
