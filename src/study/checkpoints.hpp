#pragma once
/// The command line's answer to the core's checkpoints (core/checkpoint.hpp): a stop signal turns
/// into icl::Interrupted at the next checkpoint of a training or precomputation loop, and long
/// phases report their progress on stderr.
#include <string>

namespace icl {

/// `report`: print "<label>: <phase>: <done> of <total> (<pct>%)" at most every 10 s. `label`
/// names the process ("rank 1"); empty for a serial command.
void install_checkpoints(bool report, const std::string& label);

}  // namespace icl
