/// icl-study: the command line. Maps the error family (core/errors.hpp) to exit codes: 2 bad
/// input, 3 I/O or resource failure, 4 numerical failure, 75 stopped by a signal; every error is
/// one line on stderr.
#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "core/philox_blocks.hpp"
#include "parallel/communicator.hpp"
#include "study/provenance.hpp"
#include "training/batched_gradients.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <string>

int main(int argc, char** argv) {
  CLI::App app{"icl-study: in-context learning of linear models by trained transformers"};
  app.set_version_flag("--version", "icl-study " + icl::program_version());
  app.require_subcommand(1);
  std::map<const CLI::App*, icl::CommandAction> actions;
  auto add = [&](icl::CommandAction action) {
    actions[app.get_subcommands({}).back()] = std::move(action);
  };
  add(icl::register_validate_command(app));
  add(icl::register_plan_command(app));
  add(icl::register_run_command(app));
  add(icl::register_train_command(app));
  add(icl::register_merge_command(app));
  add(icl::register_info_command(app));
  add(icl::register_export_command(app));
  add(icl::register_select_command(app));
  add(icl::register_theory_command(app));
  add(icl::register_shifts_command(app));

  // CLI11 answers an unknown first word with "A subcommand is required", not naming it.
  if (argc > 1 && argv[1][0] != '-') {
    std::string names;
    bool known = false;
    for (const auto* command : app.get_subcommands({})) {
      names += (names.empty() ? "" : ", ") + command->get_name();
      known = known || command->get_name() == argv[1];
    }
    if (!known) {
      std::cerr << "icl-study: unknown command " << icl::quote(argv[1]) << ", expected one of "
                << names << " (see --help)\n";
      return icl::exit_code::bad_input;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "icl-study: " << icl::one_line(e.what()) << " (see --help)\n";
    return icl::exit_code::bad_input;
  }

  std::optional<icl::MpiSession> mpi;
  icl::CommandContext context;
  context.with_world = [&](const std::function<int(const icl::Communicator&)>& body) {
    if (!icl::launched_by_mpi()) return body(icl::Communicator::serial());
    mpi.emplace(argc, argv);
    const icl::Communicator world(MPI_COMM_WORLD);
    return body(world);
  };
  try {
    // A bad ICL_PHILOX_PATH or ICL_KERNEL_PATH stops here, before any work.
    icl::active_philox_path();
    icl::active_kernel_path();
    for (auto& [command, action] : actions)
      if (command->parsed()) return action(context);
    return icl::exit_code::bad_input;
  } catch (const icl::Error& e) {
    std::cerr << "icl-study: " << icl::one_line(e.what()) << '\n';
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::cerr << "icl-study: " << icl::out_of_memory_message << '\n';
    return icl::exit_code::io_failure;
  } catch (const std::exception& e) {
    std::cerr << "icl-study: internal error: " << icl::one_line(e.what()) << '\n';
    return icl::exit_code::internal_error;
  }
}
