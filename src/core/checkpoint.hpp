#pragma once
/// Long serial loops of the core and of training (a training step, a block of Monte Carlo task
/// moments, an integrator step) pass through checkpoint() between items. What it does is the
/// program's business, installed once by the command line: stop when a signal asked for it (by
/// throwing icl::Interrupted, exit 75) and report progress. The core knows nothing of signals or
/// terminals; by default a checkpoint does nothing.
#include <string_view>

namespace icl {

/// `phase` says what is running ("training d=5;N=10;...", "closed forms: task moments"); `done`
/// of `total` items are finished. May throw icl::Interrupted; never called inside an OpenMP
/// parallel region by the loops that use it.
using CheckpointHandler = void (*)(std::string_view phase, double done, double total);

void set_checkpoint_handler(CheckpointHandler handler);

inline CheckpointHandler& checkpoint_handler() {
  static CheckpointHandler handler = nullptr;
  return handler;
}

inline void checkpoint(std::string_view phase, double done, double total) {
  if (const CheckpointHandler handler = checkpoint_handler()) handler(phase, done, total);
}

inline void set_checkpoint_handler(CheckpointHandler handler) {
  checkpoint_handler() = handler;
}

}  // namespace icl
