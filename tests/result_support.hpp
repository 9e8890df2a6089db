#pragma once
/// Result tables for the tests and benchmarks of the result file and its journal: every column
/// filled as a run fills it, without running one.
#include "io/result_file.hpp"

#include <cmath>
#include <cstddef>

namespace icl::testing {

/// A result of `points` pending points with two predictors (every column filled).
inline ResultData synthetic_result(std::size_t points) {
  ResultData data;
  data.provenance.version = "test";
  data.provenance.config = "[study]\n";
  auto& table = data.points;
  for (std::size_t i = 0; i < points; ++i) {
    table.dim.push_back(3);
    table.train_length.push_back(10);
    table.test_length.push_back(static_cast<std::int64_t>(10 + i));
    table.shift.push_back("none");
    table.covariance.push_back(i % 2 ? "identity" : "power:1");
    table.task.push_back("linear");
    table.model.push_back("lsa");
    table.training.push_back("");
    table.replicate.push_back(0);
    table.optimiser.push_back("closed-form");
    table.learning_rate.push_back(NAN);
    table.batch.push_back(0);
    table.steps.push_back(0);
    table.warmup_fraction.push_back(NAN);
    table.schedule.push_back("");
    table.decay_every.push_back(0);
    table.decay_factor.push_back(NAN);
    table.sigma.push_back(NAN);
    table.init.push_back("");
    table.model_key.push_back("d=3;N=10;covariance=identity;task=linear");
    table.status.push_back(point_status::pending);
    table.seconds.push_back(0);
    table.estimated_seconds.push_back(0.001);
    table.theory_source.push_back("closed-form");
    table.sampler.push_back("sufficient");
  }
  for (const char* name : {"lsa", "zero"}) {
    auto columns = PredictorColumns::empty(name, points);
    columns.theory.assign(points, 1.5);
    data.predictors.push_back(columns);
  }
  return data;
}

/// Point `i` finished, with values that tell points and predictors apart.
inline void finish_point(ResultData& data, std::size_t i) {
  data.points.status[i] = point_status::done;
  data.points.seconds[i] = 0.01 * static_cast<double>(i);
  for (std::size_t p = 0; p < data.predictors.size(); ++p) {
    auto& columns = data.predictors[p];
    columns.risk[i] = 1.0 + static_cast<double>(i) + 0.25 * static_cast<double>(p);
    columns.standard_error[i] = 0.01;
    columns.prompts[i] = 256;
    columns.skewness[i] = 2.0;
    columns.excess_kurtosis[i] = 6.0;
  }
}

}  // namespace icl::testing
