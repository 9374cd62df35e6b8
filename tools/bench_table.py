#!/usr/bin/env python3
"""bench_table.py -- the table of `make bench` (tools/bench.sh, docs/bench.md).

    python3 tools/bench_table.py flops INPUT.ini   # the analytic flop count
    python3 tools/bench_table.py table DIR         # the table of a bench run

`table` reads what tools/bench.sh left in DIR (the bench directory,
tests/out/bench): the DGEMM lines, and per workload Wk/ the brgflow logs,
wall times, exit codes and peak-memory files of every run.  Nothing is
measured here; every figure comes from the same `make bench` run.
Standard library only.
"""
import configparser
import glob
import os
import re
import statistics
import sys

# Targets for the future engine (docs/bench.md, "Targets").  Each is
# (workload, ranks the verdict is taken at, figure, comparison, value, text).
TARGETS = [
    ("W1", 2, "wall", "<=", 1.5, "W1 whole run on 2 ranks <= 1.5 s"),
    ("W1", 1, "frac", ">=", 0.35, "W1 training >= 35% of DGEMM (1 rank)"),
    ("W2", 1, "frac", ">=", 0.70, "W2 training >= 70% of DGEMM (1 rank)"),
    ("W1", 2, "flow", "<=", 0.2, "W1 flow stage <= 0.2 s (2 ranks)"),
    ("W1", 2, "speedup", ">=", 1.8, "W1 2 ranks >= 1.8x faster than 1"),
    ("W2", 2, "speedup", ">=", 1.8, "W2 2 ranks >= 1.8x faster than 1"),
    ("W4", 1, "spm", "<=", 0.3, "W4 (the authors' experiment) training <= 0.3 s per member on 1 core"),
]


# ---------------------------------------------------------------- the input
def read_ini(path):
    """The INI as brgflow reads it: ';' inline comments need a blank before."""
    cp = configparser.ConfigParser(inline_comment_prefixes=(";",), comment_prefixes=("#", ";"),
                                   delimiters=("=", ":"), interpolation=None, strict=False)
    cp.optionxform = str
    with open(path, encoding="utf-8-sig") as f:
        cp.read_file(f)
    return cp


def get(cp, sec, key, default):
    return cp.get(sec, key, fallback=default).strip() if cp.has_section(sec) else default


def flop_count(path):
    """Flops of one gradient-descent step of one member (docs/bench.md).

    Layer sizes n_0 = d, n_1 .. n_L (`widths`, or `depth` x `width`),
    n_{L+1} = 1; n training points.  Dense products only:
      forward           2 n sum_{l=1}^{L+1} n_{l-1} n_l          (all layers)
      backward signals  2 n sum_{l=l0+1}^{L+1} n_{l-1} n_l       (l0: lowest trained layer)
      weight gradient   2 n sum_{l trained} n_{l-1} n_l
    A model linear in its trained block (readout only, the cos-net) gets
    its features once per member and a step is f = f_rest + J theta_t plus
    J^T r: forward counts only the readout, 2 n n_L (the frozen layers'
    forward pass is done once, not per step).
    Elementwise work (activations and their derivatives, biases, the
    residual, the update) is O(n sum n_l + P) and is left out.
    """
    cp = read_ini(path)
    arch = get(cp, "network", "arch", "cosnet")
    d = int(float(get(cp, "network", "d", "1")))
    widths = get(cp, "network", "widths", "")
    if widths and widths != "none":
        hidden = [int(float(w)) for w in widths.replace(";", ",").split(",") if w.strip()]
    else:
        hidden = [int(float(get(cp, "network", "width", "256")))] * int(float(get(cp, "network", "depth", "1")))
    if arch != "mlp":
        hidden = [int(float(get(cp, "network", "width", "256")))]   # cos-net: one layer of N units
    sizes = [d] + hidden + [1]
    L1 = len(sizes) - 1                      # number of weight layers, L + 1
    if get(cp, "data", "points", "random") == "lattice":
        n = int(float(get(cp, "lattice", "sites", "32"))) ** d
    else:
        n = int(float(get(cp, "data", "n_train", "32")))
    trainable = get(cp, "train", "trainable", "all")
    trained = [L1] if (trainable == "readout" or arch != "mlp") else list(range(1, L1 + 1))
    lowest = min(trained)
    prod = {l: sizes[l - 1] * sizes[l] for l in range(1, L1 + 1)}
    linear = trained == [L1]
    fwd = 2 * n * (prod[L1] if linear else sum(prod.values()))
    bwd = 2 * n * sum(prod[l] for l in range(lowest + 1, L1 + 1))
    grad = 2 * n * sum(prod[l] for l in trained)
    method = get(cp, "train", "method", "none")
    return {
        "sizes": sizes, "n": n, "trainable": trainable, "forward": fwd, "backward": bwd,
        "gradient": grad, "total": fwd + bwd + grad,
        "members": int(float(get(cp, "ensemble", "members", "128"))),
        # a member-step of sgd is an epoch: n samples, the same products
        "steps": int(float(get(cp, "train", "steps", "200"))) if method == "gd"
                 else int(float(get(cp, "train", "epochs", "1"))) if method == "sgd" else 0,
        "method": method,
    }


# ---------------------------------------------------------------- the logs
NUM = r"(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
SECONDS = re.compile(r"(?<![~\w.])" + NUM + r" s\b")       # "9.20 s", not "~0.00 s left"
STAMP = re.compile(r"^\[\s*" + NUM + r" s\]\s*(.*)$")


def first_seconds(text):
    m = SECONDS.search(text)
    return float(m.group(1)) if m else None


def parse_log(path):
    """Stage times from brgflow's log lines (rank 0's, as printed)."""
    st = {"train": None, "metric": None, "flow": None, "write": None, "ckpt": 0.0,
          "elapsed": None, "error": None}
    flows = {}
    train_progress = None
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return st
    for raw in lines:
        if raw.startswith("brgflow: error:") and st["error"] is None:
            st["error"] = raw[len("brgflow: error:"):].strip()
        m = STAMP.match(raw)
        if not m:
            continue
        st["elapsed"] = float(m.group(1))
        msg = m.group(2)
        if msg.startswith("train:"):
            body = msg[len("train:"):]
            if re.match(r"\s*(step|epoch)\b", body) or "diverged" in body:
                train_progress = first_seconds(body)
            else:
                st["train"] = first_seconds(body)
        elif msg.startswith("metric:"):
            body = msg[len("metric:"):]
            if re.search(r"first spectrum|restored", body):
                continue
            t = first_seconds(body.split(",")[-1]) or first_seconds(body)
            if t is not None:
                st["metric"] = (st["metric"] or 0.0) + t if "along" in body else t
        elif msg.startswith("flow "):
            fm = re.match(r"flow (\S+): step (\d+)/(\d+),.*?;\s*(.*)$", msg)
            if fm:
                t = first_seconds(fm.group(4))
                if t is not None:
                    flows[fm.group(1)] = t          # cumulative: the last step's is the flow's
        elif msg.startswith("checkpoint:"):
            cm = re.search(r"\(stage \d+, " + NUM + r" s\)", msg)
            if cm:
                st["ckpt"] += float(cm.group(1))
        elif msg.startswith("write:"):
            wm = re.search(r"\(" + NUM + r" s\)\s*$", msg)
            st["write"] = float(wm.group(1)) if wm else first_seconds(msg)
    if st["train"] is None:
        st["train"] = train_progress
    if flows:
        st["flow"] = sum(flows.values())
    return st


def read_float(path):
    try:
        return float(open(path).read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def read_mem_kb(prefix):
    """Largest maxrss (kB) over the rank files PREFIX.mem.* of one run."""
    best = None
    for f in glob.glob(prefix + ".mem.*"):
        m = re.search(r"maxrss_kb\s+(\d+)", open(f, errors="replace").read())
        if m:
            best = max(best or 0, int(m.group(1)))
    return best


def dgemm_lines(path):
    out = []
    try:
        for line in open(path):
            m = re.search(r"rank (\d+), n = (\d+),.*best of (\d+): " + NUM + " GF/s", line)
            if m:
                out.append((int(m.group(1)), int(m.group(2)), int(m.group(3)), float(m.group(4))))
    except OSError:
        pass
    return out


# ---------------------------------------------------------------- the table
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec, dash="-"):
    return dash if x is None else format(x, spec)


def verdict(value, op, target):
    if value is None:
        return "MISS"
    return "PASS" if (value <= target if op == "<=" else value >= target) else "MISS"


def table(bdir):
    meta = {}
    try:
        for line in open(os.path.join(bdir, "meta")):
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    except OSError:
        pass
    d1 = dgemm_lines(os.path.join(bdir, "dgemm.start")) + dgemm_lines(os.path.join(bdir, "dgemm.end"))
    d2 = dgemm_lines(os.path.join(bdir, "dgemm.np2"))
    ceiling = max((g for _, _, _, g in d1), default=None)
    dn = d1[0][1] if d1 else (d2[0][1] if d2 else 0)

    print("brgflow bench: %s%s" % (meta.get("header", ""),
                                   ", %s at the end" % meta["load_end"] if meta.get("load_end") else ""))
    print("R = %s runs per workload and rank count (BENCH_REPS), fewer when a workload's runs pass "
          "%s s (BENCH_BUDGET); medians over the runs; OPENBLAS_NUM_THREADS=1"
          % (meta.get("reps", "?"), meta.get("budget", "?")))
    print("stage times, wall and (ckpt) in seconds; columns explained below the table")
    print()
    cols = [("row", 5, "<"), ("np", 2, ">"), ("runs", 4, ">"), ("flop/mstep", 10, ">"),
            ("mstep/s", 8, ">"), ("GF/s/core", 9, ">"), ("of DGEMM", 11, ">"),
            ("train", 7, ">"), ("metric", 6, ">"), ("flow", 10, ">"), ("write", 5, ">"),
            ("other", 5, ">"), ("(ckpt)", 6, ">"), ("wall", 10, ">"), ("speed-up", 9, ">"),
            ("MB/rank", 7, ">"), ("fast/ref", 8, ">")]
    def row(cells):
        out = []
        for (name, w, al), c in zip(cols, cells):
            out.append(format(c, al + str(w)))
        return "  ".join(out).rstrip()

    head = row([c[0] for c in cols])
    print(head)
    print("-" * len(head))
    if d1:
        print(row(["DGEMM", "1", "+".join(str(k) for _, _, k, _ in d1), "n=%d" % dn, "-", fmt(ceiling, ".2f"), "100%",
                   "", "", "", "", "", "", "", "", "", ""])
              + "   best single-core run (start %s, end %s GF/s)"
              % (" ".join("%.2f" % g for _, _, _, g in dgemm_lines(os.path.join(bdir, "dgemm.start"))) or "-",
                 " ".join("%.2f" % g for _, _, _, g in dgemm_lines(os.path.join(bdir, "dgemm.end"))) or "-"))
    else:
        print("DGEMM   skipped: no output from build/tools/bench_dgemm (see %s/dgemm.*)" % bdir)
    if d2:
        slow = min(g for _, _, _, g in d2)
        print(row(["DGEMM", "2", str(d2[0][2]), "n=%d" % dn, "-", "%.2f" % slow,
                   fmt(slow / ceiling * 100 if ceiling else None, ".1f") + "%",
                   "", "", "", "", "", "", "", "", "", ""])
              + "   both cores at once, slower rank (%s GF/s)" % " ".join("%.2f" % g for _, _, _, g in sorted(d2)))

    results = {}
    flops_lines = []
    for wdir in sorted(glob.glob(os.path.join(bdir, "W*"))):
        w = os.path.basename(wdir)
        inp = open(os.path.join(wdir, "input")).read().strip()
        copy = os.path.join(wdir, "input.ini")      # the input as it was run
        try:
            fc = flop_count(copy if os.path.exists(copy) else inp)
        except Exception as e:                  # noqa: BLE001 -- report, never die
            fc = None
            flops_lines.append("  %s (%s): cannot count: %s" % (w, inp, e))
        if fc:
            flops_lines.append(
                "  %s (%s): sizes %s, n = %d, trainable = %s: %.4g = %.4g forward + %.4g backward signals"
                " + %.4g weight gradient; E = %d, %d steps"
                % (w, inp, "-".join(map(str, fc["sizes"])), fc["n"], fc["trainable"], fc["total"],
                   fc["forward"], fc["backward"], fc["gradient"], fc["members"], fc["steps"]))
        status = open(os.path.join(wdir, "status")).read().strip() if os.path.exists(
            os.path.join(wdir, "status")) else ""
        if status:
            print("%-5s  %s" % (w, status))
            continue
        engine = None
        ef = os.path.join(wdir, "engine.txt")
        if os.path.exists(ef):
            m = re.search(r"fast/reference:\s*" + NUM, open(ef, errors="replace").read())
            engine = float(m.group(1)) if m else None
        res = {}
        for np_ in (1, 2):
            runs = sorted(glob.glob(os.path.join(wdir, "np%d.r*.wall" % np_)))
            prefixes = [r[:-len(".wall")] for r in runs]
            ok = [p for p in prefixes if read_float(p + ".rc") == 0]
            if not prefixes:
                continue
            if len(ok) < len(prefixes):
                bad = [p for p in prefixes if p not in ok][0]
                err = parse_log(bad + ".log")["error"]
                res[np_] = {"failed": "failed on %d ranks: %s" % (
                    np_, err or "exit %s (see %s.log)" % (fmt(read_float(bad + ".rc"), ".0f"), bad))}
                continue
            logs = [parse_log(p + ".log") for p in ok]
            r = {k: med([lg[k] for lg in logs]) for k in ("train", "metric", "flow", "write", "ckpt", "elapsed")}
            r["wall"] = med([read_float(p + ".wall") for p in ok])
            r["runs"] = len(ok)
            mems = [read_mem_kb(p) for p in ok]
            mems = [m for m in mems if m is not None]
            r["mem"] = max(mems) / 1024.0 if mems else None
            known = [r[k] for k in ("train", "metric", "flow", "write") if r[k] is not None]
            r["other"] = r["wall"] - sum(known) if r["wall"] is not None else None
            r["mstep"] = r["gfs"] = r["frac"] = r["spm"] = None
            if fc and r["train"]:  # core-seconds of training per member
                r["spm"] = r["train"] * np_ / fc["members"]
            if fc and fc["steps"] > 0 and r["train"]:
                r["mstep"] = fc["members"] * fc["steps"] / r["train"]
                r["gfs"] = r["mstep"] * fc["total"] / np_ * 1e-9
                r["frac"] = r["gfs"] / ceiling if ceiling else None
            res[np_] = r
        if 1 in res and 2 in res and "failed" not in res[1] and "failed" not in res[2] and res[2]["wall"]:
            res[2]["speedup"] = res[1]["wall"] / res[2]["wall"]
        results[w] = res
        for np_ in (1, 2):
            if np_ not in res:
                continue
            r = res[np_]
            if "failed" in r:
                print("%-5s  %s" % (w, r["failed"]))
                continue
            tg = {}
            for tw, tnp, fig, op, val, _ in TARGETS:
                if tw == w and tnp == np_:
                    tg[fig] = verdict(r.get(fig), op, val)

            def mark(fig, text):
                return text + (" " + tg[fig] if fig in tg else "")
            print(row([
                w, str(np_), str(r["runs"]),
                fmt(fc["total"] if fc else None, ".3e"),
                fmt(r["mstep"], ".4g"), fmt(r["gfs"], ".3g"),
                mark("frac", fmt(r["frac"] * 100 if r["frac"] is not None else None, ".3g") + "%"),
                fmt(r["train"], ".2f"), fmt(r["metric"], ".2f"), mark("flow", fmt(r["flow"], ".2f")),
                fmt(r["write"], ".2f"), fmt(r["other"], ".2f"), fmt(r["ckpt"], ".2f"),
                mark("wall", fmt(r["wall"], ".2f")),
                mark("speedup", fmt(r.get("speedup"), ".2f")) if np_ == 2 else "",
                fmt(r["mem"], ".0f"),
                (fmt(engine, ".3g") if np_ == 1 else ""),
            ]))
    print()
    print("targets (for the future engine; PASS/MISS beside the figure):")
    for tw, tnp, fig, op, val, text in TARGETS:
        r = results.get(tw, {}).get(tnp)
        if r is None or "failed" in r:
            got = "skipped" if tw not in results else "failed"
            print("  %-40s %s" % (text, got))
            continue
        v = r.get(fig)
        shown = ("%.3g%%" % (v * 100)) if (fig == "frac" and v is not None) else fmt(v, ".3g")
        print("  %-40s %-10s %s" % (text, shown, verdict(v, op, val)))
    print()
    print("flops per member-step (GD: dense products only, elementwise terms neglected):")
    for line in flops_lines:
        print(line)
    print()
    print("columns: mstep/s = E x steps / train s (all ranks); GF/s/core = mstep/s x flop/mstep / np;")
    print("  of DGEMM = GF/s/core / the 1-core DGEMM row; stage times are brgflow's own log lines (rank 0);")
    print("  flow includes the flow's checkpoint writes; other = wall - train - metric - flow - write")
    print("  (launch, data, sampling, checks, the metric checkpoint); (ckpt) = all checkpoint writes, already")
    print("  inside flow / other; wall = mpirun to exit; speed-up = wall(1 rank) / wall(2 ranks);")
    print("  MB/rank = largest peak RSS of any rank over the runs (%s); fast/ref = build/tools/bench_engine."
          % meta.get("mem", "?"))
    if meta.get("launch"):
        print("  mpirun -np 2 of /bin/true alone takes %s s (inside every wall time)." % meta["launch"])
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "flops":
        fc = flop_count(argv[2])
        print("%s: sizes %s, n = %d: %.6g flops per member-step (forward %.6g, backward signals %.6g, "
              "weight gradient %.6g)" % (argv[2], "-".join(map(str, fc["sizes"])), fc["n"], fc["total"],
                                         fc["forward"], fc["backward"], fc["gradient"]))
        return 0
    if len(argv) == 3 and argv[1] == "table":
        return table(argv[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
