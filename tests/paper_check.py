#!/usr/bin/env python3
"""paper_check.py RESULT.h5 — checks of a reduced paper experiment's result
(tests/mpi/paper_experiment.sh): the sloppy count of every member at every
cutoff against an independent count from the frozen features, and the
stored flow, dropped members and probe predictions.  Prints one `ok - ` or
`not ok - ` line per check (the script's plan counts them) and the figures
it compared."""
import sys

import h5py
import numpy as np

CHECKS = 6


def report(good, what):
    print(("ok - " if good else "not ok - ") + what)


def features(theta, x):
    """The frozen features a^3 of 2 -> 10 linear -> 10 relu -> 2000 relu, no
    bias, unscaled (theta: W1 10x2, W2 10x10, W3 2000x10, then the readout),
    written here from the formulas, not from brgflow's code."""
    W1 = theta[0:20].reshape(10, 2)
    W2 = theta[20:120].reshape(10, 10)
    W3 = theta[120:20120].reshape(2000, 10)
    a1 = x @ W1.T
    a2 = np.maximum(a1 @ W2.T, 0)
    return np.maximum(a2 @ W3.T, 0)


def main(path):
    f = h5py.File(path, "r")
    theta = f["/ensemble/theta"][:]
    xf = f["/fisher/x"][:]
    cut = f["/brg/cutoffs"][:]
    nsl = f["/brg/n_sloppy"][:]          # K x E
    E, K = theta.shape[0], len(cut)
    # F_jj = mean over the n_F Fisher points of (df/dw_j)^2 = a_j^2 (unit variance)
    worst = 0
    for m in range(E):
        F = (features(theta[m], xf) ** 2).mean(axis=0)
        count = (F[None, :] < cut[:, None]).sum(axis=1)
        worst = max(worst, int(np.abs(count - nsl[:, m]).max()))
    print("    figure: max |n_sloppy - independent count from the frozen features| over "
          "%d cutoffs x %d members = %d (must be 0)" % (K, E, worst))
    report(worst == 0, "sloppy counts equal F_jj < Lambda from the frozen features")
    dead = (features(theta[0], xf) ** 2).mean(axis=0) == 0
    print("    figure: member 0: %d of 2000 units dead on all %d Fisher points (sloppy at "
          "every cutoff): n_sloppy at the first cutoff = %d" % (dead.sum(), len(xf), nsl[0, 0]))
    report(nsl[0, 0] >= dead.sum(), "units dead on the Fisher points are sloppy at the first cutoff")
    kept = f["/brg/kept"][:]
    mse0 = f["/brg/test_mse0"][:]
    div = f["/train/diverged"][:].ravel()
    keep = f["/brg"].attrs["keep_mse_below"]
    expect = (mse0 < keep) & (div == 0)
    print("    figure: kept %d of %d (keep_mse_below = %g, diverged %d); attribute n_dropped = %d"
          % (kept.sum(), E, keep, div.sum(), f["/brg"].attrs["n_dropped"]))
    report(np.array_equal(kept.astype(bool), expect) and
           f["/brg"].attrs["n_dropped"] == E - expect.sum(), "dropped members stored and counted")
    pp = f["/brg/probe_pred"][:]
    probe = f["/brg/probe"][:].astype(int)
    ok = pp.shape == (K, E, len(probe)) and np.isfinite(pp[:, expect, :]).all()
    mean = pp[:, expect, 0].mean(axis=1)
    dev = np.abs(mean - f["/brg/pred_mean"][:, probe[0]]).max() / np.abs(mean).max()
    print("    figure: probe_pred %s; kept-member mean vs pred_mean at probe %d: %.1e (tol 1e-12)"
          % (pp.shape, probe[0], dev))
    report(ok and dev < 1e-12, "probe predictions stored (K x E x n_probe), their mean is pred_mean")
    mse = f["/brg/test_mse"][:]
    report(np.isfinite(mse[:, expect]).all() and mse.shape == (K, E), "test MSE per cutoff and member stored")
    y = f["/data/y_test"][:]
    xt = f["/data/x_test"][:]
    want = (1 - xt[:, 0]) ** 2 - 0.5 * (xt[:, 1] - xt[:, 0] ** 2)
    dy = np.abs(y - want).max()
    print("    figure: test targets vs (1 - x1)^2 - 0.5 (x2 - x1^2): %.1e (tol 1e-13)" % dy)
    report(dy < 1e-13, "expression targets of the authors' experiment")


if __name__ == "__main__":
    main(sys.argv[1])
