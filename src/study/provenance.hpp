#pragma once
#include "io/result_file.hpp"

#include <string>

namespace icl {
/// Program version, git commit, creation time (UTC), host name and Slurm ids, for result files.
void fill_provenance(Provenance& provenance, int mpi_ranks, int omp_threads);
/// "0.1.0 (commit 1234abcd5678)": the version and the commit the build was configured from.
std::string program_version();
}  // namespace icl
