#!/usr/bin/env python3
"""Regenerates the seed corpora under tests/fuzz/corpus/ (except the image
seeds: make_image_seeds.c). Small valid and near-valid inputs for each
target; run from the repository root: python3 tests/fuzz/make_corpus.py"""
import gzip, os, struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# --- FER2013 CSV -------------------------------------------------------------
px = " ".join(str((i * 7) % 256) for i in range(2304))
short = " ".join(["9"] * 2303)
put("fer2013_csv", "valid.csv", f"emotion,pixels,Usage\n0,{px},Training\n3,{px},PublicTest\n6,{px},PrivateTest\n")
put("fer2013_csv", "no_usage.csv", f"pixels,emotion\n{px},2\n")
put("fer2013_csv", "quoted_bom.csv", f'\ufeffemotion,"pixels",Usage\r\n1,"{px}",Training\r\n')
put("fer2013_csv", "bad_rows.csv", f"emotion,pixels,Usage\n7,{px},Training\n1,{short},Training\n2,{px},Other\n1,{px}\n,\n")
put("fer2013_csv", "header_only.csv", "emotion,pixels,Usage\n")

# --- IDX ---------------------------------------------------------------------
def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)

img = idx([2, 4, 4], range(32))
lab = idx([2], [1, 9])
put("idx", "gray.idx", img + lab)
put("idx", "rgb.idx", idx([1, 3, 2, 3], range(18)) + idx([1], [0]))
put("idx", "gzip.idx", gzip.compress(img, mtime=0) + lab)
put("idx", "bad_label.idx", idx([2, 2, 2], range(8)) + idx([2], [10, 255]))
put("idx", "truncated.idx", idx([3, 4, 4], range(20)) + idx([3], [1, 2, 3]))
put("idx", "count_mismatch.idx", img + idx([3], [1, 2, 3]))

# --- NPY ---------------------------------------------------------------------
def npy(descr, shape, data, version=1):
    sh = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, sh)
    pre = 10 if version == 1 else 12
    h += " " * ((64 - (pre + len(h) + 1) % 64) % 64) + "\n"
    ln = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + ln + h.encode() + data


u8 = lambda n: bytes(i % 256 for i in range(n))
f4 = lambda vals: b"".join(struct.pack("<f", v) for v in vals)
f8 = lambda vals: b"".join(struct.pack("<d", v) for v in vals)
i8 = lambda vals: b"".join(struct.pack("<q", v) for v in vals)
put("npy", "nhw_u1.npy", npy("|u1", [2, 4, 4], u8(32)) + npy("<i8", [2], i8([0, 3])))
put("npy", "nhwc_f4.npy", npy("<f4", [2, 3, 3, 1], f4([i / 20 for i in range(18)])) + npy("|u1", [2], bytes([1, 0])))
put("npy", "nchw_f8_v2.npy", npy("<f8", [1, 3, 2, 2], f8([0.5] * 12), 2) + npy("<i4", [1, 1], struct.pack("<i", 2)))
put("npy", "bad_values.npy", npy("<f4", [2, 2, 2], f4([0.1, 2.0, float("nan"), -1, 0, 0, 0, 0])) + npy("<i2", [2], struct.pack("<hh", -1, 1)))
put("npy", "fortran.npy", npy("|u1", [1, 2, 2], u8(4)).replace(b"False", b"True "))

# --- relevance import: NPY maps (+ indices) for 6 records of 8x8 ----------------
put("relevance_npy", "maps_f4.npy", npy("<f4", [6, 8, 8], f4([((i * 13) % 17) / 17 - 0.3 for i in range(384)])))
put("relevance_npy", "maps_f8_indices.npy", npy("<f8", [3, 1, 8, 8], f8([0.25] * 192)) + npy("<i8", [3], i8([0, 2, 4])))
put("relevance_npy", "maps_i2.npy", npy("<i2", [6, 8, 8], struct.pack("<384h", *range(-192, 192))))
put("relevance_npy", "dup_indices.npy", npy("<f4", [2, 8, 8], f4([1.0] * 128)) + npy("<i4", [2], struct.pack("<ii", 5, 5)))
put("relevance_npy", "wrong_shape.npy", npy("<f4", [6, 4, 4], f4([0.0] * 96)))

# --- network definitions -------------------------------------------------------
repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for name in ["tiny.cfg", "lenet.cfg", "fer-vgg.cfg", "tiny-bn.cfg"]:
    with open(os.path.join(repo, "nets", name), "rb") as f:
        put("netdef", name, f.read())
put("netdef", "named.cfg", "[net]\nname = x\ninput = 3x8x8\nclasses = 2\n[conv]\nname = c\nfilters = 4\nsize = 3\nstride = 2\npad = 1\nbias = 0\n[globalavgpool]\n[dropout]\np = 0.5\n[dense]\nunits = 2\nactivation = relu\n")
put("netdef", "errors.cfg", "[net]\ninput = 1x2x2\nclasses = 7\n[maxpool]\nsize = 3\n[lstm]\n[dense]\nunits = 0\n")

# --- JSON ------------------------------------------------------------------------
put("json", "eval.json", '{\n  "accuracy": 0.5,\n  "per_class": [{"name": "a\\u00e9\\ud83d\\ude00", "recall": 1e-3}, null, true, false],\n  "confusion": [[1, 2], [3, 4]],\n  "empty": {}, "e": []\n}\n')
put("json", "bad.json", '{"a": 01, "b": [1,], "a": "\\u0000"}')
put("json", "nested.json", "[" * 70 + "]" * 70)
put("json", "numbers.json", "[-0, 0.5e+10, -1.25E-3, 123456789012345678901234567890, 1e999]")

# --- fixations (dataset of 6 records, 8x8) -------------------------------------
put("fixations", "pixels.csv", "image,x,y,duration\n0,1.5,2,200\n0,7.5,-0.5,100\n3,4,4,0\n5,0,0,50\n")
put("fixations", "extra_columns.csv", "\ufeffsubject, Duration ,Y,X,Image\ns1,10,0.5,0.5,1\ns2,0,0.2,0.9,2\n")
put("fixations", "bad.csv", "image,x,y,duration\n6,1,1,1\n-1,1,1,1\n0,nan,1,1\n0,1,1,-5\n0,1,1\n")
put("fixations", "normalized.csv", "image,x,y,duration\n0,0,0,1\n1,1,1,2\n2,0.5,0.5,1e300\n")

# --- names CSV for PNG import (folder has 0.png, 1.png, face.png) ----------------
put("names_csv", "header.csv", "index,filename\n0,0.png\n1,face.png\n3,1.png\n")
put("names_csv", "plain.csv", "0, face.png \n\n2,1.png\n4,missing.png\n")
put("names_csv", "bad.csv", "index,filename\n0,0.png\n0,1.png\nx,face.png\n9,0.png\n1,\n1\n")

# --- folder ingest class map (tree: angry/, happy/, sad/) ------------------------
put("class_map", "plain.txt", "angry\nhappy\nsad\n")
put("class_map", "renamed.txt", "# folder = class name\nhappy = Happy face\n\n  angry=anger  \n")
put("class_map", "bad.txt", "sad\nsad\nx/y\n=z\nangry=happy\nhappy=happy\n")

# --- HDF5 schema: byte 0 picks the kind (0 dataset, 1 model, 2 relevance); a
# run of 0x01 builds every attribute and dataset as the reader expects. ---------
for kind in range(3):
    put("h5schema", f"valid_{kind}", bytes([kind, 1, 0, 3, 3, 2]) + bytes([1] * 1500))
    put("h5schema", f"mixed_{kind}", bytes([kind, 3, 1, 4, 2, 6]) + bytes((i * 7 + kind) % 13 for i in range(1500)))
