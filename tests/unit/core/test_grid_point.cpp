#define BOOST_TEST_MODULE core_grid_point
#include <boost/test/unit_test.hpp>

#include "core/errors.hpp"
#include "core/grid_point.hpp"
#include "test_support.hpp"

using namespace icl;

BOOST_AUTO_TEST_CASE(every_axis_is_parsed_once_into_its_object) {
  const GridPoint point = make_grid_point(5, 10, 20, "query-scale=2", testing::reference_diag,
                                          "sparse:2+noise=0.5", "lsa-3", 7);
  BOOST_TEST(point.inputs->dim() == 5);
  BOOST_TEST(point.inputs->spec() == testing::reference_diag);
  BOOST_TEST((point.task_law.kind == TaskKind::sparse));
  BOOST_TEST(point.task_law.noise_std == 0.5);
  BOOST_TEST(point.model_spec.depth == 3);
  // The test law is the training covariance changed by the shift, as PromptLaw::shifted builds it.
  const PromptLaw law = point.test_law(7);
  const PromptLaw expected = PromptLaw::shifted(*point.inputs, Shift::parse("query-scale=2"), 7,
                                                Task::parse("sparse:2+noise=0.5"));
  BOOST_TEST(law.query_scale == 2.0);
  BOOST_TEST(law.query_scale == expected.query_scale);
  BOOST_TEST(law.noise_std == expected.noise_std);
  BOOST_TEST((law.inputs.matrix() - expected.inputs.matrix()).norm() == 0.0);
}

BOOST_AUTO_TEST_CASE(a_shared_covariance_is_used_not_parsed_again) {
  const GridPoint first = make_grid_point(4, 8, 8, "none", "rotated:power:1", "linear", "lsa", 3);
  const GridPoint second =
      make_grid_point(4, 8, 16, "none", "rotated:power:1", "linear", "lsa", 3, first.inputs);
  BOOST_TEST(first.inputs.get() == second.inputs.get());
}

BOOST_AUTO_TEST_CASE(describe_names_every_axis_and_a_deep_model) {
  const GridPoint one = make_grid_point(5, 10, 20, "none", "identity", "linear", "lsa", 1);
  BOOST_TEST(describe(one) == "point d=5 N=10 M=20 shift=none covariance=identity task=linear");
  const GridPoint deep = make_grid_point(5, 10, 20, "none", "identity", "linear", "lsa-2", 1);
  BOOST_TEST(describe(deep) ==
             "point d=5 N=10 M=20 shift=none covariance=identity task=linear model=lsa-2");
}

BOOST_AUTO_TEST_CASE(an_axis_that_does_not_parse_is_a_config_error) {
  BOOST_CHECK_THROW(make_grid_point(5, 10, 20, "sideways", "identity", "linear", "lsa", 1),
                    ConfigError);
  BOOST_CHECK_THROW(make_grid_point(5, 10, 20, "none", "diag:1,2", "linear", "lsa", 1),
                    ConfigError);
  BOOST_CHECK_THROW(make_grid_point(5, 10, 20, "none", "identity", "cubic", "lsa", 1), ConfigError);
  BOOST_CHECK_THROW(make_grid_point(5, 10, 20, "none", "identity", "linear", "lsa-0", 1),
                    ConfigError);
}
