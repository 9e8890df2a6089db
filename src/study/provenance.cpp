#include "study/provenance.hpp"

#include <unistd.h>

#include <cstdlib>
#include <ctime>

namespace icl {

void fill_provenance(Provenance& provenance, int mpi_ranks, int omp_threads) {
  provenance.version = ICL_VERSION;
  provenance.git_commit = ICL_GIT_COMMIT;
  char hostname[256] = {};
  ::gethostname(hostname, sizeof hostname - 1);
  provenance.hostname = hostname;
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char created[32];
  std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc);
  provenance.created = created;
  provenance.mpi_ranks = mpi_ranks;
  provenance.omp_threads = omp_threads;
  for (const char* key : slurm_variables)
    if (const char* value = std::getenv(key)) provenance.slurm[key] = value;
}

std::string program_version() {
  return std::string(ICL_VERSION) + " (commit " + ICL_GIT_COMMIT + ")";
}

}  // namespace icl
