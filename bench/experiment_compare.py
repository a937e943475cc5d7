#!/usr/bin/env python3
"""bench/experiment_compare.py: the per-stage comparison `make bench-experiment` prints (bench/experiment.sh).

  experiment_compare.py RELMASK_STAGES.tsv PEER_STAGES.jsonl RELMASK_EXP_DIR [--elapsed R P] [--settings JSON]

RELMASK_STAGES.tsv: one line per relmask stage command (bench/experiment_stage.sh: output file, wall s, user s,
system s, peak RSS KiB, exit status). PEER_STAGES.jsonl: bench/peers/experiment_torch.py's stage lines. The
relmask commands are grouped into the peer's stages (docs/benchmarks.md, "The whole job"):

  data            synth source.h5, target.h5         | peer: load (reads those files; not the same work)
  source          train source_model.h5, eval        | source (training and its test)
  relevance       relevance.h5, relevance_channel.h5 | relevance (once: both maps explain the prediction)
  relevance_eval  relevance_eval.json                | relevance_eval
  encode          encoded_<mode>.h5 (every mode)     | encode (in memory, no files written)
  student:<cond>  runs/<cond>/seed*/model.h5, test.json | student:<cond> (every seed)
  report          report.md, .html, results.csv, figures | report (results.csv only)

Prints one JSON line per stage and two totals (all stages; all but data): wall, CPU (user + system) and peak RSS
of each side (relmask: the largest of its stage processes; peer: the script's process during the stage) and
the ratios peer / relmask (> 1: relmask is faster or smaller), plus the test accuracies of both sides.
"""
import argparse
import json
import os
import re
import sys


def relmask_group(label):
    base = os.path.basename(label)
    m = re.search(r"runs/([^/]+)/seed\d+/(model\.h5|test\.json)$", label)
    if m:
        return "student:" + m.group(1)
    if base in ("source.h5", "target.h5", "full.h5"):
        return "data"
    if base.startswith("source_model"):
        return "source"
    if base in ("relevance.h5", "relevance_channel.h5"):
        return "relevance"
    if base == "relevance_eval.json":
        return "relevance_eval"
    if base.startswith("encoded_"):
        return "encode"
    if base in ("report", "report.md"):
        return "report"
    return "other:" + base


def read_relmask(path):
    stages, order = {}, []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6:
                continue
            label, wall, user, sys_, rss, rc = parts
            g = relmask_group(label)
            if g not in stages:
                stages[g] = {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mb": 0.0, "commands": 0}
                order.append(g)
            s = stages[g]
            s["wall_s"] += float(wall)
            s["cpu_s"] += float(user) + float(sys_)
            s["peak_rss_mb"] = max(s["peak_rss_mb"], int(rss) / 1024.0)
            s["commands"] += 1
            if rc != "0":
                s["failed"] = True
    return stages, order


def read_peer(path):
    stages, total = {}, None
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if rec["stage"] == "total":
                total = rec
            else:
                stages["data" if rec["stage"] == "load" else rec["stage"]] = rec
    return stages, total


def relmask_accuracies(exp_dir, cond):
    accs = []
    runs = os.path.join(exp_dir, "runs", cond)
    if os.path.isdir(runs):
        for seed in sorted(os.listdir(runs)):
            p = os.path.join(runs, seed, "test.json")
            if os.path.exists(p):
                with open(p) as f:
                    accs.append(round(json.load(f)["accuracy"], 4))
    return accs


def side(s):
    if s is None:
        return None
    return {"wall_s": round(s["wall_s"], 2), "cpu_s": round(s["cpu_s"], 2), "peak_rss_mb": round(s["peak_rss_mb"], 1)}


def ratio(p, r, key):
    if p is None or r is None or not r[key]:
        return None
    return round(p[key] / r[key], 3)


def line(name, r, p, extra=None):
    rec = {"stage": name, "relmask": side(r), "peer": side(p),
           "ratio_wall": ratio(p, r, "wall_s"), "ratio_cpu": ratio(p, r, "cpu_s"),
           "ratio_peak_rss": ratio(p, r, "peak_rss_mb")}
    if extra:
        rec.update(extra)
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("relmask_tsv")
    ap.add_argument("peer_jsonl")
    ap.add_argument("relmask_dir")
    ap.add_argument("--elapsed", nargs=2, type=float, metavar=("RELMASK_S", "PEER_S"),
                    help="each side's elapsed wall time as the shell measured it (make and interpreter start-up)")
    ap.add_argument("--settings", default=None, help="a JSON object added to the total lines")
    ap.add_argument("--out", default=None, help="also write the lines here")
    args = ap.parse_args()
    rel, order = read_relmask(args.relmask_tsv)
    peer, peer_total = read_peer(args.peer_jsonl)
    # the pipeline's order: the stages, every condition's students (the peer's order: the Makefile's CONDITIONS),
    # the report, then anything else
    first = ["data", "source", "relevance", "relevance_eval", "encode"]
    students = [s for s in list(peer) + order if s.startswith("student:")]
    names = []
    for s in first + students + ["report"] + order + list(peer):
        if s not in names and (s in rel or s in peer):
            names.append(s)
    lines = []
    for name in names:
        r, p = rel.get(name), peer.get(name)
        extra = {}
        if name == "data":
            extra["note"] = "relmask generates the data (synth); the peer reads those files"
        if name == "source":
            f = os.path.join(args.relmask_dir, "source_model_eval.json")
            if os.path.exists(f):
                with open(f) as fh:
                    extra["relmask_source_test_acc"] = round(json.load(fh)["accuracy"], 4)
            if p:
                extra["peer_source_test_acc"] = p.get("source_test_acc")
        if name.startswith("student:"):
            extra["relmask_test_acc"] = relmask_accuracies(args.relmask_dir, name[len("student:"):])
            if p:
                extra["peer_test_acc"] = p.get("test_acc")
        if name == "relevance_eval" and p:
            f = os.path.join(args.relmask_dir, "relevance_eval.json")
            if os.path.exists(f):
                with open(f) as fh:
                    q = json.load(fh)
                extra["relmask_aopc_logit_diff"] = round(q["perturbation"]["logit"]["difference"]["mean"], 4)
                extra["relmask_positive_mass_over_chance"] = round(q["regions"]["positive"]["mass_over_chance"], 4)
            extra["peer_aopc_logit_diff"] = p.get("aopc_logit_diff")
            extra["peer_positive_mass_over_chance"] = p.get("positive_mass_over_chance")
        if r and r.get("failed"):
            extra["relmask_failed"] = True
        lines.append(line(name, r, p, extra))

    def total(keep):
        t = {}
        for src, dst in ((rel, "r"), (peer, "p")):
            sel = [s for n, s in src.items() if keep(n)]
            t[dst] = {"wall_s": sum(s["wall_s"] for s in sel), "cpu_s": sum(s["cpu_s"] for s in sel),
                      "peak_rss_mb": max([s["peak_rss_mb"] for s in sel] or [0])}
        return t["r"], t["p"]

    r, p = total(lambda n: n.startswith("student:"))
    at = next((i for i, l in enumerate(lines) if l["stage"] == "report"), len(lines))
    lines.insert(at, line("students", r, p, {"note": "every student:<condition> line summed"}))
    settings = json.loads(args.settings) if args.settings else {}
    r, p = total(lambda n: True)
    extra = dict(settings)
    if args.elapsed:
        extra["relmask_elapsed_s"], extra["peer_elapsed_s"] = round(args.elapsed[0], 1), round(args.elapsed[1], 1)
    lines.append(line("total", r, p, extra))
    r, p = total(lambda n: n != "data")
    lines.append(line("total_without_data", r, p, dict(settings)))
    out = open(args.out, "w") if args.out else None
    for rec in lines:
        s = json.dumps(rec)
        print(s)
        if out:
            out.write(s + "\n")
    if out:
        out.close()
    return 1 if any(l.get("relmask_failed") for l in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
