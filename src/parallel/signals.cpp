#include "parallel/signals.hpp"

#include <csignal>
#include <initializer_list>

namespace icl {
namespace {
volatile std::sig_atomic_t received_signal = 0;
extern "C" void on_stop_signal(int signal) {
  received_signal = signal;
}
}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGTERM, SIGINT, SIGUSR1}) sigaction(signal, &action, nullptr);
}

bool stop_requested() {
  return received_signal != 0;
}
int stop_signal() {
  return received_signal;
}

}  // namespace icl
