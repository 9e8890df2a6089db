#pragma once
/// The MPI environment (RAII: initialise once, finalise once) and a communicator wrapper that moves
/// byte messages. Only main names MPI_COMM_WORLD; everything else receives a Communicator.
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace icl {

/// Whether this process was started by an MPI launcher (mpirun, mpiexec, srun): one of the
/// variables Open MPI, PMI, PMIx or Slurm put in each launched process's environment is set. A
/// plain `icl-study run` is not, and runs without initialising MPI: as a one-rank world it needs
/// no peers, and Open MPI's singleton start (it spawns a daemon) costs about 0.35 s per command.
bool launched_by_mpi();

class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

struct Envelope {
  int source;
  int tag;
};

class Communicator {
 public:
  explicit Communicator(MPI_Comm comm);
  /// A world of one rank without MPI: collectives return their input, and there is nobody to
  /// send to or receive from (doing so is an internal error).
  static Communicator serial();
  int rank() const { return rank_; }
  int size() const { return size_; }

  void send(int destination, int tag, const std::vector<std::uint8_t>& bytes) const;
  /// A message waiting to be received, if any (non-blocking).
  std::optional<Envelope> poll() const;
  std::vector<std::uint8_t> receive(const Envelope& envelope) const;
  void broadcast(std::vector<std::uint8_t>& bytes, int root) const;
  int all_max(int value) const;
  int all_min(int value) const;

 private:
  Communicator() = default;
  MPI_Comm comm_ = MPI_COMM_NULL;  ///< MPI_COMM_NULL for the serial world
  int rank_ = 0, size_ = 1;
};

}  // namespace icl
