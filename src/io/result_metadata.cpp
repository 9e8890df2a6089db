#include "io/result_metadata.hpp"

#include <array>
#include <numeric>
#include <string_view>

namespace icl {
namespace {

struct ColumnText {
  std::string_view name, long_name, units, description;
};

// CF units: "1" for dimensionless numbers and counts, "s" for seconds. Risks are in units of y²
// (the squared label), which the description says; the labels themselves are dimensionless.
constexpr std::array point_columns = {
    ColumnText{"d", "input dimension", "1", "dimension d of the inputs x"},
    ColumnText{"N", "training prompt length", "1", "examples per prompt the model was trained on"},
    ColumnText{"M", "test prompt length", "1", "examples per prompt at evaluation"},
    ColumnText{"shift", "test-time shift", "",
               "the distribution shift applied at evaluation (none, task-scale=a, ...)"},
    ColumnText{"covariance", "input covariance", "", "the training inputs' covariance spec"},
    ColumnText{"task", "task", "", "how labels depend on inputs (linear, relu, ...)"},
    ColumnText{"model", "model", "", "lsa (one layer), lsa-L or softmax-L-H"},
    ColumnText{"training", "training variant", "",
               "the sweep label of the model's training settings (empty without a sweep)"},
    ColumnText{"replicate", "replicate", "1", "which independent training run of its setting"},
    ColumnText{"optimiser", "optimiser", "", "flow, closed-form, sgd or adam"},
    ColumnText{"learning_rate", "learning rate", "1", "minibatch learning rate (NaN: none)"},
    ColumnText{"batch", "batch size", "1", "prompts per minibatch step (0: none)"},
    ColumnText{"steps", "training steps", "1", "minibatch steps (0: none)"},
    ColumnText{"warmup_fraction", "warm-up fraction", "1",
               "fraction of the steps with a rising learning rate (NaN: none)"},
    ColumnText{"schedule", "learning-rate schedule", "", "constant or step"},
    ColumnText{"decay_every", "decay interval", "1", "steps between step-schedule decays"},
    ColumnText{"decay_factor", "decay factor", "1", "step-schedule learning-rate factor"},
    ColumnText{"sigma", "initial scale", "1", "scale of the initial weights"},
    ColumnText{"init", "initialisation", "", "assumption-3.3 or dense (one layer, minibatch)"},
    ColumnText{"model_key", "model key", "", "the point's trained model, /models/<model_key>"},
    ColumnText{"status", "point status", "1", "0 pending, 1 done, 2 eliminated by halving"},
    ColumnText{"seconds", "evaluation time", "s", "wall time of the point's evaluation"},
    ColumnText{"estimated_seconds", "estimated evaluation time", "s",
               "the cost model's estimate for the point on one core"},
    ColumnText{"theory_source", "source of the closed form", "",
               "closed-form, monte-carlo (task moments estimated) or none"},
    ColumnText{"sampler", "estimator", "", "plain or sufficient (the Monte Carlo estimator)"},
};

constexpr std::array estimate_columns = {
    ColumnText{"risk", "test risk", "1",
               "Monte Carlo mean of the squared error (y_hat - y_q)^2, in units of y^2"},
    ColumnText{"stderr", "standard error of the risk", "1",
               "standard error of the Monte Carlo mean, in units of y^2"},
    ColumnText{"prompts", "prompts", "1", "prompts behind the estimate (0: not evaluated)"},
    ColumnText{"skewness", "skewness of the squared errors", "1",
               "sample skewness g1 of the values behind the estimate"},
    ColumnText{"excess_kurtosis", "excess kurtosis of the squared errors", "1",
               "sample excess kurtosis of the values behind the estimate"},
};

void describe(const h5::Handle& dataset, const ColumnText& text, bool strings) {
  h5::write_attribute(dataset, "long_name", std::string(text.long_name));
  if (!text.units.empty()) h5::write_attribute(dataset, "units", std::string(text.units));
  h5::write_attribute(dataset, "description", std::string(text.description));
  // xarray decodes fixed-length byte strings to str when told their encoding.
  if (strings) h5::write_attribute(dataset, "_Encoding", std::string("utf-8"));
}

bool is_string_column(std::string_view name) {
  for (std::string_view text : {"shift", "covariance", "task", "model", "training", "optimiser",
                                "schedule", "init", "model_key", "theory_source", "sampler"})
    if (name == text) return true;
  return false;
}

}  // namespace

void describe_result_tables(const h5::Handle& file, const ResultData& data) {
  // The point dimension: a coordinate 0 ... P−1 at the root, visible from every group.
  std::vector<std::int64_t> index(data.points.size());
  std::iota(index.begin(), index.end(), 0);
  h5::write_integers(file, "point", index);
  h5::Handle point = h5::open_dataset(file, "point");
  h5::make_dimension_scale(point, "point");
  describe(point, {"point", "point index", "1", "row of /points, /estimates and /theory"}, false);

  h5::Handle points = h5::open_group(file, "points");
  for (const auto& column : point_columns) {
    h5::Handle dataset = h5::open_dataset(points, std::string(column.name));
    describe(dataset, column, is_string_column(column.name));
    h5::attach_dimension_scale(dataset, point);
  }
  h5::Handle status = h5::open_dataset(points, "status");
  h5::write_attribute(status, "flag_values", std::vector<std::int64_t>{0, 1, 2});
  h5::write_attribute(status, "flag_meanings", std::string("pending done eliminated"));

  // The predictors: their own dimension (the list is its own coordinate).
  h5::Handle predictors = h5::open_dataset(file, "predictors");
  h5::make_dimension_scale(predictors, "predictors");
  describe(predictors, {"predictors", "predictor", "", "the configured predictors, in order"},
           true);

  h5::Handle estimates = h5::open_group(file, "estimates");
  h5::Handle theory = h5::open_group(file, "theory");
  for (const auto& predictor : data.predictors) {
    h5::Handle group = h5::open_group(estimates, predictor.name);
    for (const auto& column : estimate_columns) {
      h5::Handle dataset = h5::open_dataset(group, std::string(column.name));
      describe(dataset, column, false);
      h5::attach_dimension_scale(dataset, point);
    }
    h5::Handle closed_form = h5::open_dataset(theory, predictor.name);
    describe(closed_form,
             {"", "closed-form risk", "1",
              "the theory's expected squared error at the point (NaN: none), in units of y^2"},
             false);
    h5::attach_dimension_scale(closed_form, point);
  }
}

bool is_integer_model_attribute(const std::string& name) {
  for (std::string_view integer : {"converged", "steps", "depth", "heads", "replicate", "batch",
                                   "decay_every", "trained_steps", "eliminated_at_steps",
                                   "diverged_before_steps", "state_steps_since_record"})
    if (name == integer) return true;
  return false;
}

}  // namespace icl
