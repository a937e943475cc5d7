# The study on Fashion-MNIST (make sweep SWEEP=fashion-mnist; docs/sweep.md):
# the cells of the default study that make sense on real clothing images.
# The source model is trained on the 65,000 images left after the target
# set is drawn (make experiment DATA=fashion-mnist), so there is no "source
# that knows the domain" axis: it already does. The axis format is
# described in sweeps/default.mk.
DATA             := fashion-mnist
SEEDS            := 1 2 3 4 5 6 7 8 9 10
ENCODINGS        := mean mask mean-shuffled
EXTRA_CONDITIONS := kd kd-mean

SWEEP_CROSS  := size keep
SWEEP_SINGLE := relevance schedule student

size.values := 100 250 500 1000 4000
size.base   := 1000
size.set     = TARGET_DRAW := --take train:$(1) --take train:500:val --take test:1000

keep.values := 0.1 0.3 0.6
keep.base   := 0.3
keep.set     = ENCODE_KEEP := $(1)

relevance.values := pred true all contrast
relevance.base   := pred
relevance.set     = RELEVANCE_TARGET := $(1)

schedule.values  := masked1 masked5 decay half
schedule.base    := masked5
schedule.masked1 := ENCODED_SCHEDULE := --encoded-epochs 1
schedule.masked5 := ENCODED_SCHEDULE := --encoded-epochs 5
schedule.decay   := ENCODED_SCHEDULE := --encoded-share 1.0:0.0
schedule.half    := ENCODED_SCHEDULE := --encoded-share 0.5:0.5

# fer-small-28-bn (the source model's architecture) or LeNet.
student.values := fer-small-28-bn lenet
student.base   := fer-small-28-bn
student.set     = STUDENT_NET := $(1)
