#pragma once
/// The MPI environment (RAII: initialise once, finalise once) and a communicator wrapper that moves
/// byte messages. Only main names MPI_COMM_WORLD; everything else receives a Communicator.
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace icl {

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
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace icl
