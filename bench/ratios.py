#!/usr/bin/env python3
"""Reads the JSON lines of one `make bench` run and prints the ratios of
relmask's figures to the peers measured in the same run, one JSON line each."""
import json
import sys

lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
ours = {(l.get("bench"), l.get("net")): l for l in lines if "bench" in l}
torch = next((l for l in lines if l.get("measured_as") == "torch_tuned" and l.get("net", "fer-small") == "fer-small"),
             None)
graph_torch = next((l for l in lines if l.get("measured_as") == "torch_tuned" and l.get("net") == "fer-mini-xception"),
                   None)
peak = max((l.get("gflop_s_best_of_5", 0) for l in lines if l.get("peer") == "fma_peak"), default=0)

for kind, peer_key in (("train", "train_img_s"), ("infer", "infer_img_s")):
    mine = ours.get((kind, "fer-small"))
    if not mine:
        continue
    out = {"ratio": kind + "_vs_torch_tuned", "relmask_img_per_s": mine["img_per_s"]}
    if torch and peer_key in torch:
        out["torch_img_per_s"] = torch[peer_key]
        out["ratio_vs_torch"] = round(mine["img_per_s"] / torch[peer_key], 3)
    if peak:
        out["gflop_s"] = mine["gflop_s"]
        out["fraction_of_fma_peak"] = round(mine["gflop_s"] / peak, 3)
        out["fma_peak_gflop_s"] = peak
    print(json.dumps(out))

# LRP heatmaps/s: PyTorch's explicit LRP measured now; zennit 0.5.1 cannot be
# installed here (no PyPI), so its figures are the ones bench/peers/README.md
# records for this machine kind, labelled as such.
ZENNIT_DOCUMENTED = {"epsilon": 430.0, "composite": 284.0}
for kind, peer_key in (("epsilon", "lrp_eps_hm_s"), ("composite", "lrp_comp_hm_s")):
    mine = ours.get(("lrp_" + kind, "fer-small"))
    if not mine:
        continue
    out = {"ratio": "lrp_" + kind, "relmask_heatmaps_per_s": mine["heatmaps_per_s"]}
    if torch and peer_key in torch:
        out["torch_heatmaps_per_s"] = torch[peer_key]
        out["ratio_vs_torch"] = round(mine["heatmaps_per_s"] / torch[peer_key], 3)
    out["zennit_documented_heatmaps_per_s"] = ZENNIT_DOCUMENTED[kind]
    out["ratio_vs_zennit_documented"] = round(mine["heatmaps_per_s"] / ZENNIT_DOCUMENTED[kind], 3)
    print(json.dumps(out))

# The graph network (fer-mini-xception) against the same PyTorch peer's
# MiniXception: training, inference, LRP-epsilon and LRP epsilon-plus-flat
# (batchnorm folded).
for kind, peer_key, unit in (("train", "train_img_s", "img_per_s"), ("infer", "infer_img_s", "img_per_s"),
                             ("lrp_epsilon", "lrp_eps_hm_s", "heatmaps_per_s"),
                             ("lrp_epsilon-plus-flat", "lrp_epf_hm_s", "heatmaps_per_s")):
    mine = ours.get((kind, "fer-mini-xception"))
    if not mine:
        continue
    out = {"ratio": kind + "_mini_xception_vs_torch_tuned", "relmask_" + unit: mine[unit]}
    if graph_torch and peer_key in graph_torch:
        out["torch_" + unit] = graph_torch[peer_key]
        out["ratio_vs_torch"] = round(mine[unit] / graph_torch[peer_key], 3)
    print(json.dumps(out))
