#include "study/config.hpp"

#include "core/covariance.hpp"
#include "core/deep_lsa.hpp"
#include "core/errors.hpp"
#include "core/parse.hpp"
#include "core/predictors.hpp"
#include "core/prompt.hpp"
#include "core/shift.hpp"
#include "io/files.hpp"
#include "study/limits.hpp"
#include "training/reduced_loss.hpp"

#include "study/config_section.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>

namespace icl {
namespace {

/// Assumption 3.3 for every one-layer setting the gradient flow will train, checked now rather
/// than when that setting's turn comes in the middle of a run.
void check_flow_initialisation(const StudyConfig& config, double sigma, Section& training) {
  std::set<std::tuple<int, int, std::string>> checked;
  for (const auto& grid : config.grids) {
    if (std::find(grid.model.begin(), grid.model.end(), "lsa") == grid.model.end()) continue;
    for (const int dim : grid.dim)
      for (const int length : grid.train_length)
        for (const auto& spec : grid.covariance) {
          if (!checked.emplace(dim, length, spec).second) continue;
          // ‖Γ‖ depends on Λ's eigenvalues alone, which a rotation keeps: the inner spec is
          // enough, and spares a d x d Haar rotation per level (seconds at d = 2000).
          std::string_view inner = spec;
          while (inner.substr(0, 8) == "rotated:") inner.remove_prefix(8);
          const Covariance covariance = Covariance::parse(inner, dim, config.seed);
          try {
            check_flow_sigma(sigma, ReducedLoss::gamma_operator_norm(covariance, length),
                             covariance, length);
          } catch (const ConfigError& e) {
            const std::string reason = std::string(e.what()).substr(std::string("sigma = ").size());
            training.fail("sigma", reason + (training.has("sigma") ? ""
                                                                   : " (sigma not set: the "
                                                                     "default)"));
          }
        }
  }
}

/// The keys `[training]` (sgd, adam) and `[models]` share; `[models]` also has a warm-up.
void parse_minibatch(Section& section, MinibatchOptions& options, bool warmup) {
  options.sigma = section.number_or("sigma", options.sigma, 0.0, 1e3, true);
  options.steps =
      static_cast<std::uint32_t>(section.integer_or("steps", options.steps, 1, 100000000));
  options.batch =
      static_cast<std::uint32_t>(section.integer_or("batch", options.batch, 1, 1 << 24));
  options.learning_rate = section.number_or("learning_rate", options.learning_rate, 0.0, 1e6, true);
  if (warmup)
    options.warmup_fraction =
        section.number_or("warmup_fraction", options.warmup_fraction, 0.0, 1.0, false);
  const std::string schedule = section.choice("schedule", "constant", {"constant", "step"});
  if (schedule == "step") {
    options.decay_every = static_cast<std::uint32_t>(section.integer("decay_every", 1, 100000000));
    options.decay_factor = section.number_or("decay_factor", options.decay_factor, 0.0, 1.0, true);
  }
  if (auto problem = minibatch_budget_problem(options.steps, options.batch))
    section.fail("steps", *problem);
}

void parse_training(Section& section, TrainingConfig& training) {
  const std::string method =
      section.choice("method", "flow", {"flow", "sgd", "adam", "closed-form"});
  if (method == "flow") {
    training.method = TrainingMethod::flow;
    auto& flow = training.flow;
    flow.sigma = section.number_or("sigma", flow.sigma, 0.0, 1e3, true);
    flow.tolerance = section.number_or("tolerance", flow.tolerance, 0.0, 1.0, true);
    flow.max_time = section.number_or("max_time", flow.max_time, 0.0, 1e12, true);
  } else if (method == "sgd" || method == "adam") {
    training.method = method == "sgd" ? TrainingMethod::sgd : TrainingMethod::adam;
    auto& s = training.stochastic;
    s.optimiser = method == "sgd" ? Optimiser::sgd : Optimiser::adam;
    parse_minibatch(section, s, false);
    const std::string init = section.choice("init", "assumption-3.3", {"assumption-3.3", "dense"});
    s.init = init == "dense" ? Initialisation::dense : Initialisation::assumption33;
  } else {
    training.method = TrainingMethod::closed_form;
  }
}

/// [models]: Adam for the deeper models (optional; every key has a default).
void parse_models(Section& section, DeepTrainingOptions& options) {
  parse_minibatch(section, options, true);
}

/// `[sweep] strategy`, `eta`, `min_steps`, `max_steps`. Under halving every minibatch run's length
/// is max_steps (its warm-up and schedule are those of the whole run, so a candidate stopped at a
/// rung and continued later is the same model): a `steps` key is then an error, not overridden.
void parse_halving(Section& sweep, StudyConfig& config, const toml::table* training,
                   const toml::table* models) {
  const std::string strategy = sweep.choice("strategy", "grid", {"grid", "halving"});
  config.sweep.halving = strategy == "halving";
  if (!config.sweep.halving) {
    for (const char* key : {"eta", "min_steps", "max_steps"})
      if (sweep.has(key)) sweep.fail(key, "applies only with strategy = \"halving\"");
    return;
  }
  config.sweep.eta = static_cast<int>(sweep.integer_or("eta", config.sweep.eta, 2, 1000));
  config.sweep.max_steps = static_cast<std::uint32_t>(sweep.integer("max_steps", 1, 100000000));
  config.sweep.min_steps = static_cast<std::uint32_t>(sweep.integer("min_steps", 1, 100000000));
  if (config.sweep.min_steps > config.sweep.max_steps)
    sweep.fail("min_steps",
               "expected at most max_steps = " + std::to_string(config.sweep.max_steps) + ", got " +
                   std::to_string(config.sweep.min_steps));
  bool minibatch = false;
  for (const auto& grid : config.grids)
    for (const auto& model : grid.model) minibatch = minibatch || model != "lsa";
  for (const auto& variant : config.training_variants)
    minibatch = minibatch || trains_on_configured_task(variant.options.method);
  if (!minibatch)
    sweep.fail("strategy",
               "successive halving needs models trained by sgd or adam (lsa-L or "
               "softmax-L-H models, or [training] method = \"sgd\" or \"adam\")");
  auto set_steps = [&](const toml::table* table, const char* name, MinibatchOptions& options) {
    if (table && table->contains("steps"))
      sweep.fail("strategy", std::string("halving sets the steps of every run to max_steps; "
                                         "remove [") +
                                 name + "] steps");
    options.steps = config.sweep.max_steps;
    if (auto problem = minibatch_budget_problem(options.steps, options.batch))
      sweep.fail("max_steps", *problem);
  };
  for (auto& variant : config.training_variants)
    if (trains_on_configured_task(variant.options.method))
      set_steps(training, "training", variant.options.stochastic);
  for (auto& variant : config.model_variants) set_steps(models, "models", variant.options);
  config.training = config.training_variants.front().options;
  config.models = config.model_variants.front().options;
}

/// One [grid] table (or one element of [[grid]]): lists whose Cartesian product is a block of
/// points.
/// The points a block (or, with `study_points`, the whole study) expands to must fit in memory
/// (limits::bytes_per_point each, half the memory at most): refused before the product is formed,
/// naming the longest list, the axis to shorten.
void check_grid_size(Section& grid, const GridConfig& config, double study_points = 0) {
  const std::pair<const char*, std::size_t> axes[] = {{"d", config.dim.size()},
                                                      {"N", config.train_length.size()},
                                                      {"M", config.test_length.size()},
                                                      {"shift", config.shift.size()},
                                                      {"covariance", config.covariance.size()},
                                                      {"task", config.task.size()},
                                                      {"model", config.model.size()}};
  double points = 1;
  const char* longest = "d";
  std::size_t longest_size = 0;
  for (const auto& [name, size] : axes) {
    points *= static_cast<double>(size);
    if (size > longest_size) longest = name, longest_size = size;
  }
  const double total = std::max(points, study_points);
  const double budget = limits::available_memory_bytes() / 2;
  if (total * limits::bytes_per_point > budget) {
    std::ostringstream message;
    message << (study_points > 0 ? "the study" : "this block") << " expands to " << total
            << " grid points, more than the " << std::floor(budget / limits::bytes_per_point)
            << " that fit in half of this machine's memory (" << budget * 2 / 1e9
            << " GB); shorten the list (" << longest_size << " values) or split the study";
    grid.fail(longest, message.str());
  }
}

GridConfig parse_grid(Section& grid, std::uint64_t seed,
                      const std::vector<std::string>& evaluated_predictors) {
  GridConfig config;
  config.dim = grid.integer_list("d", 1, limits::max_dim);
  config.train_length = grid.integer_list("N", 1, limits::max_length);
  config.test_length = grid.integer_list("M", 1, limits::max_length);
  config.shift = grid.has("shift") ? grid.string_list("shift") : std::vector<std::string>{"none"};
  config.covariance = grid.string_list("covariance");
  config.task = grid.has("task") ? grid.string_list("task") : std::vector<std::string>{"linear"};
  config.model = grid.has("model") ? grid.string_list("model") : std::vector<std::string>{"lsa"};
  if (grid.has("predictors")) {
    config.predictors = grid.string_list("predictors");
    for (const auto& name : config.predictors)
      if (std::find(evaluated_predictors.begin(), evaluated_predictors.end(), name) ==
          evaluated_predictors.end())
        grid.fail("predictors", "'" + name + "' is not one of [evaluation] predictors (" +
                                    join(evaluated_predictors, ", ") + ")");
  }
  check_grid_size(grid, config);
  for (const auto& text : config.model) {
    try {
      model_depth(text);
    } catch (const ConfigError& e) {
      grid.fail("model", e.what());
    }
  }
  std::vector<Task> tasks;
  for (const auto& text : config.task) {
    try {
      tasks.push_back(Task::parse(text));
    } catch (const ConfigError& e) {
      grid.fail("task", e.what());
    }
  }
  std::vector<Shift> shifts;
  for (const auto& text : config.shift) {
    try {
      shifts.push_back(Shift::parse(text));
    } catch (const ConfigError& e) {
      grid.fail("shift", e.what());
    }
  }
  for (const auto& spec : config.covariance)
    for (int dim : config.dim) {
      std::optional<Covariance> covariance;
      try {
        covariance = Covariance::parse(spec, dim, seed);
      } catch (const ConfigError& e) {
        grid.fail("covariance", std::string(e.what()) + " (d = " + std::to_string(dim) + ")");
      }
      for (const auto& shift : shifts) {
        try {
          for (const auto& task : tasks) PromptLaw::shifted(*covariance, shift, seed, task);
        } catch (const ConfigError& e) {
          grid.fail("shift", std::string(e.what()) + " (d = " + std::to_string(dim) +
                                 ", covariance " + spec + ")");
        }
      }
    }
  grid.reject_unknown_keys();
  return config;
}

StudyConfig parse_config_table(const toml::table& root, const std::string& text,
                               const std::string& source);

}  // namespace

StudyConfig parse_config_file(const std::string& path, const std::vector<std::string>& overrides) {
  const auto bytes = read_regular_file(path, max_config_bytes, "config file");
  return parse_config_text(std::string(bytes.begin(), bytes.end()), path, overrides);
}

StudyConfig parse_config_text(const std::string& text, const std::string& source,
                              const std::vector<std::string>& overrides) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream out;
    out << source << ':' << e.source().begin.line << ": malformed TOML: " << e.description();
    throw ConfigError(out.str());
  }
  if (overrides.empty()) return parse_config_table(root, text, source);
  apply_overrides(root, overrides);
  // Validated as given (errors in an overridden value say so), then stored as the effective
  // config: the file's text alone reproduces the run, on every rank and for --resume.
  StudyConfig config = parse_config_table(root, text, source);
  std::ostringstream effective;
  effective << "# " << source << " with";
  for (const auto& item : overrides) effective << " --set " << item;
  effective << "\n" << root << "\n";
  config.text = effective.str();
  return config;
}

namespace {

StudyConfig parse_config_table(const toml::table& root, const std::string& text,
                               const std::string& source) {
  StudyConfig config;
  config.source = source;
  config.text = text;
  for (auto&& [key, value] : root) {
    const std::string name(key.str());
    if (name != "study" && name != "grid" && name != "training" && name != "evaluation" &&
        name != "models" && name != "sweep")
      throw ConfigError(source + ':' + std::to_string(value.source().begin.line) +
                        ": unknown section [" + name +
                        "], expected [study], [grid], [training], [models], [sweep], [evaluation]");
    if (!value.is_table() && !(name == "grid" && value.is_array_of_tables()))
      throw ConfigError(source + ':' + std::to_string(value.source().begin.line) + ": '" + name +
                        "' must be a section ([" + name + "])");
  }
  auto table = [&](const char* name) { return root[name].as_table(); };

  Section study(table("study"), "study", source);
  config.name = study.string("name");
  if (config.name.empty()) study.fail("name", "expected a non-empty string");
  config.seed = static_cast<std::uint64_t>(study.integer("seed", 0, INT64_MAX));
  config.prompts = static_cast<std::uint32_t>(study.integer("prompts", 2, 1000000000));
  const std::string sampler = study.choice("sampler", "auto", {"auto", "plain", "sufficient"});
  config.sampler = sampler == "plain"        ? SamplerChoice::plain
                   : sampler == "sufficient" ? SamplerChoice::sufficient
                                             : SamplerChoice::automatic;
  study.reject_unknown_keys();

  // [evaluation] first: a [grid] block may name a subset of its predictors.
  Section evaluation(table("evaluation"), "evaluation", source);
  config.predictors = evaluation.has("predictors")
                          ? evaluation.string_list("predictors")
                          : std::vector<std::string>{"lsa", "lsa-theory", "ols", "gd1", "zero"};
  for (const auto& name : config.predictors) {
    try {
      check_predictor_name(name, "predictor");
    } catch (const ConfigError& e) {
      evaluation.fail("predictors", e.what());
    }
  }
  evaluation.reject_unknown_keys();

  // [grid] is one block; [[grid]] several, whose points are joined (repeated points count once).
  const toml::node* grid_node = root.get("grid");
  if (!grid_node) throw ConfigError(source + ": [grid]: missing section");
  if (const auto* single = grid_node->as_table()) {
    Section grid(single, "grid", source);
    config.grids.push_back(parse_grid(grid, config.seed, config.predictors));
  } else if (const auto* blocks = grid_node->as_array()) {
    for (std::size_t i = 0; i < blocks->size(); ++i) {
      const auto* block = (*blocks)[i].as_table();
      if (!block)
        throw ConfigError(source + ": [[grid]] element " + std::to_string(i + 1) +
                          " is not a table");
      Section grid(block, "grid #" + std::to_string(i + 1), source);
      config.grids.push_back(parse_grid(grid, config.seed, config.predictors));
    }
    if (config.grids.empty()) throw ConfigError(source + ": [[grid]]: no blocks");
    double study_points = 0;
    for (std::size_t i = 0; i < config.grids.size(); ++i) {
      const auto& g = config.grids[i];
      study_points += static_cast<double>(g.dim.size()) * g.train_length.size() *
                      g.test_length.size() * g.shift.size() * g.covariance.size() * g.task.size() *
                      g.model.size();
    }
    Section last(blocks->back().as_table(), "grid #" + std::to_string(blocks->size()), source);
    check_grid_size(last, config.grids.back(), study_points);
  }

  config.training_variants = parse_variants<TrainingConfig>(
      table("training"), "training", source,
      [&](Section& section, TrainingConfig& training) {
        parse_training(section, training);
        if (training.method == TrainingMethod::flow)
          check_flow_initialisation(config, training.flow.sigma, section);
      },
      // Keys of another method are unknown here: say so, rather than ignore them.
      " for method = \"" + first_string(table("training"), "method", "flow") + "\"");
  config.training = config.training_variants.front().options;
  for (const auto& variant : config.training_variants)
    if (trains_on_configured_task(variant.options.method) !=
            trains_on_configured_task(config.training.method) ||
        (variant.options.method == TrainingMethod::flow) !=
            (config.training.method == TrainingMethod::flow))
      Section(table("training"), "training", source)
          .fail("method", "a sweep of methods may mix sgd and adam only (their keys are the same)");
  config.model_variants =
      parse_variants<DeepTrainingOptions>(table("models"), "models", source, parse_models);
  config.models = config.model_variants.front().options;

  Section sweep(table("sweep"), "sweep", source);
  config.sweep.replicates =
      static_cast<int>(sweep.integer_or("replicates", config.sweep.replicates, 1, 1000));
  config.sweep.validation_prompts = static_cast<std::uint32_t>(
      sweep.integer_or("validation_prompts", config.sweep.validation_prompts, 2, 100000000));
  parse_halving(sweep, config, table("training"), table("models"));
  sweep.reject_unknown_keys();

  return config;
}

}  // namespace

}  // namespace icl
