#include "study/checkpoints.hpp"

#include "core/checkpoint.hpp"
#include "core/errors.hpp"
#include "parallel/signals.hpp"

#include <omp.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace icl {
namespace {

bool reporting = false;
std::string process_label;
std::chrono::steady_clock::time_point last_report;

void on_checkpoint(std::string_view phase, double done, double total) {
  // An exception must not leave an OpenMP parallel region; the loops call from serial code, and
  // a call from inside one (a closed form computed by a worker thread) only reports.
  if (stop_requested() && !omp_in_parallel())
    throw Interrupted("stopped by signal during " + std::string(phase));
  if (!reporting || omp_in_parallel()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_report < std::chrono::seconds(10)) return;
  last_report = now;
  const std::string prefix = process_label.empty() ? "" : process_label + ": ";
  if (total > 0)
    std::fprintf(stderr, "icl-study: %s%.*s: %.0f of %.0f (%.0f%%)\n", prefix.c_str(),
                 static_cast<int>(phase.size()), phase.data(), done, total, 100.0 * done / total);
  else
    std::fprintf(stderr, "icl-study: %s%.*s %.0f\n", prefix.c_str(), static_cast<int>(phase.size()),
                 phase.data(), done);
}

}  // namespace

void install_checkpoints(bool report, const std::string& label) {
  reporting = report;
  process_label = label;
  // The first report comes after 10 s, not at once: short phases stay silent.
  last_report = std::chrono::steady_clock::now();
  set_checkpoint_handler(on_checkpoint);
}

}  // namespace icl
