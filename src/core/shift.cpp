#include "core/shift.hpp"

#include "core/errors.hpp"
#include "core/parse.hpp"

namespace icl {

const std::vector<ShiftDescription>& shift_catalogue() {
  static const std::vector<ShiftDescription> catalogue = {
      {"none", ShiftFamily::none,
       "no shift: test prompts are drawn like training prompts (Garg: standard)"},
      {"task-scale=a", ShiftFamily::task,
       "the task w is multiplied by a (ZFB task shift; Ω = a² I)"},
      {"scale-y=a", ShiftFamily::task, "Garg's name for task-scale=a: every label multiplied by a"},
      {"noisy=s", ShiftFamily::task,
       "label noise N(0, s²) added to the prompt labels and to the query label; 'noisy' is noisy=1 "
       "(Garg)"},
      {"query-scale=c", ShiftFamily::query,
       "only the query input is multiplied by c (ZFB query shift; Q = c² Λ)"},
      {"query-cov=<spec>", ShiftFamily::query,
       "the query input is drawn from N(0, Λ_q), Λ_q the covariance spec"},
      {"scale-x=c", ShiftFamily::covariate,
       "every prompt and query input multiplied by c (ZFB covariate shift; Λ' = Q = c² Λ)"},
      {"test-cov=<spec>", ShiftFamily::covariate,
       "prompt and query inputs drawn from N(0, Λ_test)"},
      {"random-cov-scale=c", ShiftFamily::covariate,
       "each test prompt (and its query) has covariance c · diag(λ), λ_j iid Exp(1) (ZFB section "
       "4.3)"},
      {"skewed", ShiftFamily::covariate,
       "every input x ↦ A x, A = U diag(λ) Uᵀ with U Haar-random (fixed by the seed and d), λ_i ∝ "
       "1/i for i = 1…d (covariance eigenvalues ∝ 1/i² for identity inputs), scaled so that the "
       "shifted covariance has trace d (Garg)"},
      {"half-subspace", ShiftFamily::covariate,
       "as skewed with λ = (1, …, 1, 0, …, 0), ⌊d/2⌋ ones: inputs in a random ⌊d/2⌋-dimensional "
       "subspace, "
       "trace renormalised to d (Garg)"},
      {"random-quadrants", ShiftFamily::covariate,
       "one random sign pattern s per prompt; each prompt input x ↦ |x| ⊙ s (all in one orthant); "
       "the "
       "query is not shifted (Garg)"},
      {"orthogonal-query", ShiftFamily::query,
       "the query is projected onto the orthogonal complement of span(x_1 … x_M) and rescaled to "
       "its "
       "original norm (Garg; meaningful for M < d)"},
      {"overlapping-query", ShiftFamily::query,
       "the query is a copy of one of the prompt's inputs, chosen uniformly (Garg)"},
  };
  return catalogue;
}

const char* to_string(ShiftFamily family) {
  switch (family) {
    case ShiftFamily::none:
      return "none";
    case ShiftFamily::task:
      return "task";
    case ShiftFamily::query:
      return "query";
    case ShiftFamily::covariate:
      return "covariate";
  }
  return "?";
}

Shift Shift::parse(std::string_view text) {
  Shift shift;
  shift.text = std::string(text);
  const auto equals = text.find('=');
  const std::string_view name = text.substr(0, equals);
  const std::string_view argument =
      equals == std::string_view::npos ? std::string_view() : text.substr(equals + 1);
  const bool has_argument = equals != std::string_view::npos;
  const std::string what = "shift " + quote(std::string(text));
  // Scales and noise levels beyond 10^6 (or a positive scale below 10^-6) overflow or underflow
  // the squared errors: refused here, where the key can still be named, not at evaluation.
  auto number = [&](bool positive) {
    const double value = parse_finite_double(argument, what);
    if (positive && !(value >= shift_parameter_min && value <= shift_parameter_max))
      throw ConfigError(what + ": expected a value in [1e-06, 1e+06]");
    if (!positive && !(value >= 0.0 && value <= shift_parameter_max))
      throw ConfigError(what + ": expected a value in [0, 1e+06]");
    return value;
  };
  struct Plain {
    std::string_view name;
    ShiftKind kind;
    ShiftFamily family;
  };
  static constexpr Plain plain[] = {
      {"none", ShiftKind::none, ShiftFamily::none},
      {"standard", ShiftKind::none, ShiftFamily::none},
      {"skewed", ShiftKind::skewed, ShiftFamily::covariate},
      {"half-subspace", ShiftKind::half_subspace, ShiftFamily::covariate},
      {"random-quadrants", ShiftKind::random_quadrants, ShiftFamily::covariate},
      {"orthogonal-query", ShiftKind::orthogonal_query, ShiftFamily::query},
      {"overlapping-query", ShiftKind::overlapping_query, ShiftFamily::query},
  };
  if (!has_argument) {
    for (const auto& p : plain)
      if (name == p.name) {
        shift.kind = p.kind;
        shift.family = p.family;
        return shift;
      }
    if (name == "noisy") {
      shift.kind = ShiftKind::noisy;
      shift.family = ShiftFamily::task;
      return shift;
    }
  } else if (name == "task-scale" || name == "scale-y") {
    shift = {shift.text, ShiftKind::task_scale, number(false), "", ShiftFamily::task};
    return shift;
  } else if (name == "noisy") {
    shift = {shift.text, ShiftKind::noisy, number(false), "", ShiftFamily::task};
    return shift;
  } else if (name == "query-scale") {
    shift = {shift.text, ShiftKind::query_scale, number(true), "", ShiftFamily::query};
    return shift;
  } else if (name == "scale-x") {
    shift = {shift.text, ShiftKind::scale_x, number(true), "", ShiftFamily::covariate};
    return shift;
  } else if (name == "random-cov-scale") {
    shift = {shift.text, ShiftKind::random_cov_scale, number(true), "", ShiftFamily::covariate};
    return shift;
  } else if (name == "query-cov" || name == "test-cov") {
    if (argument.empty()) throw ConfigError(what + ": expected a covariance spec after '='");
    shift.kind = name == "query-cov" ? ShiftKind::query_cov : ShiftKind::test_cov;
    shift.family = name == "query-cov" ? ShiftFamily::query : ShiftFamily::covariate;
    shift.spec = std::string(argument);
    return shift;
  }
  std::vector<std::string> valid;
  for (const auto& entry : shift_catalogue()) valid.push_back(entry.syntax);
  throw ConfigError(what + ": unknown shift, expected one of " + join(valid, ", "));
}

}  // namespace icl
