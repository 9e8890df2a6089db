#define BOOST_TEST_MODULE parallel_communicator
#include <boost/test/unit_test.hpp>

#include "parallel/communicator.hpp"

#include <cstdlib>
#include <stdexcept>

using namespace icl;

BOOST_AUTO_TEST_CASE(the_serial_world_is_one_rank_without_peers) {
  // A command not started by an MPI launcher runs in this world without MPI_Init.
  const Communicator world = Communicator::serial();
  BOOST_TEST(world.rank() == 0);
  BOOST_TEST(world.size() == 1);
  std::vector<std::uint8_t> bytes = {1, 2, 3};
  world.broadcast(bytes, 0);
  BOOST_TEST((bytes == std::vector<std::uint8_t>{1, 2, 3}));
  BOOST_TEST(world.all_max(7) == 7);
  BOOST_TEST(world.all_min(-3) == -3);
  BOOST_TEST(!world.poll().has_value());
  // Nobody to talk to: a message is a bug in the caller, not something to wait for.
  BOOST_CHECK_THROW(world.send(0, 1, bytes), std::logic_error);
  BOOST_CHECK_THROW(world.receive({0, 1}), std::logic_error);
}

BOOST_AUTO_TEST_CASE(a_launcher_is_recognised_by_its_environment) {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                               "MPI_LOCALNRANKS", "SLURM_PROCID"})
    unsetenv(variable);
  BOOST_TEST(!launched_by_mpi());
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "SLURM_PROCID"}) {
    setenv(variable, "0", 1);
    BOOST_TEST(launched_by_mpi(), variable);
    unsetenv(variable);
  }
  BOOST_TEST(!launched_by_mpi());
}
