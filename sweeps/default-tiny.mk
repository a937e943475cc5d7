# make sweep SWEEP_TINY=1: the default study in miniature (16x16 faces, tiny
# nets, two epochs, two seeds, two values per axis), about two minutes on two
# cores; make check runs it (tests/test_sweep.c). Included after
# sweeps/default.mk, which it shrinks.
SYNTH_SIZE     := 16
SOURCE_IMAGES  := 560
TARGET_VAL     := 35
TARGET_TEST    := 70
SOURCE_NET     := tests/fixtures/nets/mini16.cfg
SOURCE_EPOCHS  := 2
STUDENT_EPOCHS := 2
STUDENT_BATCH  := 16
QUALITY_IMAGES := 20
SEEDS          := 1 2

# Crossed: size and keep (4 cells); one at a time: one more value of each
# other axis (4 cells).
SWEEP_CROSS      := size keep
SWEEP_SINGLE     := relevance schedule source student

size.values      := 40 70
size.base        := 70
keep.values      := 0.3 0.6
keep.base        := 0.3
relevance.values := pred true
schedule.values  := masked1 decay
schedule.base    := masked1
source.values    := style domain
student.values   := mini mini-gap
student.base     := mini
student.mini     := STUDENT_NET := tests/fixtures/nets/mini16.cfg
student.mini-gap := STUDENT_NET := tests/fixtures/nets/mini16-gap.cfg
