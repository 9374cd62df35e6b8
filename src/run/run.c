/* run.c — `brgflow run`: the pipeline for one validated input.
 *
 *   bf_run  run the job the input names, print a summary, write the result */
#include "brgflow/io.h"
#include "brgflow/nnft.h"
#include "brgflow/run.h"

#include <math.h>

/* A readable table along the first axis: displacement, G2 +- err, ref, z. */
static void print_table(MPI_Comm comm, const bf_cosnet_job *job)
{
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank != 0) return;
  const bf_lattice *lat = &job->lat;
  int64_t stride = lat->nsites / lat->L; /* displacement (n, 0, 0) */
  int rows = job->net->momenta == BF_MOMENTA_LATTICE ? lat->L / 2 + 1 : lat->L;
  printf("\nG2 along the first axis (r = n s; reference: %s)\n", job->reference);
  printf("%6s %10s %14s %12s %14s %8s\n", "n", "r", "G2", "stderr", "G2_ref", "z");
  for (int n = 0; n < rows; n++) {
    int64_t i = n * stride;
    printf("%6d %10.4g %14.6e %12.3e %14.6e %8.2f\n", n, n * lat->s, job->g2[i],
           job->g2_err[i], job->g2_ref[i],
           (job->g2[i] - job->g2_ref[i]) / job->g2_err[i]);
  }
  int where[3] = {0, 0, 0};
  bf_lattice_coords(lat, job->zscore_at, where);
  printf("max |G2 - G2_ref| / stderr over all %lld displacements: %.2f at n = (%d",
         (long long)lat->nsites, job->zscore_max, where[0]);
  for (int j = 1; j < lat->d; j++) printf(", %d", where[j]);
  printf(")\n\n");
}

static void write_result(MPI_Comm comm, const bf_input *in,
                         const bf_cosnet_job *job)
{
  int size;
  MPI_Comm_size(comm, &size);
  bf_h5 *h = bf_h5_create(comm, in->p.output);
  bf_h5_attr_string(h, "/config", "input", in->text);
  bf_h5_attr_string(h, "/config", "version", BF_VERSION);
  bf_h5_attr_int(h, "/config", "ranks", size);

  const bf_lattice *lat = &job->lat;
  hsize_t dims[3];
  for (int j = 0; j < lat->d; j++) dims[j] = (hsize_t)lat->L;
  /* G2 ~ int d^dp/(2pi)^d 1/(p^2+m^2): dimension length^(2-d), lengths in
   * the unit of [lattice] spacing. */
  const char *u = lat->d == 1 ? "length" : lat->d == 2 ? "1 (dimensionless)"
                                                       : "1/length";
  bf_h5_write_root(h, "/nnft/G2", lat->d, dims, job->g2, u,
                   "ensemble G2 by lattice displacement (translation averaged)");
  bf_h5_write_root(h, "/nnft/G2_err", lat->d, dims, job->g2_err, u,
                   "standard error of G2 over members");
  bf_h5_write_root(h, "/nnft/G2_ref", lat->d, dims, job->g2_ref, u,
                   job->reference);
  bf_h5_attr_double(h, "/nnft", "zscore_max", job->zscore_max);
  bf_h5_attr_int(h, "/nnft", "zscore_max_at", job->zscore_at);
  bf_h5_attr_string(h, "/nnft", "displacement",
                    job->net->momenta == BF_MOMENTA_LATTICE
                        ? "periodic: index n is r = n s mod L s"
                        : "open: index n is r = n s (no wrapping)");

  const bf_ensemble *ens = job->ens;
  bf_h5_write_rows(h, "/ensemble/theta", (hsize_t)ens->members,
                   (hsize_t)ens->nparams, (hsize_t)ens->first,
                   (hsize_t)ens->count, ens->theta,
                   "a: 1 (scale sigma_a); b: 1/length; c: radians",
                   "parameters per member: a (N), b (N x d, row-major), c (N)");
  bf_h5_attr_double(h, "/ensemble", "amplitude_A", job->net->amp);
  if (job->net->momenta == BF_MOMENTA_LATTICE)
    bf_h5_attr_int(h, "/ensemble", "momenta_M", job->net->nmom);
  bf_h5_commit(&h);
}

int bf_run(MPI_Comm comm, const bf_input *in)
{
  const bf_params *p = &in->p;
  int size;
  MPI_Comm_size(comm, &size);
  bf_log(comm, "brgflow %s: %s, d = %d, N = %d, E = %d members, L = %d, on %d rank%s",
         BF_VERSION, p->arch, p->d, p->width, p->members, p->sites, size,
         size > 1 ? "s" : "");
  bf_cosnet_job *job = bf_cosnet_job_run(comm, p);
  print_table(comm, job);
  double t = bf_elapsed();
  write_result(comm, in, job);
  bf_log(comm, "write: %s (%.2f s)", p->output, bf_elapsed() - t);
  bf_cosnet_job_destroy(&job);
  return 0;
}
