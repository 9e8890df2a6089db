#pragma once
#include "io/result_file.hpp"

namespace icl {
/// Program version, git commit, creation time (UTC), host name and Slurm ids, for result files.
void fill_provenance(Provenance& provenance, int mpi_ranks, int omp_threads);
}  // namespace icl
