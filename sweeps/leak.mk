# make sweep SWEEP=leak: which masks are leak-free? The mask-only control
# ("mask": binary masks without image content, trained and tested on masks)
# for every relevance target (what the maps explain: the source model's
# prediction, the sum over all classes, the prediction against the others,
# the true class), for tiled selection and for an untrained source model,
# beside the masked students ("mean"), in the cell where the pilot
# (sweeps/pilot.mk) found the prediction's masks telling the label: 250
# target faces, a source that knows the target domain; 6 seeds, about 30
# minutes on two cores (docs/sweep.md).
include sweeps/default.mk

SEEDS            := 1 2 3 4 5 6
ENCODINGS        := mean mask
EXTRA_CONDITIONS :=

SWEEP_CROSS  := relevance
SWEEP_SINGLE := tile source

relevance.values := pred all contrast true
relevance.base   := pred

# Tiled selection (encode --tile): the kept share of every NxN tile rather
# than of the whole image, so the mask's layout cannot follow the class;
# one at a time, around the prediction's masks.
tile.values := image 16 8 4
tile.base   := image
tile.image  := ENCODE_TILE :=
tile.set     = ENCODE_TILE := $(1)

# The source model: the pilot's domain source (trained on 20,000
# target-style faces), or the same network untrained (one epoch at a
# learning rate of 1e-12 leaves its initial weights). An untrained
# network's relevance still follows the image's edges (Adebayo et al. 2018,
# "Sanity checks for saliency maps"), so its masks tell how much a mask
# shows of the face itself, with no knowledge of the labels: the mask-only
# control of a trained source leaks the label only by what it scores above
# the untrained one's.
source.values := domain untrained
source.base   := domain
define source.domain
SOURCE_DOMAIN := target
SOURCE_SYNTH_SEED := 1001
endef
define source.untrained
SOURCE_DOMAIN := target
SOURCE_SYNTH_SEED := 1001
SOURCE_EPOCHS := 1
SOURCE_LR := 1e-12
endef

# the pilot's cell size-250_source-domain
TARGET_TRAIN      := 250
