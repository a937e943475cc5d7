#!/usr/bin/env python3
"""Reads the JSON lines of one `make bench` run and prints the ratios of
relmask's figures to the peers measured in the same run, one JSON line each."""
import json
import sys

lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
ours = {(l.get("bench"), l.get("net")): l for l in lines if "bench" in l}
torch = next((l for l in lines if l.get("peer") == "torch_tuned"), None)
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
