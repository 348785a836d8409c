/* Every malformed spec is rejected with exit status 2 and one line naming the file, the JSON path
 * and what was expected. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "spec_support.h"

typedef struct bad_spec {
  const char *text;
  const char *fragment; /* must appear in the message, after "spec.json" */
} bad_spec;

#define P(body) "{\"method\": \"random\", \"parameters\": {" body "}}"

static const bad_spec bad_specs[] = {
    /* the document */
    {"", "spec.json:1:1: invalid JSON: unexpected end of input"},
    {"{\"method\": \"random\",\n \"parameters\": {,}}", "spec.json:2:18: invalid JSON near"},
    {"[1, 2]", "spec.json: expected an object, got an array"},
    {"{\"method\": \"random\", \"parameters\": {}} extra", "unexpected text after the document"},
    {"{\"method\": \"random\", \"method\": \"grid\", \"parameters\": {}}", "spec.json: method: key given twice"},
    {"{\"method\": \"random\", \"parameters\": {}, \"program\": \"train.py\"}",
     "spec.json: program: unknown key (expected one of: name, description, method"},
    /* method, trials, seed */
    {"{\"parameters\": {}}", "spec.json: method: missing (expected grid, random, coarse-to-fine, sobol or tpe)"},
    {"{\"method\": \"bayes\", \"parameters\": {}}",
     "spec.json: method: bayes (W&B's Gaussian-process search) is not supported; use tpe"},
    {"{\"method\": \"hyperopt\", \"parameters\": {}}",
     "spec.json: method: expected one of grid, random, coarse-to-fine, sobol, tpe, got \"hyperopt\""},
    /* conditions ("when") */
    {P("\"beta1\": {\"min\": 0.5, \"max\": 0.9, \"when\": {\"optimiser\": [\"adam\"]}}"),
     "spec.json: parameters.beta1.when.optimiser: unknown parameter \"optimiser\" (a condition names a categorical parameter"},
    {P("\"beta1\": {\"min\": 0.5, \"max\": 0.9, \"when\": {\"optimizer\": [\"adam\"]}}"),
     "spec.json: parameters.beta1.when.optimizer: unknown parameter \"optimizer\""},
    {P("\"learning_rate\": {\"min\": 0.1, \"max\": 0.2}, \"beta1\": {\"min\": 0.5, \"max\": 0.9, \"when\": {\"learning_rate\": [0.1]}}"),
     "spec.json: parameters.beta1.when.learning_rate: learning_rate is uniform, not categorical: a condition needs a parameter given by values"},
    {P("\"optimizer\": {\"values\": [\"sgd\", \"adam\"]}, \"beta1\": {\"min\": 0.5, \"max\": 0.9, \"when\": {\"optimizer\": [\"rmsprop\"]}}"),
     "spec.json: parameters.beta1.when.optimizer[0]: is not one of parameters.optimizer's values"},
    {P("\"optimizer\": {\"values\": [\"sgd\", \"adam\"]}, \"beta1\": {\"min\": 0.5, \"max\": 0.9, \"when\": {\"optimizer\": [\"lion\"]}}"),
     "spec.json: parameters.beta1.when.optimizer[0]: expected one of sgd, momentum, rmsprop, adam, got \"lion\""},
    {P("\"optimizer\": {\"values\": [\"sgd\", \"adam\"]}, \"beta1\": {\"min\": 0.5, \"max\": 0.9, \"when\": {\"optimizer\": []}}"),
     "spec.json: parameters.beta1.when.optimizer: must not be empty"},
    {P("\"optimizer\": {\"values\": [\"sgd\", \"adam\"]}, \"beta1\": {\"min\": 0.5, \"max\": 0.9, \"when\": []}"),
     "spec.json: parameters.beta1.when: expected an object, got an array"},
    {P("\"optimizer\": {\"values\": [\"sgd\", \"adam\"]}, \"beta1\": {\"min\": 0.5, \"max\": 0.9, \"when\": {}}"),
     "spec.json: parameters.beta1.when: must not be empty"},
    {P("\"optimizer\": {\"values\": [\"sgd\", \"adam\"], \"when\": {\"optimizer\": [\"sgd\"]}}"),
     "spec.json: parameters.optimizer.when.optimizer: a parameter cannot depend on itself"},
    {P("\"optimizer\": {\"values\": [\"sgd\", \"adam\"], \"when\": {\"activation\": \"relu\"}}, "
       "\"activation\": {\"values\": [\"relu\", \"tanh\"], \"when\": {\"optimizer\": \"sgd\"}}"),
     "spec.json: parameters.optimizer.when: conditions form a cycle"},
    {"{\"method\": 3, \"parameters\": {}}", "spec.json: method: expected a string, got a number"},
    {"{\"method\": \"random\"}", "spec.json: parameters: missing"},
    {"{\"method\": \"random\", \"parameters\": []}", "spec.json: parameters: expected an object, got an array"},
    {"{\"method\": \"random\", \"trials\": 0, \"parameters\": {}}", "spec.json: trials: expected an integer in [1, 1000000000], got 0"},
    {"{\"method\": \"random\", \"trials\": 2.5, \"parameters\": {}}", "spec.json: trials: expected an integer"},
    {"{\"method\": \"random\", \"seed\": -1, \"parameters\": {}}", "spec.json: seed: expected an integer in [0, 9007199254740992], got -1"},
    {"{\"method\": \"random\", \"seed\": \"7\", \"parameters\": {}}", "spec.json: seed: expected a number, got a string"},
    /* parameters */
    {P("\"learning_rat\": {\"value\": 0.1}"), "spec.json: parameters.learning_rat: unknown hyperparameter (expected one of: learning_rate"},
    {P("\"epochs\": {\"values\": [1, 2]}"), "spec.json: parameters.epochs: epochs is the training budget"},
    {P("\"learning_rate\": 0.1"), "spec.json: parameters.learning_rate: expected an object, got a number"},
    {P("\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": -1, \"max\": 1}"),
     "spec.json: parameters.learning_rate.min: must be > 0 for log_uniform_values, got -1"},
    {P("\"learning_rate\": {\"distribution\": \"q_log_uniform_values\", \"min\": 0, \"max\": 1}"),
     "spec.json: parameters.learning_rate.min: must be > 0 for q_log_uniform_values, got 0"},
    {P("\"dropout\": {\"min\": 0.5, \"max\": 0.1}"), "spec.json: parameters.dropout.min: must be <= max (0.1), got 0.5"},
    {P("\"dropout\": {\"min\": 0}"), "spec.json: parameters.dropout.max: missing (uniform needs min and max)"},
    {P("\"learning_rate\": {\"distribution\": \"beta\", \"a\": 1}"), "spec.json: parameters.learning_rate.a: unknown key"},
    {P("\"learning_rate\": {\"distribution\": \"beta\"}"),
     "spec.json: parameters.learning_rate.distribution: unknown distribution \"beta\" (expected one of: constant"},
    {P("\"learning_rate\": {\"values\": []}"), "spec.json: parameters.learning_rate.values: must not be empty"},
    {P("\"learning_rate\": {\"values\": 0.1}"), "spec.json: parameters.learning_rate.values: expected an array, got a number"},
    {P("\"learning_rate\": {\"values\": [0.1, \"fast\"]}"), "spec.json: parameters.learning_rate.values[1]: expected a number, got a string"},
    {P("\"learning_rate\": {\"values\": [0.1, 0.1]}"), "spec.json: parameters.learning_rate.values[1]: repeats values[0]"},
    {P("\"learning_rate\": {\"values\": [0.1, 0]}"), "spec.json: parameters.learning_rate.values[1]: learning_rate must be (0, inf), got 0"},
    {P("\"optimizer\": {\"values\": [\"adam\", \"lion\"]}"),
     "spec.json: parameters.optimizer.values[1]: expected one of sgd, momentum, rmsprop, adam, got \"lion\""},
    {P("\"optimizer\": {\"values\": [\"adam\", 1]}"), "spec.json: parameters.optimizer.values[1]: expected a string"},
    {P("\"optimizer\": {\"min\": 0, \"max\": 3}"), "spec.json: parameters.optimizer: optimizer takes names, so it needs value or values, not uniform"},
    {P("\"activation\": {\"values\": [\"relu\", \"tanh\"], \"probabilities\": [0.5]}"),
     "spec.json: parameters.activation.probabilities: has 1 entries, but values has 2"},
    {P("\"activation\": {\"values\": [\"relu\", \"tanh\"], \"probabilities\": [0.5, 0.6]}"),
     "spec.json: parameters.activation.probabilities: must sum to 1, got 1.1"},
    {P("\"activation\": {\"values\": [\"relu\", \"tanh\"], \"probabilities\": [1.5, -0.5]}"),
     "spec.json: parameters.activation.probabilities[1]: must be >= 0, got -0.5"},
    {P("\"hidden\": {\"distribution\": \"uniform\", \"min\": 16, \"max\": 64}"),
     "spec.json: parameters.hidden: hidden is an integer, so it needs int_uniform, value(s) or a q_ distribution, not uniform"},
    {P("\"hidden\": {\"distribution\": \"q_uniform\", \"min\": 16, \"max\": 64, \"q\": 2.5}"),
     "spec.json: parameters.hidden.q: must be an integer, since hidden is an integer, got 2.5"},
    {P("\"hidden\": {\"distribution\": \"int_uniform\", \"min\": 1.5, \"max\": 4}"),
     "spec.json: parameters.hidden.min: must be an integer for int_uniform, got 1.5"},
    {P("\"layers\": {\"min\": 1, \"max\": 6}"), "spec.json: parameters.layers: int_uniform can produce 6, but layers must be an integer in [1, 4]"},
    {P("\"layers\": {\"value\": 2.5}"), "spec.json: parameters.layers.value: layers must be an integer in [1, 4], got 2.5"},
    {P("\"dropout\": {\"min\": 0, \"max\": 1}"), "spec.json: parameters.dropout: uniform can produce 1, but dropout must be [0, 1)"},
    {P("\"learning_rate\": {\"distribution\": \"uniform\", \"min\": 0, \"max\": 0.1}"),
     "spec.json: parameters.learning_rate: uniform can produce 0, but learning_rate must be (0, inf)"},
    {P("\"learning_rate\": {\"distribution\": \"normal\", \"mu\": 0.01, \"sigma\": 0.01}"),
     "spec.json: parameters.learning_rate: normal can produce -0.08"},
    {P("\"learning_rate\": {\"distribution\": \"normal\", \"mu\": 0.1, \"sigma\": 0}"),
     "spec.json: parameters.learning_rate.sigma: must be > 0, got 0"},
    {P("\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1, \"q\": 0.1}"),
     "spec.json: parameters.learning_rate.q: not used by log_uniform_values (it takes min, max, grid_points)"},
    {P("\"learning_rate\": {\"distribution\": \"q_uniform\", \"min\": 0.1, \"max\": 1, \"q\": -1}"),
     "spec.json: parameters.learning_rate.q: must be > 0, got -1"},
    {P("\"learning_rate\": {\"value\": 0.1, \"values\": [0.2]}"),
     "spec.json: parameters.learning_rate.values: not used by constant (it takes value)"},
    {P("\"learning_rate\": {\"mu\": 0.1}"), "spec.json: parameters.learning_rate: expected value, values, min and max, or a distribution"},
    {P("\"learning_rate\": {\"distribution\": \"log_uniform\", \"min\": 1, \"max\": 800}"),
     "spec.json: parameters.learning_rate: exp(max) overflows"},
    {P("\"beta2\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.9, \"max\": 1}"),
     "spec.json: parameters.beta2.max: must be < 1 for one_minus_log_uniform_values, got 1"},
    {P("\"beta2\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": -0.1, \"max\": 0.9}"),
     "spec.json: parameters.beta2.min: must be >= 0 for one_minus_log_uniform_values, got -0.1"},
    {P("\"dropout\": {\"min\": 0, \"max\": 0.5, \"grid_points\": 1}"),
     "spec.json: parameters.dropout.grid_points: expected an integer in [2, 100000], got 1"},
    {P("\"learning_rate\": {\"min\": \"0.1\", \"max\": 1}"), "spec.json: parameters.learning_rate.min: expected a number, got a string"},
    /* grid */
    {"{\"method\": \"grid\", \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1}}}",
     "spec.json: parameters.learning_rate: a grid over log_uniform_values needs grid_points"},
    {"{\"method\": \"grid\", \"parameters\": {\"learning_rate\": {\"distribution\": \"log_normal\", \"mu\": -5, \"sigma\": 1}}}",
     "spec.json: parameters.learning_rate: log_normal is unbounded and cannot be put on a grid"},
    /* metric */
    {"{\"method\": \"random\", \"metric\": {\"name\": \"accuracy\"}, \"parameters\": {}}",
     "spec.json: metric.name: expected one of val_acc, val_loss, val_rmse, val_mse, got \"accuracy\""},
    {"{\"method\": \"random\", \"metric\": {\"goal\": \"maximize\"}, \"parameters\": {}}", "spec.json: metric.name: missing"},
    {"{\"method\": \"random\", \"metric\": {\"name\": \"val_acc\", \"goal\": \"minimize\"}, \"parameters\": {}}",
     "spec.json: metric.goal: val_acc must be maximize, got minimize"},
    /* early_terminate */
    {"{\"method\": \"random\", \"early_terminate\": {\"min_epochs\": 1}, \"parameters\": {}}",
     "spec.json: early_terminate.type: missing"},
    {"{\"method\": \"random\", \"early_terminate\": {\"type\": \"median\"}, \"parameters\": {}}",
     "spec.json: early_terminate.type: expected one of successive_halving, hyperband, pbt, got \"median\""},
    {"{\"method\": \"random\", \"early_terminate\": {\"type\": \"pbt\", \"quantile\": 0.7}, \"parameters\": {}}",
     "spec.json: early_terminate.quantile: expected a number in (0, 0.5], got 0.7"},
    {"{\"method\": \"random\", \"early_terminate\": {\"type\": \"pbt\", \"eta\": 3}, \"parameters\": {}}",
     "spec.json: early_terminate.eta: unknown key (expected one of: type, interval, quantile, perturb, resample_probability)"},
    {"{\"method\": \"random\", \"population\": 4, \"early_terminate\": {\"type\": \"pbt\"}, \"parameters\": {}}",
     "spec.json: population: pbt trains the whole population together; remove population"},
    {"{\"method\": \"random\", \"trials\": 9, \"early_terminate\": {\"type\": \"hyperband\", \"min_iter\": 1}, \"parameters\": {}}",
     "spec.json: trials: hyperband's brackets decide how many trials run; remove trials"},
    {"{\"method\": \"random\", \"population\": 0, \"parameters\": {}}",
     "spec.json: population: expected an integer in [1, 1000000000], got 0"},
    {"{\"method\": \"random\", \"early_terminate\": {\"type\": \"successive_halving\", \"eta\": 1}, \"parameters\": {}}",
     "spec.json: early_terminate.eta: expected an integer in [2, 100], got 1"},
    {"{\"method\": \"random\", \"early_terminate\": {\"type\": \"successive_halving\", \"min_iter\": 1}, \"parameters\": {}}",
     "spec.json: early_terminate.min_iter: unknown key (expected one of: type, min_epochs, max_epochs, eta)"},
    {"{\"method\": \"random\", \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 9, \"max_epochs\": 3}, "
     "\"parameters\": {}}",
     "spec.json: early_terminate: the first rung (9 epochs) is after the last epoch (3)"},
    {"{\"method\": \"random\", \"early_terminate\": {\"type\": \"hyperband\", \"eta\": 3}, \"parameters\": {}}",
     "spec.json: early_terminate: hyperband needs min_iter, or max_iter and s"},
    {"{\"method\": \"random\", \"model\": {\"epochs\": 10}, \"early_terminate\": {\"type\": \"successive_halving\", "
     "\"max_epochs\": 20}, \"parameters\": {}}",
     "spec.json: early_terminate.max_epochs: is 20 but model.epochs is 10; give one of them"},
    /* data */
    {"{\"method\": \"random\", \"data\": {\"format\": \"parquet\"}, \"parameters\": {}}",
     "spec.json: data.format: expected one of idx, csv, got \"parquet\""},
    {"{\"method\": \"random\", \"data\": {\"format\": \"csv\", \"test\": \"t.csv\"}, \"parameters\": {}}",
     "spec.json: data.train: missing (format csv needs a train file)"},
    {"{\"method\": \"random\", \"data\": {\"format\": \"csv\", \"train\": \"t.csv\"}, \"parameters\": {}}",
     "spec.json: data.test: missing (format csv needs a test file, or a fraction of train)"},
    {"{\"method\": \"random\", \"data\": {\"format\": \"csv\", \"train\": \"t.csv\", \"test\": 0.96875}, \"parameters\": {}}",
     "spec.json: data.test: expected a file or a fraction in (0, 0.9], got 0.96875"},
    {"{\"method\": \"random\", \"data\": {\"format\": \"csv\", \"train\": \"t.csv\", \"test\": 0.2, \"label_column\": true}, \"parameters\": {}}",
     "spec.json: data.label_column: expected a column index or a header name, got a boolean"},
    {"{\"method\": \"random\", \"data\": {\"label_column\": 2}, \"parameters\": {}}",
     "spec.json: data.label_column: only used with format csv (idx reads dir)"},
    {"{\"method\": \"random\", \"data\": {\"task\": \"regression\"}, \"parameters\": {}}",
     "spec.json: data.task: regression needs CSV data (data.format csv)"},
    {"{\"method\": \"random\", \"data\": {\"format\": \"csv\", \"train\": \"t.csv\", \"test\": 0.2, \"task\": \"ranking\"}, \"parameters\": {}}",
     "spec.json: data.task: expected one of classification, regression, got \"ranking\""},
    {"{\"method\": \"random\", \"data\": {\"format\": \"csv\", \"train\": \"t.csv\", \"test\": 0.2, \"task\": \"regression\"}, \"model\": {\"task\": \"classification\"}, \"parameters\": {}}",
     "spec.json: model.task: is classification but data.task is regression; give one of them"},
    {"{\"method\": \"random\", \"metric\": {\"name\": \"val_acc\"}, \"data\": {\"format\": \"csv\", \"train\": \"t.csv\", \"test\": 0.2}, \"model\": {\"task\": \"regression\"}, \"parameters\": {}}",
     "spec.json: metric.name: val_acc needs classification"},
    {"{\"method\": \"random\", \"metric\": {\"name\": \"val_rmse\", \"goal\": \"minimize\"}, \"parameters\": {}}",
     "spec.json: metric.name: val_rmse needs task regression (data.task)"},
    {"{\"method\": \"random\", \"model\": {\"keep\": \"first\"}, \"parameters\": {}}",
     "spec.json: model.keep: expected one of last, best, got \"first\""},
    {"{\"method\": \"random\", \"data\": {\"train\": \"t.csv\"}, \"parameters\": {}}",
     "spec.json: data.train: only used with format csv (idx reads dir)"},
    {"{\"method\": \"random\", \"data\": {\"validation\": 0}, \"parameters\": {}}",
     "spec.json: data.validation: expected a fraction in (0, 0.9], got 0"},
    {"{\"method\": \"random\", \"data\": {\"scaling\": \"minmax\"}, \"parameters\": {}}",
     "spec.json: data.scaling: expected one of unit, standardize, none, got \"minmax\""},
    {"{\"method\": \"random\", \"data\": {\"dir\": \"\"}, \"parameters\": {}}", "spec.json: data.dir: must not be empty"},
    {"{\"method\": \"random\", \"data\": {\"classes\": 1}, \"parameters\": {}}", "spec.json: data.classes: expected an integer in [2, 65536], got 1"},
    /* model */
    {"{\"method\": \"random\", \"model\": {\"type\": \"rnn\"}, \"parameters\": {}}", "spec.json: model.type: expected one of mlp, cnn, got \"rnn\""},
    {"{\"method\": \"random\", \"model\": {\"width\": 3}, \"parameters\": {}}",
     "spec.json: model.width: unknown key (expected type, epochs, keep, task, or a hyperparameter"},
    {"{\"method\": \"random\", \"model\": {\"optimizer\": \"adamw\"}, \"parameters\": {}}",
     "spec.json: model.optimizer: expected one of sgd, momentum, rmsprop, adam, got \"adamw\""},
    {"{\"method\": \"random\", \"model\": {\"epochs\": 0}, \"parameters\": {}}", "spec.json: model.epochs: expected an integer in [1, 100000], got 0"},
    {"{\"method\": \"random\", \"model\": {\"hidden\": 64}, \"parameters\": {\"hidden\": {\"values\": [32, 64]}}}",
     "spec.json: model.hidden: is also swept in parameters; fix it in one place"},
    /* tpe */
    {"{\"method\": \"random\", \"tpe\": {\"startup\": 5}, \"parameters\": {}}",
     "spec.json: tpe: only used with method tpe, not random"},
    {"{\"method\": \"tpe\", \"tpe\": {\"startup\": 1}, \"parameters\": {}}",
     "spec.json: tpe.startup: expected an integer in [2, 1000000], got 1"},
    {"{\"method\": \"tpe\", \"tpe\": {\"candidates\": 0}, \"parameters\": {}}",
     "spec.json: tpe.candidates: expected an integer in [1, 10000], got 0"},
    {"{\"method\": \"tpe\", \"tpe\": {\"history\": 10}, \"parameters\": {}}",
     "spec.json: tpe.history: expected 0 (all) or at least 50, got 10"},
    {"{\"method\": \"tpe\", \"tpe\": {\"history\": -1}, \"parameters\": {}}",
     "spec.json: tpe.history: expected an integer in [0, 100000000], got -1"},
    {"{\"method\": \"tpe\", \"tpe\": {\"prior_weight\": 0}, \"parameters\": {}}",
     "spec.json: tpe.prior_weight: expected a number in (0, 1e6], got 0"},
    {"{\"method\": \"tpe\", \"tpe\": {\"gamma\": 0.2}, \"parameters\": {}}",
     "spec.json: tpe.gamma: unknown key (expected one of: startup, candidates, prior_weight, history)"},
    {"{\"method\": \"tpe\", \"early_terminate\": {\"type\": \"pbt\"}, \"model\": {\"epochs\": 4}, \"parameters\": {}}",
     "spec.json: early_terminate.type: pbt explores by itself; use method random, sobol or grid with it"},
    /* coarse_to_fine */
    {"{\"method\": \"random\", \"coarse_to_fine\": {\"rounds\": 2}, \"parameters\": {}}",
     "spec.json: coarse_to_fine: only used with method coarse-to-fine or tpe, not random"},
    {"{\"method\": \"coarse-to-fine\", \"coarse_to_fine\": {\"zoom\": 1.5}, \"parameters\": {}}",
     "spec.json: coarse_to_fine.zoom: expected a fraction in (0, 1], got 1.5"},
    {"{\"method\": \"coarse-to-fine\", \"coarse_to_fine\": {\"top\": 3}, \"parameters\": {}}",
     "spec.json: coarse_to_fine.top: unknown key (expected one of: rounds, zoom, top_k)"},
};

#define BAD_COUNT (sizeof bad_specs / sizeof bad_specs[0])

/* Criterion may run each case in a fresh process image, so the parameters are indices into the
 * table rather than pointers. */
ParameterizedTestParameters(spec_errors, each_malformed_spec_is_named_precisely) {
  static size_t indices[BAD_COUNT];
  for (size_t i = 0; i < BAD_COUNT; i++) indices[i] = i;
  return cr_make_param_array(size_t, indices, BAD_COUNT);
}

ParameterizedTest(size_t *index, spec_errors, each_malformed_spec_is_named_precisely) {
  const bad_spec *bad = &bad_specs[*index];
  caviar_error err;
  caviar_status st = spec_fails(bad->text, &err);
  cr_assert_eq(st, CAVIAR_EINPUT, "accepted (status %d): %s", st, bad->text);
  cr_expect(strncmp(err.msg, "spec.json", 9) == 0, "message does not start with the file: %s", err.msg);
  cr_expect(strstr(err.msg, bad->fragment) != NULL, "\n  expected: %s\n  got:      %s", bad->fragment, err.msg);
  cr_expect(strchr(err.msg, '\n') == NULL, "message is not one line: %s", err.msg);
}

Test(spec_errors, the_table_is_large) {
  cr_expect_geq(BAD_COUNT, 30);
}
