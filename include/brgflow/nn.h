/* nn.h — networks and ensembles (the "sample" stage).
 *
 * The generalized cos-net of SCIENCE.md 1a,
 *   f(x) = sum_i a_i A cos(b_i . x + c_i) / sqrt(b_i^2 + m^2),
 * and an ensemble of networks distributed over ranks in contiguous blocks.
 * Parameter vector theta (the output contract): a (N), then b (N x d,
 * row-major), then c (N). */
#ifndef BRGFLOW_NN_H
#define BRGFLOW_NN_H

#include "brgflow/core.h"
#include "brgflow/input.h"

typedef struct bf_cosnet {
  int d, width, momenta; /* momenta: enum bf_momenta */
  double mass, cutoff, sigma_a;
  double amp;      /* normalization A */
  bf_lattice lat;  /* the lattice the momenta live on (lattice momenta) */
  int64_t nmom;    /* M = |B_R| for lattice momenta */
  double *mom;     /* B_R, nmom x d, lattice momenta only */
} bf_cosnet;

bf_cosnet *bf_cosnet_create(const bf_params *p);
void bf_cosnet_destroy(bf_cosnet **net);
int64_t bf_cosnet_nparams(const bf_cosnet *net);
/* A for the given momentum mode (SCIENCE.md 1a). */
double bf_cosnet_amplitude(const bf_cosnet *net);
/* Draw member `member`'s parameters from its own streams. */
void bf_cosnet_sample(const bf_cosnet *net, uint64_t seed, int64_t member,
                      double *theta);
/* phi[k] = f_theta(x_k) for npts points x (npts x d, row-major). */
void bf_cosnet_field(const bf_cosnet *net, const double *theta, int64_t npts,
                     const double *x, double *phi);

/* The same on the grid box {n s : n in [0,B)^d} (B^d sites, row-major):
 * separable phases, the fast kernel used by the measurements. */
void bf_cosnet_field_grid(const bf_cosnet *net, const double *theta, int B,
                          double s, double *phi);

typedef struct bf_ensemble {
  MPI_Comm comm;   /* duplicated: the ensemble's traffic is its own */
  int64_t members; /* E, global */
  int64_t first, count; /* this rank's contiguous block of members */
  int64_t nparams; /* P */
  double *theta;   /* count x P, this rank's members */
} bf_ensemble;

bf_ensemble *bf_ensemble_create(MPI_Comm comm, int64_t members, int64_t nparams);
void bf_ensemble_destroy(bf_ensemble **ens);
void bf_ensemble_sample_cosnet(bf_ensemble *ens, const bf_cosnet *net,
                               uint64_t seed);

#endif
