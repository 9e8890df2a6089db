#include "parallel/communicator.hpp"

#include "core/errors.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace icl {
namespace {
void check(int status, const char* what) {
  if (status != MPI_SUCCESS) throw IoError(std::string("MPI: ") + what + " failed");
}
void require_peers(MPI_Comm comm, const char* what) {
  if (comm == MPI_COMM_NULL)
    throw std::logic_error(std::string(what) + " in a one-rank world without MPI");
}
}  // namespace

bool launched_by_mpi() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                               "MPI_LOCALNRANKS", "SLURM_PROCID"})
    if (std::getenv(variable) != nullptr) return true;
  return false;
}

Communicator Communicator::serial() {
  return Communicator();
}

MpiSession::MpiSession(int& argc, char**& argv) {
  int provided = 0;
  // Only the main thread calls MPI; OpenMP threads never do.
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Communicator::Communicator(MPI_Comm comm) : comm_(comm) {
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

void Communicator::send(int destination, int tag, const std::vector<std::uint8_t>& bytes) const {
  require_peers(comm_, "send");
  check(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, destination, tag, comm_),
        "MPI_Send");
}

std::optional<Envelope> Communicator::poll() const {
  if (comm_ == MPI_COMM_NULL) return std::nullopt;
  int flag = 0;
  MPI_Status status;
  check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, &status), "MPI_Iprobe");
  if (!flag) return std::nullopt;
  return Envelope{status.MPI_SOURCE, status.MPI_TAG};
}

std::vector<std::uint8_t> Communicator::receive(const Envelope& envelope) const {
  require_peers(comm_, "receive");
  MPI_Status status;
  check(MPI_Probe(envelope.source, envelope.tag, comm_, &status), "MPI_Probe");
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(count));
  check(MPI_Recv(bytes.data(), count, MPI_BYTE, envelope.source, envelope.tag, comm_,
                 MPI_STATUS_IGNORE),
        "MPI_Recv");
  return bytes;
}

void Communicator::broadcast(std::vector<std::uint8_t>& bytes, int root) const {
  if (comm_ == MPI_COMM_NULL) return;
  std::uint64_t size = bytes.size();
  check(MPI_Bcast(&size, 1, MPI_UINT64_T, root, comm_), "MPI_Bcast");
  bytes.resize(size);
  if (size > 0)
    check(MPI_Bcast(bytes.data(), static_cast<int>(size), MPI_BYTE, root, comm_), "MPI_Bcast");
}

int Communicator::all_max(int value) const {
  if (comm_ == MPI_COMM_NULL) return value;
  int result = 0;
  check(MPI_Allreduce(&value, &result, 1, MPI_INT, MPI_MAX, comm_), "MPI_Allreduce");
  return result;
}

int Communicator::all_min(int value) const {
  if (comm_ == MPI_COMM_NULL) return value;
  int result = 0;
  check(MPI_Allreduce(&value, &result, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
  return result;
}

}  // namespace icl
