# make sweep SWEEP=pilot: the default study's central question in the scarce
# regime, at a size a two-core workstation runs in about an hour
# (docs/sweep.md). Does masking help when the target set is small (100 or
# 250 faces), and does it need a source model that knows the target domain?
# Crossed: size x source (4 cells); keep 0.3, leak-free (pred) masks, 5
# masked epochs, fer-small; 5 seeds; raw, finetune, mean, the mask-only
# control and distillation.
include sweeps/default.mk

SEEDS            := 1 2 3 4 5
ENCODINGS        := mean mask
EXTRA_CONDITIONS := kd

SWEEP_CROSS  := size source
SWEEP_SINGLE :=

size.values := 100 250
size.base   := 250
keep.values := 0.3
