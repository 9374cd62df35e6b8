#!/usr/bin/python3
"""ckpt_mutate.py — damaged checkpoints for tests/mpi/ckpt_fuzz.sh and
ckpt_attrs.sh (h5py; run with /usr/bin/python3).

  ckpt_mutate.py count                   how many fuzz cases there are
  ckpt_mutate.py make NEW PREV DIR       every case: DIR/NAME.ckpt.h5 and
                                         DIR/NAME.prev.h5 (absent: no file),
                                         and DIR/cases.txt, one line per case:
                                         NAME|RANKS|EXPECT|REASON|WHAT
  ckpt_mutate.py attr FILE NAME VALUE [seal]
                                         set an integer attribute; with `seal`
                                         recompute attr_checksum, so that the
                                         checks behind the checksum are reached

EXPECT: prev  (the newest refused for REASON, the previous generation used,
               result equal), equal (restored, result equal), error (both
               refused, REASON in the one error message, files unchanged),
               safe (whatever happened, never a crash nor a wrong result).

attr_checksum is the one src/io/checkpoint.c computes: the sum mod 2^64 over
the root attributes but attr_checksum and complete of FNV-1a 64 of name,
NUL, kind ('i': the value's 8 bytes little-endian; 's': the text)."""
import os
import shutil
import sys

import h5py
import numpy as np

M = (1 << 64) - 1


def fnv(h, data):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & M
    return h


def attr_hash(name, kind, value):
    return fnv(fnv(fnv(0xCBF29CE484222325, name.encode() + b"\0"), kind), value)


def attr_sum(f):
    s = 0
    for k, v in f.attrs.items():
        if k in ("attr_checksum", "complete"):
            continue
        if isinstance(v, (bytes, np.bytes_)):
            s += attr_hash(k, b"s", bytes(v).rstrip(b"\0"))
        elif isinstance(v, str):
            s += attr_hash(k, b"s", v.encode())
        else:
            s += attr_hash(k, b"i", int(v).to_bytes(8, "little", signed=True))
    return s & M


def seal(path):
    with h5py.File(path, "r+") as f:
        f.attrs.modify("attr_checksum", np.uint64(attr_sum(f)))


def set_attr(path, name, value, sealed=False):
    with h5py.File(path, "r+") as f:
        f.attrs.modify(name, value)
    if sealed:
        seal(path)


# ---- mutations: each takes the path of a copy of the newest generation ----

def truncate(frac=None, minus=None, size=None):
    def m(p):
        n = os.path.getsize(p)
        os.truncate(p, size if size is not None else n - minus if minus else int(n * frac))
    return m


def flip_at(offset_of):
    def m(p):
        with open(p, "r+b") as f:
            data = f.read()
            o = offset_of(p, data)
            f.seek(o)
            f.write(bytes([data[o] ^ 0x5A]))
    return m


def at(frac):
    return lambda p, data: min(len(data) - 1, int(len(data) * frac))


def raw_data(name, plus):
    def off(p, data):
        with h5py.File(p, "r") as f:
            return f[name].id.get_offset() + plus
    return off


def header(name, plus):
    def off(p, data):
        with h5py.File(p, "r") as f:
            return h5py.h5o.get_info(f[name].id).addr + plus
    return off


def text(needle):
    return lambda p, data: data.index(needle)


def delete(name):
    def m(p):
        with h5py.File(p, "r+") as f:
            del f[name]
    return m


def replace(name, make):
    """Dataset `name` rewritten as make(values), its checksum attribute kept."""
    def m(p):
        with h5py.File(p, "r+") as f:
            x, s = f[name][()], f[name].attrs["checksum"]
            del f[name]
            f.create_dataset(name, data=make(x))
            f[name].attrs["checksum"] = s
    return m


def change_value(name):
    def m(p):
        with h5py.File(p, "r+") as f:
            f[name][0, 0] += 1e-3
    return m


def drop_checksum(name):
    def m(p):
        with h5py.File(p, "r+") as f:
            del f[name].attrs["checksum"]
    return m


def attr(name, value, sealed=False):
    return lambda p: set_attr(p, name, value, sealed)


def del_attr(name, sealed=False):
    def m(p):
        with h5py.File(p, "r+") as f:
            del f.attrs[name]
        if sealed:
            seal(p)
    return m


def retype_attr(name, conv, sealed=False):
    def m(p):
        with h5py.File(p, "r+") as f:
            v = f.attrs[name]
            del f.attrs[name]
            f.attrs[name] = conv(v)
        if sealed:
            seal(p)
    return m


def input_text(edit, sealed=False):
    """`input` rewritten by h5py as it writes a str: a variable-length
    UTF-8 string."""
    def m(p):
        with h5py.File(p, "r+") as f:
            t = bytes(f.attrs["input"]).rstrip(b"\0").decode()
            del f.attrs["input"]
            f.attrs["input"] = edit(t)
        if sealed:
            seal(p)
    return m


def both(new, prev):
    return (new, prev)


SAME = lambda t: t
SEED = lambda t: t.replace("seed = 2024", "seed = 2025")

# name, ranks, expect, reason (a grep -E pattern, without '|'), mutation of the newest
# (or a pair: newest, previous; None removes the file)
CASES = [
    ("trunc_0", 1, "prev", "not an? (readable )?HDF5 file", truncate(size=0)),
    ("trunc_half", 1, "prev", "not an? (readable )?HDF5 file", truncate(frac=0.5)),
    ("trunc_minus1", 1, "prev", "not an? (readable )?HDF5 file", truncate(minus=1)),
    ("flip_0", 1, "prev", "not an? (readable )?HDF5 file", flip_at(at(0))),
    ("flip_1_3", 1, "safe", "", flip_at(at(1 / 3))),
    ("flip_1_2", 1, "safe", "", flip_at(at(1 / 2))),
    ("flip_end", 1, "safe", "", flip_at(at(0.999))),
    ("flip_root_header", 1, "prev", "attributes are unreadable", flip_at(header("/", 40))),
    ("flip_input_text", 1, "prev", "attributes are unreadable", flip_at(text(b"seed = 2024"))),
    ("flip_theta_header", 1, "prev", "/theta", flip_at(header("/theta", 30))),
    ("flip_theta_data", 1, "prev", "/theta fails its checksum", flip_at(raw_data("/theta", 101))),
    ("flip_evec_data", 1, "prev", "/evec fails its checksum", flip_at(raw_data("/evec", 2000))),
    ("del_theta", 1, "prev", "/theta is missing", delete("/theta")),
    ("del_evec", 1, "prev", "/evec is missing", delete("/evec")),
    ("del_lambda", 1, "prev", "/lambda is missing", delete("/lambda")),
    ("del_flow0_mse", 1, "prev", "/flow0/mse is missing", delete("/flow0/mse")),
    ("del_flow1", 1, "prev", "/flow1/.* is missing", delete("/flow1")),
    ("theta_transposed", 1, "prev", "/theta has the wrong shape", replace("/theta", lambda x: x.T.copy())),
    ("theta_1d", 1, "prev", "/theta has the wrong shape", replace("/theta", lambda x: x.ravel())),
    ("evec_short", 1, "prev", "/evec has the wrong shape", replace("/evec", lambda x: x[:, :-1].copy())),
    ("theta_float32", 1, "prev", "/theta is not float64", replace("/theta", lambda x: x.astype(np.float32))),
    ("lambda_int", 1, "prev", "/lambda is not float64", replace("/lambda", lambda x: x.astype(np.int64))),
    ("theta_bigendian", 1, "equal", "", replace("/theta", lambda x: x.astype(">f8"))),
    ("theta_value", 1, "prev", "/theta fails its checksum", change_value("/theta")),
    ("theta_no_checksum", 1, "prev", "/theta has no checksum", drop_checksum("/theta")),
    ("attr_del_input", 1, "prev", "attributes fail their checksum", del_attr("input")),
    ("attr_del_complete", 1, "prev", "incomplete", del_attr("complete")),
    ("attr_del_checksum", 1, "prev", "no attribute attr_checksum", del_attr("attr_checksum")),
    ("attr_stage_7", 1, "prev", "attributes fail their checksum", attr("stage", np.int64(7))),
    ("attr_stage_float", 1, "prev", "attribute stage is not a readable", retype_attr("stage", np.float64)),
    ("attr_train_step_-5", 1, "prev", "attributes fail their checksum", attr("train_step", np.int64(-5))),
    ("sealed_stage_7", 1, "prev", "attribute stage = 7 is out of range", attr("stage", np.int64(7), True)),
    ("sealed_stage_-1", 1, "prev", "attribute stage = -1 is out of range", attr("stage", np.int64(-1), True)),
    ("sealed_train_step_1e9", 1, "prev", "attribute train_step = 1000000000 is out of range", attr("train_step", np.int64(10**9), True)),
    ("sealed_flow_step_-3", 1, "prev", "attribute flow_step = -3 is out of range", attr("flow_step", np.int64(-3), True)),
    ("sealed_flow_step_1e6", 1, "prev", "attribute flow_step = 1000000 is out of range", attr("flow_step", np.int64(10**6), True)),
    ("sealed_flow_index_4", 1, "prev", "attribute flow_index = 4 is out of range", attr("flow_index", np.int64(4), True)),
    ("sealed_stage_string", 1, "prev", "attribute stage is missing or not an integer", retype_attr("stage", lambda v: str(v), True)),
    ("sealed_del_input", 1, "prev", "attribute input is missing", del_attr("input", True)),
    ("sealed_stage_1", 1, "equal", "", attr("stage", np.int64(1), True)),
    ("input_vlen_same", 1, "equal", "", input_text(SAME)),
    ("input_vlen_seed", 1, "prev", "attributes fail their checksum", input_text(SEED)),
    ("sealed_input_seed", 1, "prev", "input differs .*run.seed", input_text(SEED, True)),
    ("sealed_input_garbage", 1, "prev", "input differs", input_text(lambda t: "not an input file", True)),
    ("both_damaged", 1, "error", "/theta is missing.*not an? (readable )?HDF5 file",
     both(delete("/theta"), truncate(size=1000))),
    ("both_stage_7", 1, "error", "stage = 7 is out of range.*stage = 7 is out of range",
     both(attr("stage", np.int64(7), True), attr("stage", np.int64(7), True))),
    ("prev_missing_newest_bad", 1, "error", "fails its checksum.*missing", both(change_value("/theta"), None)),
    ("prev_missing_newest_good", 1, "equal", "", both(lambda p: None, None)),
    ("2r_flip_evec_data", 2, "prev", "/evec fails its checksum", flip_at(raw_data("/evec", 3000))),
    ("2r_del_evec", 2, "prev", "/evec is missing", delete("/evec")),
    ("2r_input_vlen_same", 2, "equal", "", input_text(SAME)),
    ("2r_both_damaged", 2, "error", "fails its checksum.*is missing", both(change_value("/snap"), delete("/flow0/mse"))),
]


def describe(m):
    return (m.__qualname__.split(".")[0] if callable(m) else "pair")


def make(new, prev, out):
    os.makedirs(out, exist_ok=True)
    lines = []
    for name, ranks, expect, reason, m in CASES:
        mn, mp = m if isinstance(m, tuple) else (m, lambda p: None)
        for src, dst, fn in ((new, f"{out}/{name}.ckpt.h5", mn), (prev, f"{out}/{name}.prev.h5", mp)):
            if os.path.exists(dst):
                os.unlink(dst)
            if fn is None:
                continue
            shutil.copyfile(src, dst)
            fn(dst)
        lines.append(f"{name}|{ranks}|{expect}|{reason}|{describe(mn)}")
    with open(f"{out}/cases.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv):
    if argv[1] == "count":
        print(len(CASES))
    elif argv[1] == "make":
        make(argv[2], argv[3], argv[4])
    elif argv[1] == "attr":
        set_attr(argv[2], argv[3], np.int64(int(argv[4])), len(argv) > 5 and argv[5] == "seal")
    else:
        sys.exit(f"ckpt_mutate.py: unknown command {argv[1]}")


if __name__ == "__main__":
    main(sys.argv)
