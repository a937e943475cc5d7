# The default study (make sweep; docs/sweep.md): where, if anywhere, does
# relevance-based masking help, and how does it compare with knowledge
# distillation? Synthetic faces (the experiment's default data).
#
# An axis is a name with its values (<axis>.values), the value the other
# axes' cells use (<axis>.base), and the make lines that set a value: the
# axis's own text for that value (<axis>.<value>) or else its setter
# <axis>.set, called with the value. Every other assignment here is a
# setting all cells share. Values must not contain spaces, commas, '=' or
# '/'.

# Every cell: 13 seeds, the fewest with which any comparison can pass Holm
# over the study's 190 (38 cells x 5 conditions; the mask control is not a
# member): the exact test's smallest p, 2/2^13 = 2.4e-4, is below
# 0.05/190 = 2.6e-4 (with 10 seeds, 2.0e-3, nothing could).
# Conditions: raw (the baseline), finetune, the mean encoding (masking), the mask-only control ("mask": binary masks without image
# content, trained and tested on masks, so its accuracy measures how much
# the mask shape alone says about the label), the mean encoding with masks
# shuffled among the images of the same class, knowledge distillation on
# raw data (kd) and distillation on the mean encoding (kd-mean).
SEEDS            := 1 2 3 4 5 6 7 8 9 10 11 12 13
ENCODINGS        := mean mask mean-shuffled
EXTRA_CONDITIONS := kd kd-mean

# Crossed: the target training set size, the kept fraction and the source
# model (30 cells): how much data the student has, how much of each image the
# mask keeps, and whether the source knows the target domain are the axes the
# question turns on, and their interactions are the answer. One at a time
# around the base cell (1,000 faces, keep 0.3, leak-free masks, 5 masked
# epochs, the source-style source model, fer-small): what the relevance
# explains, the schedule and the student architecture (8 more cells).
SWEEP_CROSS  := size keep source
SWEEP_SINGLE := relevance schedule student

size.values := 100 250 500 1000 4000
size.base   := 1000
size.set     = TARGET_TRAIN := $(1)

keep.values := 0.1 0.3 0.6
keep.base   := 0.3
keep.set     = ENCODE_KEEP := $(1)

# What the masks explain: the source model's prediction (pred, the base:
# label-free), the true class (true: the masks carry the label, kept as the
# leaky reference), all classes, and the predicted class against the others.
relevance.values := pred true all contrast
relevance.base   := pred
relevance.set     = RELEVANCE_TARGET := $(1)

# Masked for the first 1, 3 or 5 epochs; a share decaying from 1 to 0; a
# constant 50% share (masking as augmentation).
schedule.values  := masked1 masked3 masked5 decay half
schedule.base    := masked5
schedule.masked1 := ENCODED_SCHEDULE := --encoded-epochs 1
schedule.masked3 := ENCODED_SCHEDULE := --encoded-epochs 3
schedule.masked5 := ENCODED_SCHEDULE := --encoded-epochs 5
schedule.decay   := ENCODED_SCHEDULE := --encoded-share 1.0:0.0
schedule.half    := ENCODED_SCHEDULE := --encoded-share 0.5:0.5

# The source model: trained on source-style faces (style), or on 20,000
# target-style faces drawn with another seed, disjoint from the target set
# (domain: a source model that knows the target domain).
source.values := style domain
source.base   := style
source.style  := SOURCE_DOMAIN := source
define source.domain
SOURCE_DOMAIN := target
SOURCE_SYNTH_SEED := 1001
endef

# The student: fer-small (the source model's architecture) or fer-gap
# (batchnorm and global average pooling, 25x fewer parameters).
student.values := fer-small fer-gap
student.base   := fer-small
student.set     = STUDENT_NET := $(1)
