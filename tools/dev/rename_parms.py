#!/usr/bin/env python3
"""rename_parms.py — rewrite accesses to the flat bf_params fields as
accesses to its per-module sections (issue 12): p->lr -> p->train.lr,
p.data_points -> p.data.points, {.seed = 1} -> {.run.seed = 1}.

    tools/dev/rename_parms.py [FILE ...]     (default: src tests tools *.c *.h)

Kept as a script so that files another branch changes meanwhile can be
rewritten the same way: run it on them after a merge.  Idempotent: a field
already under its section is not matched again (an old field is never a
struct, so `brg` followed by `.` is the new brg section, not the old flag;
a name after `.` or `->` of another name is a member, never an object).

A bf_params object is recognized by its declaration in the same file
(`bf_params x`, `bf_params *x`, `const bf_params *x`, and further names of
the same declaration: `bf_params a = ..., b = a;`) or as the member p of
another struct (`in->p.`, `job->p->`, `c->p->`).  A name declared as
bf_params in one function of a file and as another struct elsewhere in
the same file would be rewritten in both: the compiler says so."""
import os
import re
import sys

# old field -> "section.new": every field is named as its key, except nobias
# (key bias, inverted) and the derived fields (as before)
SECTIONS = {
    "run": "seed output save_theta checkpoint_every checkpoint_flow_every",
    "net": "arch d width depth activation widths activations nobias parameterization "
           "sigma_w sigma_b nhidden hwidth hact",
    "cosnet": "mass cutoff sigma_a momenta",
    "lattice": "sites spacing",
    "ens": "members",
    "corr": "points count from to direction list quadruples blocks npoints x nquads quad",
    "kernel": "quadrature order",
    "data": "target n_train n_test noise domain expression mu chol",
    "train": "method trainable on_divergence lr steps record_every loss batch epochs",
    "fisher": "solver basis scale groups block normalization",
    "brg": "lambda_min lambda_max relative prescription critical_tol bootstrap "
           "keep_mse_below probe ncut cut nprobe probe_idx",
}
RENAMED = {  # old field -> section.new, where the name changes
    "data_file": "data.file", "data_points": "data.points", "data_mean": "data.mean",
    "data_cov": "data.covariance", "sgd_order": "train.order",
    "fisher_sigma": "fisher.sigma", "fisher_points": "fisher.points",
    "fisher_n": "fisher.n_points", "brg": "brg.on", "brg_basis": "brg.basis",
    "cutoffs": "brg.count", "brg_cutoffs": "brg.cutoffs",
}
MAP = {f: s + "." + f for s, fs in SECTIONS.items() for f in fs.split()}
MAP.update(RENAMED)

FIELD = "|".join(sorted(MAP, key=len, reverse=True))
# an old field: a whole word, not followed by `.` (then it is a section)
FIELD_RE = r"(?P<field>" + FIELD + r")\b(?!\s*\.)"
# the member p of another struct: in->p. job->p-> c->p-> (*in)->p.
MEMBER_P = r"(?:\w+|\(\*\w+\))(?:->|\.)p"


def declared_names(text):
    """Names declared with type bf_params (or a pointer to it) in text."""
    names = set()
    for m in re.finditer(r"\bbf_params\b(?!\s*\))", text):
        # one declaration, up to its end (; or the { of a body or an
        # initializer, or the ) closing a parameter list), split into its
        # declarators at the commas outside parentheses
        depth, parts, cur = 0, [], ""
        for ch in text[m.end():]:
            if depth == 0 and ch in ";{":
                break
            depth += (ch == "(") - (ch == ")")
            if depth < 0:
                break
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        parts.append(cur)
        for i, part in enumerate(parts):
            n = re.match(r"\s*(?:const\s+)?\*?\s*(?:const\s+)?([A-Za-z_]\w*)", part)
            # after the first, a part must look like a declarator (x = ...,
            # or x alone): not a further function parameter of another type
            if n and (i == 0 or re.match(r"\s*\*?\s*\w+\s*(=|$)", part)):
                names.add(n.group(1))
    names.discard("const")
    return names


def rename_accesses(text, names):
    objs = [MEMBER_P] + [re.escape(n) for n in sorted(names, key=len, reverse=True)]
    obj = r"(?<![\w.>])(?P<obj>" + "|".join(objs) + r")(?P<op>->|\.)"
    pat = re.compile(obj + FIELD_RE)
    return pat.sub(lambda m: m.group("obj") + m.group("op") + MAP[m.group("field")], text)


def rename_initializers(text):
    """Designators in `bf_params x = { .seed = 1, ... }`."""
    out, pos = [], 0
    for m in re.finditer(r"\bbf_params\s+\w+\s*=\s*\{", text):
        if m.start() < pos:
            continue
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += (text[i] == "{") - (text[i] == "}")
            i += 1
        body = re.sub(r"(?P<pre>[{,]\s*)\.(?P<field>" + FIELD + r")\b(?=\s*=)",
                      lambda d: d.group("pre") + "." + MAP[d.group("field")],
                      text[m.end() - 1:i])
        out.append(text[pos:m.end() - 1] + body)
        pos = i
    out.append(text[pos:])
    return "".join(out)


def rewrite(path):
    with open(path) as f:
        old = f.read()
    new = rename_initializers(rename_accesses(old, declared_names(old)))
    if new != old:
        with open(path, "w") as f:
            f.write(new)
        print(path)


def sources(args):
    if args:
        return args
    return sorted(os.path.join(d, f) for top in ("src", "tests", "tools")
                  for d, _, fs in os.walk(top) for f in fs if f.endswith((".c", ".h")))


if __name__ == "__main__":
    for p in sources(sys.argv[1:]):
        rewrite(p)
