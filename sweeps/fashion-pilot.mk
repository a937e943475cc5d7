# make sweep SWEEP=fashion-pilot: the pilot's question on real clothing
# images, at a size a two-core workstation runs in under an hour
# (docs/sweep.md). Does masking help when the target set is small (100 or
# 250 images) and the source model knows the domain (on Fashion-MNIST it
# always does: it is trained on the 65,000 images left after the target set
# is drawn)? Crossed: size x keep (4 cells); leak-free (pred) masks, 5
# masked epochs, fer-small-28-bn; 5 seeds; raw, finetune, mean, the
# mask-only control, the shuffled masks and distillation. One more cell
# with the source network untrained, whose masks tell how much a mask
# shows of the image itself (a garment's silhouette) without any knowledge
# of the labels (sweeps/leak.mk does the same on faces).
include sweeps/fashion-mnist.mk

SEEDS            := 1 2 3 4 5
ENCODINGS        := mean mask mean-shuffled
EXTRA_CONDITIONS := kd

SWEEP_CROSS  := size keep
SWEEP_SINGLE := source

size.values := 100 250
size.base   := 250
keep.values := 0.1 0.3
keep.base   := 0.3

# one epoch at a learning rate of 1e-12 leaves the initial weights
source.values := trained untrained
source.base   := trained
source.trained :=
define source.untrained
SOURCE_EPOCHS := 1
SOURCE_LR := 1e-12
endef
