#pragma once
/// SIGTERM, SIGINT and SIGUSR1 ask a run to stop: finish nothing new, commit what is done, exit 75.
namespace icl {
void install_stop_handlers();
bool stop_requested();
/// The signal that asked to stop (0 if none).
int stop_signal();
}  // namespace icl
