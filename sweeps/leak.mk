# make sweep SWEEP=leak: which masks are leak-free? The mask-only control
# ("mask": binary masks without image content, trained and tested on masks)
# for every relevance target (what the maps explain: the source model's
# prediction, the sum over all classes, the prediction against the others,
# the true class) and for tiled selection, beside the masked students
# ("mean"), in the cell where the pilot (sweeps/pilot.mk) found the
# prediction's masks telling the label: 250 target faces, a source that
# knows the target domain; 3 seeds, about 40 minutes on two cores
# (docs/sweep.md).
include sweeps/default.mk

SEEDS            := 1 2 3
ENCODINGS        := mean mask
EXTRA_CONDITIONS :=

SWEEP_CROSS  := relevance
SWEEP_SINGLE := tile

relevance.values := pred all contrast true
relevance.base   := pred

# Tiled selection (encode --tile): the kept share of every NxN tile rather
# than of the whole image, so the mask's layout cannot follow the class;
# one at a time, around the prediction's masks.
tile.values := image 16 8 4
tile.base   := image
tile.image  := ENCODE_TILE :=
tile.set     = ENCODE_TILE := $(1)

# the pilot's cell size-250_source-domain, as settings every cell shares
TARGET_TRAIN      := 250
SOURCE_DOMAIN     := target
SOURCE_SYNTH_SEED := 1001
