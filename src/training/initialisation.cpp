#include "training/initialisation.hpp"

#include "core/rng.hpp"

namespace icl {

LsaParameters assumption33_initialisation(int dim, double sigma, std::uint64_t seed,
                                          std::uint64_t setting) {
  RandomStream random(seed, {setting, 0, Stream::parameters});
  Eigen::MatrixXd theta(dim, dim);
  random.fill_normal(theta);
  Eigen::MatrixXd theta_theta = theta * theta.transpose();
  theta_theta /= theta_theta.norm();
  LsaParameters parameters = LsaParameters::zero(dim);
  parameters.value_projection(dim, dim) = sigma;
  parameters.key_query.topLeftCorner(dim, dim) = sigma * theta_theta;
  return parameters;
}

LsaParameters dense_gaussian_initialisation(int dim, double sigma, std::uint64_t seed,
                                            std::uint64_t setting) {
  RandomStream random(seed, {setting, 1, Stream::parameters});
  LsaParameters parameters = LsaParameters::zero(dim);
  random.fill_normal(parameters.value_projection);
  random.fill_normal(parameters.key_query);
  parameters.value_projection *= sigma;
  parameters.key_query *= sigma;
  return parameters;
}

}  // namespace icl
