#!/usr/bin/env python3
"""plot_check.py TOOL KIND FILE: hold tools/brgflow-plot's figures to the file.

Imports the tool as a module, builds the figures of FILE in memory and
checks, for the kind of result, that the expected figures exist and that
their axes hold the expected curves: one errorbar container per flow or
step, len(xdata) equal to the number of cutoffs, steps, members or
eigenvalues read from the file itself, the mean of the kept members only.
Counts are exact (integers), values compared to 1e-12 relative (the tool
draws the file's numbers, only a mean is recomputed).  Prints one FIGURE
line per check; exit status 1 at the first failure.

KIND: cosnet_prior, mlp_prior, train_flow, g4c_flow, erg (FILE a brgflow
result), g4c_compare (FILE: two or more results joined by commas, for
--compare), or probe (FILE is created here: a synthetic flow with
probe_pred and kept, which brgflow is gaining at the same time).
"""
import importlib.machinery
import importlib.util
import sys

import h5py
import numpy as np


def load_tool(path):
    loader = importlib.machinery.SourceFileLoader("brgflow_plot", path)
    spec = importlib.util.spec_from_loader("brgflow_plot", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def check(cond, what, got, want):
    print("FIGURE %s: got %s, expected %s -> %s" % (what, got, want,
                                                     "ok" if cond else "FAIL"))
    if not cond:
        sys.exit(1)


def same(what, got, want):
    check(got == want, what, got, want)


def close(what, got, want, rel=1e-12):
    got, want = np.asarray(got, float), np.asarray(want, float)
    ok = got.shape == want.shape and np.allclose(got, want, rtol=rel, atol=0, equal_nan=True)
    check(ok, what + " (rel %g)" % rel, np.array2string(got, precision=6, max_line_width=10**6, threshold=8),
          np.array2string(want, precision=6, max_line_width=10**6, threshold=8))


def errorbars(ax):
    return list(ax.containers and [c for c in ax.containers
                                   if type(c).__name__ == "ErrorbarContainer"])


def plain_lines(ax):
    """Lines that are not an errorbar's data line or caps."""
    taken = set()
    for c in errorbars(ax):
        data, caps, _ = c.lines
        taken.add(id(data))
        taken.update(id(x) for x in caps)
    return [l for l in ax.lines if id(l) not in taken]


def figures(tool, path):
    with h5py.File(path, "r") as f:
        figs = dict(tool.build_figures(f))
    print("FIGURE %s: figures %s" % (path, ", ".join(sorted(figs))))
    return figs


def need(figs, names):
    for n in names:
        check(n in figs, "figure %s present" % n, n in figs, True)


def check_g2_panel(ax, n, what):
    eb = errorbars(ax)
    same(what + ": errorbar curves (ensemble G2)", len(eb), 1)
    same(what + ": points of G2", len(eb[0].lines[0].get_xdata()), n)
    pl = plain_lines(ax)
    same(what + ": reference lines", len(pl), 1)
    same(what + ": points of the reference", len(pl[0].get_xdata()), n)


def kind_cosnet_prior(tool, path):
    figs = figures(tool, path)
    need(figs, ["g2"])
    with h5py.File(path, "r") as f:
        L = f["/nnft/G2"].shape[0]
        G2 = f["/nnft/G2"][...]
    ax = figs["g2"].axes[0]
    check_g2_panel(ax, L // 2 + 1, "g2 (periodic: n = 0..L/2)")
    close("g2: G2 along the first axis", errorbars(ax)[0].lines[0].get_ydata(),
          G2[: L // 2 + 1, 0])


def kind_mlp_prior(tool, path):
    figs = figures(tool, path)
    need(figs, ["g2"])
    with h5py.File(path, "r") as f:
        G2 = f["/nnft/G2"][...]
        K = f["/nnft/K_nngp"][...]
    n = G2.shape[0]
    axes = figs["g2"].axes
    same("g2: panels (diagonal, first row)", len(axes), 2)
    for ax, what in zip(axes, ("diagonal", "first row")):
        check_g2_panel(ax, n, "g2 " + what)
    close("g2: diagonal of G2", errorbars(axes[0])[0].lines[0].get_ydata(), np.diag(G2))
    close("g2: first row of K_nngp", plain_lines(axes[1])[0].get_ydata(), K[0])


def check_flow_mse(tool, f, fig):
    fl = tool.flows(f)
    ax = fig.axes[0]
    eb = errorbars(ax)
    same("flow_mse: errorbar curves (one per flow)", len(eb), len(fl))
    same("flow_mse: log x axis", ax.get_xscale(), "log")
    for c, (name, g) in zip(eb, fl):
        K = g["cutoffs"].shape[0]
        same("flow_mse %s: points (K cutoffs)" % name, len(c.lines[0].get_xdata()), K)
        keep = tool.kept_mask(g, g["test_mse"].shape[1])
        close("flow_mse %s: mean of the kept members" % name, c.lines[0].get_ydata(),
              g["test_mse"][...][:, keep].mean(axis=1))
    lc = sum(1 for _, g in fl if np.isfinite(tool.fattr(g, "critical_cutoff"))
             and tool.fattr(g, "critical_cutoff") > 0)
    inf = sum(1 for _, g in fl if "mse_infinite_width" in g)
    same("flow_mse: plain lines (threshold per flow + Lambda_C + infinite width)",
         len(plain_lines(ax)), len(fl) + lc + inf)
    return fl


def check_flow_members(tool, f, fig):
    fl = tool.flows(f)
    same("flow_members: panels (one per flow)", len(fig.axes), len(fl))
    for ax, (name, g) in zip(fig.axes, fl):
        K, E = g["test_mse"].shape
        same("flow_members %s: lines (E members + mean)" % name, len(ax.lines), E + 1)
        same("flow_members %s: points per line (K)" % name,
             {len(l.get_xdata()) for l in ax.lines}, {K})
        drop = int(np.count_nonzero(~tool.kept_mask(g, E)))
        same("flow_members %s: dashed lines (dropped members)" % name,
             sum(1 for l in ax.lines if l.get_linestyle() == "--"), drop)


def kind_train_flow(tool, path):
    figs = figures(tool, path)
    need(figs, ["flow_mse", "flow_members", "g4c_flow", "fisher_spectrum",
                "fisher_training", "fisher_diag", "train_loss"])
    with h5py.File(path, "r") as f:
        fl = check_flow_mse(tool, f, figs["flow_mse"])
        same("flows in the file (basis = both, prescription = both)", len(fl), 4)
        check_flow_members(tool, f, figs["flow_members"])
        E, k = f["/fisher/eigenvalues"].shape
        _, nrec, _ = f["/train/fisher_eigenvalues"].shape
        ax = figs["fisher_spectrum"].axes[0]
        same("fisher_spectrum: lines (one per member)", len(ax.lines), E)
        same("fisher_spectrum: points per line (k)", {len(l.get_xdata()) for l in ax.lines}, {k})
        same("fisher_spectrum: log y", ax.get_yscale(), "log")
        ax = figs["fisher_training"].axes[0]
        same("fisher_training: lines (one per eigenvalue)", len(ax.lines), k)
        same("fisher_training: points per line (nrec)", {len(l.get_xdata()) for l in ax.lines},
             {nrec})
        close("fisher_training: top eigenvalue, ensemble mean", ax.lines[0].get_ydata(),
              f["/train/fisher_eigenvalues"][...][:, :, 0].mean(axis=0))
        ax = figs["fisher_diag"].axes[0]
        d = f["/fisher/diag"][...]
        same("fisher_diag: histogram bars", len(ax.patches), 40)
        same("fisher_diag: counts = positive entries",
             int(round(sum(p.get_height() for p in ax.patches))), int(np.count_nonzero(d > 0)))
        ax = figs["train_loss"].axes[0]
        loss = f["/train/loss"][...]
        same("train_loss: lines (E members + mean)", len(ax.lines), loss.shape[0] + 1)
        same("train_loss: points per line (nrec)", {len(l.get_xdata()) for l in ax.lines},
             {loss.shape[1]})
        close("train_loss: mean over members", ax.lines[-1].get_ydata(), loss.mean(axis=0))
        # guards the test input, not the tool: a diverged run draws garbage
        m = loss.mean(axis=0)
        check(np.all(np.isfinite(m)) and m[-1] < m[0], "train_loss: the run trained "
              "(finite, last mean < first)", "%.4g -> %.4g" % (m[0], m[-1]), "a decrease")


def kind_g4c_flow(tool, path):
    figs = figures(tool, path)
    need(figs, ["g4c_flow"])
    with h5py.File(path, "r") as f:
        fl = tool.g4c_flows(f)
        N = int(f["/nnft"].attrs["width_N"])
        axes = figs["g4c_flow"].axes
        same("g4c_flow: panels (one per flow with G4c)", len(axes), len(fl))
        for ax, (name, g) in zip(axes, fl):
            K, nq = g["NG4c"].shape
            eb = errorbars(ax)
            same("g4c_flow %s: errorbar curves (one per quadruple)" % name, len(eb), nq)
            same("g4c_flow %s: points per curve (K)" % name,
                 {len(c.lines[0].get_xdata()) for c in eb}, {K})
            for q, c in enumerate(eb):
                close("g4c_flow %s quadruple %d: N G4c" % (name, q), c.lines[0].get_ydata(),
                      g["NG4c"][...][:, q])
                close("g4c_flow %s quadruple %d: NG4c = width_N G4c" % (name, q),
                      g["NG4c"][...][:, q], N * g["G4c"][...][:, q])
            same("g4c_flow %s: trained lines (one per quadruple)" % name,
                 len(plain_lines(ax)), nq)
            close("g4c_flow %s: trained N G4c" % name,
                  [l.get_ydata()[0] for l in plain_lines(ax)], f["/train/NG4c"][...])


def kind_g4c_compare(tool, paths):
    paths = paths.split(",")
    fs = [h5py.File(p, "r") for p in paths]
    fs.sort(key=tool.width_of)
    tool.check_compare(fs, paths)
    fig = tool.fig_g4c_compare(fs)
    nq = fs[0]["/nnft/quadruples"].shape[0]
    same("g4c_compare: panels (one per quadruple)", len(fig.axes), nq)
    for q, ax in enumerate(fig.axes):
        eb = errorbars(ax)
        same("g4c_compare quadruple %d: errorbar curves (one per file)" % q, len(eb), len(fs))
        for c, f in zip(eb, fs):
            g = tool.g4c_flows(f)[0][1]
            close("g4c_compare quadruple %d, N = %d: N G4c" % (q, tool.width_of(f)),
                  c.lines[0].get_ydata(), g["NG4c"][...][:, q])
            same("g4c_compare quadruple %d: legend" % q, c.get_label(),
                 "N = %d" % tool.width_of(f))
    for f in fs:
        f.close()


def kind_erg(tool, path):
    figs = figures(tool, path)
    need(figs, ["flow_mse", "flow_members", "erg_diagonal_prune_G2",
                "erg_diagonal_prune_Gq", "erg_diagonal_prune_mass"])
    with h5py.File(path, "r") as f:
        e = f["/erg"]
        K, L = e["G2"].shape[:2]
        for base in ("G2", "Gq"):
            ax = figs["erg_diagonal_prune_" + base].axes[0]
            eb = errorbars(ax)
            same("erg %s: errorbar curves (one per step)" % base, len(eb), K)
            same("erg %s: reference lines (one per step)" % base, len(plain_lines(ax)), K)
            same("erg %s: points per curve (L/2 + 1)" % base,
                 {len(c.lines[0].get_xdata()) for c in eb}, {L // 2 + 1})
            close("erg %s: step 0 along the first axis" % base, eb[0].lines[0].get_ydata(),
                  e[base][...][0, : L // 2 + 1, 0])
        a0, a1 = figs["erg_diagonal_prune_mass"].axes
        eb = errorbars(a0)
        same("erg mass: m_eff errorbar curves", len(eb), 1)
        close("erg mass: m_eff against p", eb[0].lines[0].get_ydata(), e["m_eff"][...])
        close("erg mass: x = momentum_cutoff", eb[0].lines[0].get_xdata(),
              e["momentum_cutoff"][...])
        same("erg mass: m_hat lines", len(a1.lines), 1)
        close("erg mass: m_hat", a1.lines[0].get_ydata(), e["m_hat"][...])
        check_flow_mse(tool, f, figs["flow_mse"])


def attrs(ds, u, d):
    ds.attrs["units"] = np.bytes_(u)
    ds.attrs["description"] = np.bytes_(d)


def make_probe_file(path):
    """One flow, K = 15 cutoffs (> 12: a selection), E = 40, 2 probe points,
    members 3 and 7 dropped with a test MSE 1e3 times the others' (a mean
    that included them would be off by far more than the tolerance)."""
    K, E, nt = 15, 40, 6
    rng = np.random.default_rng(1)
    kept = np.ones(E)
    kept[[3, 7]] = 0
    with h5py.File(path, "w") as f:
        c = f.create_group("config")
        c.attrs["input"] = np.bytes_("# brgflow 0.2.0 effective input: synthetic\n[brg]\nflow = yes\n")
        c.attrs["version"] = np.bytes_("0.2.0")
        y = f.create_dataset("data/y_test", data=np.linspace(-1, 1, nt))
        attrs(y, "output", "test targets (noise-free)")
        g = f.create_group("brg")
        cut = np.logspace(-6, 0, K)
        attrs(g.create_dataset("cutoffs", data=cut), "lambda_max", "information cutoffs")
        mse = 0.1 + 0.01 * rng.random((K, E)) + np.linspace(0, 1, K)[:, None]
        mse[:, ~(kept > 0)] *= 1e3
        attrs(g.create_dataset("test_mse", data=mse), "output^2", "test MSE per step and member")
        attrs(g.create_dataset("test_mse0", data=np.full(E, 0.1)), "output^2", "before")
        attrs(g.create_dataset("kept", data=kept), "-", "1: kept by keep_mse_below")
        attrs(g.create_dataset("mse_infinite_width", data=np.linspace(0.1, 1, K)),
              "output^2", "infinite-width test MSE")
        attrs(g.create_dataset("probe", data=np.array([1.0, 4.0])), "-", "test point index")
        pred = rng.normal(size=(K, E, 2)) * 0.3 + np.array([0.5, -0.2])
        attrs(g.create_dataset("probe_pred", data=pred), "output", "f at the probe points")
        for k, v in (("critical_cutoff", cut[8]), ("critical_cutoff_lo", cut[7]),
                     ("critical_cutoff_hi", cut[9]), ("critical_tol", 0.1)):
            g.attrs[k] = v
        g.attrs["basis"] = np.bytes_("eigen")
        g.attrs["prescription"] = np.bytes_("resample")
    return K, E, kept > 0, pred, np.linspace(-1, 1, nt)


def kind_probe(tool, path):
    K, E, keep, pred, y = make_probe_file(path)
    figs = figures(tool, path)
    need(figs, ["flow_mse", "flow_members", "probe_brg_0", "probe_brg_1"])
    with h5py.File(path, "r") as f:
        check_flow_mse(tool, f, figs["flow_mse"])
        check_flow_members(tool, f, figs["flow_members"])
    same("flow_mse: shaded bootstrap interval", len(figs["flow_mse"].axes[0].patches), 1)
    ks = tool.probe_cutoffs(K)
    same("probe cutoffs: a selection of 12 of 15, both ends", (len(ks), ks[0], ks[-1]),
         (12, 0, K - 1))
    for j, t in enumerate((1, 4)):
        fig = figs["probe_brg_%d" % j]
        axes = [a for a in fig.axes if a.get_visible()]
        same("probe %d: histogram panels" % j, len(axes), 12)
        for ax, k in zip(axes, ks):
            check(len(ax.patches) > 0, "probe %d step %d: histogram bars" % (j, k),
                  len(ax.patches), "> 0")
            pl = ax.lines
            same("probe %d step %d: lines (Gaussian fit, true value)" % (j, k), len(pl), 2)
            close("probe %d step %d: true value y_test[%d]" % (j, k, t), pl[1].get_xdata()[0], y[t])
            v = pred[k, keep, j]
            want = r"$\mu$ = %.3g, $\sigma$ = %.3g" % (v.mean(), v.std(ddof=1))
            same("probe %d step %d: fit legend over kept members" % (j, k),
                 pl[0].get_label(), want)
            close("probe %d step %d: histogram mass 1 (density)" % (j, k),
                  sum(p.get_height() * p.get_width() for p in ax.patches), 1.0, 1e-9)


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    tool = load_tool(sys.argv[1])
    {"cosnet_prior": kind_cosnet_prior, "mlp_prior": kind_mlp_prior,
     "train_flow": kind_train_flow, "erg": kind_erg, "g4c_flow": kind_g4c_flow,
     "g4c_compare": kind_g4c_compare,
     "probe": kind_probe}[sys.argv[2]](tool, sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
