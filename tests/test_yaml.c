/* YAML specs: read as YAML 1.2 (1e-5 is a number, yes a string), the same spec as its JSON twin,
 * and every kind of bad or hostile YAML refused with one line naming the file, the line and the
 * key path, and showing the offending value. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/trial_json.h"
#include "scratch.h"
#include "spec_support.h"

static caviar_status parse_yaml(const char *text, caviar_spec *spec, caviar_error *err) {
  memset(err, 0, sizeof *err);
  return caviar_spec_parse(text, strlen(text), "sweep.yaml", NULL, spec, err);
}

static void yaml_ok(const char *text, caviar_spec *spec) {
  caviar_error err;
  cr_assert_eq(parse_yaml(text, spec, &err), CAVIAR_OK, "rejected: %s\n%s", err.msg, text);
}

/* A YAML spec and its JSON twin give the same trials, line for line. */
Test(yaml, a_yaml_spec_samples_as_its_json_twin) {
  const char *yaml =
      "# the default spec's space, written as YAML\n"
      "method: random\n"
      "trials: 20\n"
      "seed: 7\n"
      "metric: {name: val_acc, goal: maximize}\n"
      "parameters:\n"
      "  learning_rate:\n"
      "    distribution: log_uniform_values\n"
      "    min: 1e-4      # a number in YAML 1.2 (PyYAML reads a string)\n"
      "    max: 1.0e-2\n"
      "  beta1: {distribution: one_minus_log_uniform_values, min: 0.8, max: 0.95}\n"
      "  optimizer:\n"
      "    values: [adam, sgd]\n"
      "  hidden:\n"
      "    values:\n"
      "      - 64\n"
      "      - 128\n"
      "  dropout: {min: 0, max: 0.5}\n";
  const char *json =
      "{\"method\": \"random\", \"trials\": 20, \"seed\": 7, \"metric\": {\"name\": \"val_acc\", \"goal\": \"maximize\"},"
      " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1e-2},"
      " \"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.8, \"max\": 0.95},"
      " \"optimizer\": {\"values\": [\"adam\", \"sgd\"]}, \"hidden\": {\"values\": [64, 128]}, \"dropout\": {\"min\": 0, \"max\": 0.5}}}";
  caviar_spec a, b;
  yaml_ok(yaml, &a);
  spec_ok(json, &b);
  cr_expect(a.yaml && !b.yaml);
  cr_expect(!a.outside);
  caviar_sampler sa, sb;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&sa, &a, a.seed, -1, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_sampler_init(&sb, &b, b.seed, -1, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(sa.count, 20);
  for (uint32_t k = 0; k < 20; k++) {
    caviar_trial ta, tb;
    char la[1024], lb[1024];
    caviar_sampler_draw(&sa, k, &ta);
    caviar_sampler_draw(&sb, k, &tb);
    caviar_trial_json(&ta, la, sizeof la);
    caviar_trial_json(&tb, lb, sizeof lb);
    cr_expect_str_eq(la, lb);
  }
  caviar_sampler_free(&sa);
  caviar_sampler_free(&sb);
  caviar_spec_free(&a);
  caviar_spec_free(&b);
}

/* YAML 1.2's core schema: numbers in every form it has, yes and no strings (with a warning, since
 * W&B's PyYAML reads them as booleans), tags honoured. */
Test(yaml, scalars_follow_yaml_1_2) {
  caviar_spec spec;
  yaml_ok("method: grid\n"
          "program: t.py\n"
          "parameters:\n"
          "  a: {values: [1e-5, .5, -2., +3, 0x1F, 0o17, .inf, -.Inf, 1_000]}\n"
          "  b: {values: [yes, No, on, OFF, true, False, ~, null, '1e-5', !!str 7, !!float 3]}\n",
          &spec);
  cr_assert(spec.outside);
  const caviar_param *a = &spec.space.params[0], *b = &spec.space.params[1];
  const char *want_a[] = {"1e-05", "0.5", "-2.0", "3", "31", "15", NULL, NULL, "\"1_000\""};
  for (int i = 0; i < 9; i++)
    if (want_a[i]) cr_expect_str_eq(a->value_text[i], want_a[i], "a[%d]", i);
  const char *want_b[] = {"\"yes\"", "\"No\"", "\"on\"", "\"OFF\"", "true", "false", "null", "null", "\"1e-5\"", "\"7\"", "3.0"};
  for (int i = 0; i < 11; i++) cr_expect_str_eq(b->value_text[i], want_b[i], "b[%d]", i);
  cr_assert_not_null(spec.warnings);
  cr_expect(strstr(spec.warnings, "sweep.yaml:5: parameters.b.values[0]: yes is the string \"yes\" in YAML 1.2 (PyYAML, and so W&B, reads it as true)") != NULL,
            "%s", spec.warnings);
  cr_expect(strstr(spec.warnings, "parameters.b.values[3]: OFF is the string \"OFF\"") != NULL, "%s", spec.warnings);
  caviar_spec_free(&spec);
}

/* Anchors, aliases and merge keys (PyYAML reads them, so W&B configs may use them). */
Test(yaml, anchors_aliases_and_merge_keys_expand) {
  caviar_spec spec;
  /* "base" is not a W&B key: the config above is refused for it, after its aliases expanded. */
  caviar_error err;
  cr_assert_eq(parse_yaml("method: random\nprogram: t.py\nbase: &base {min: 1, max: 4}\nparameters: {a: *base}\n", &spec, &err),
               CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "sweep.yaml:3: base: unknown key") != NULL, "%s", err.msg);
  yaml_ok("method: random\n"
          "program: t.py\n"
          "parameters:\n"
          "  a: &base {min: 1, max: 4}\n"
          "  b:\n"
          "    <<: *base\n"
          "    max: 9\n"
          "  c: &lr {distribution: log_uniform_values, min: 1e-4, max: 1e-1}\n"
          "  d: *lr\n"
          "  e: {values: [&x hello, *x]}\n",
          &spec);
  cr_assert_eq(spec.space.n, 5);
  cr_expect_eq(spec.space.params[0].dist, CAVIAR_DIST_INT_UNIFORM);
  cr_expect_eq(spec.space.params[1].max, 9);
  cr_expect_eq(spec.space.params[1].min, 1);
  cr_expect_eq(spec.space.params[3].dist, CAVIAR_DIST_LOG_UNIFORM_VALUES);
  cr_expect_eq(spec.space.params[3].min, 1e-4);
  cr_expect_str_eq(spec.space.params[4].value_text[1], "\"hello\"");
  caviar_spec_free(&spec);
}

typedef struct bad_yaml {
  const char *text;
  const char *fragment; /* must appear in the one-line message */
} bad_yaml;

#define HEAD "method: random\nprogram: t.py\nparameters:\n"

static const bad_yaml bad[] = {
    /* where a value is wrong: file, line, key path and the value */
    {HEAD "  lr:\n    distribution: log_uniform_values\n    min: 1e-5x\n    max: 0.1\n",
     "sweep.yaml:6: parameters.lr.min: expected a number, got a string (\"1e-5x\")"},
    {HEAD "  lr: {values: []}\n", "sweep.yaml:4: parameters.lr.values: must not be empty"},
    {"method: random\ntrials: 4\nparameters:\n  learning_rate: {min: 0.1, max: 0.01}\n",
     "sweep.yaml:4: parameters.learning_rate.min: must be <= max (0.01), got 0.1"},
    {"method: random\ntrials: 4\nparameters:\n  optimizer:\n    values:\n      - adam\n      - lion\n",
     "sweep.yaml:7: parameters.optimizer.values[1]: expected one of sgd"},
    {"method: [random]\nparameters: {}\n", "sweep.yaml:1: method: expected a string, got an array"},
    /* duplicate keys, tabs, syntax */
    {"method: random\nprogram: t.py\nmethod: grid\n", "sweep.yaml:3: method: key given twice (first at line 1)"},
    {HEAD "  a: {value: 1}\n  b: {value: 2}\n  a: {value: 3}\n", "sweep.yaml:6: parameters.a: key given twice (first at line 4)"},
    {"method: random\nparameters:\n\tlr: {value: 1}\n", "sweep.yaml:3:1: invalid YAML: found character that cannot start any token"},
    {"method: random\nparameters: [1, 2\n", "sweep.yaml:3:1: invalid YAML"},
    {"method: random\n  program: t.py\n", "sweep.yaml:2:10: invalid YAML: mapping values are not allowed in this context"},
    {"", "sweep.yaml: empty YAML document"},
    {"# only a comment\n", "sweep.yaml: empty YAML document"},
    {"method: random\n---\nmethod: grid\n", "sweep.yaml:2: a second YAML document"},
    {"- method: random\n", "sweep.yaml:1: expected an object, got an array"},
    {"method: random\nprogram: t.py\n? [a, b]\n: 1\n", "sweep.yaml:3: a mapping key must be a scalar"},
    /* tags */
    {HEAD "  a: {value: !!python/tuple [1, 2]}\n", "sweep.yaml:4: parameters.a.value: unsupported YAML tag \"tag:yaml.org,2002:python/tuple\""},
    {HEAD "  a: {value: !!int 1.5}\n", "sweep.yaml:4: parameters.a.value: \"1.5\" is not a YAML int"},
    {HEAD "  a: {value: !!binary aGk=}\n", "unsupported YAML tag"},
    {HEAD "  a: {value: !custom 3}\n", "sweep.yaml:4: parameters.a.value: unsupported YAML tag \"!custom\""},
    /* aliases */
    {HEAD "  a: *nothing\n", "sweep.yaml:4: parameters.a: alias *nothing names no anchor before it"},
    {HEAD "  a: &loop {values: [*loop]}\n", "sweep.yaml:4: parameters.a.values[0]: alias *loop refers to a node that contains it"},
    {HEAD "  a:\n    <<: 3\n", "sweep.yaml:5: parameters.a.<<: a merge key takes a mapping or a list of mappings"},
    /* a NUL byte in a scalar: not a string a program could be given */
    {HEAD "  a: {value: \"x\\0y\"}\n", "sweep.yaml:4: parameters.a.value: a NUL byte in \"x\\x00y\""},
};

ParameterizedTestParameters(yaml, each_bad_yaml_is_refused_in_one_line) {
  static size_t indices[sizeof bad / sizeof bad[0]];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) indices[i] = i;
  return cr_make_param_array(size_t, indices, sizeof bad / sizeof bad[0]);
}

ParameterizedTest(size_t *index, yaml, each_bad_yaml_is_refused_in_one_line) {
  const bad_yaml *b = &bad[*index];
  caviar_spec spec;
  caviar_error err;
  caviar_status st = parse_yaml(b->text, &spec, &err);
  if (st == CAVIAR_OK) caviar_spec_free(&spec);
  cr_assert_eq(st, CAVIAR_EINPUT, "accepted (status %d):\n%s", st, b->text);
  cr_expect(strstr(err.msg, b->fragment) != NULL, "\n  expected: %s\n  got:      %s", b->fragment, err.msg);
  cr_expect(strchr(err.msg, '\n') == NULL, "not one line: %s", err.msg);
}

/* Billion laughs: each level aliases the last nine times. Expanded it would be 10^9 values; the
 * reader stops at its bound and says so, having built at most that many. */
Test(yaml, billion_laughs_stops_at_the_bound) {
  char text[4096];
  size_t used = (size_t)snprintf(text, sizeof text, "method: random\nprogram: t.py\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
  for (int level = 1; level < 10; level++) {
    used += (size_t)snprintf(text + used, sizeof text - used, "l%d: &l%d [", level, level);
    for (int k = 0; k < 9; k++) used += (size_t)snprintf(text + used, sizeof text - used, "%s*l%d", k ? ", " : "", level - 1);
    used += (size_t)snprintf(text + used, sizeof text - used, "]\n");
  }
  caviar_spec spec;
  caviar_error err;
  cr_assert_eq(parse_yaml(text, &spec, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "more than 200000 values (aliases included): too large for a sweep config") != NULL, "%s", err.msg);
}

/* Nesting beyond 64 levels is refused where it happens, in flow and block style, and through an
 * alias that would nest deeper than that. */
Test(yaml, deep_nesting_is_refused) {
  char text[8192];
  size_t used = (size_t)snprintf(text, sizeof text, "method: random\nx: ");
  for (int i = 0; i < 5000 && used < sizeof text - 2; i++) text[used++] = '[';
  text[used] = '\0';
  caviar_spec spec;
  caviar_error err;
  cr_assert_eq(parse_yaml(text, &spec, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "sweep.yaml:2: x") != NULL && strstr(err.msg, "nested more than 64 levels deep") != NULL, "%s", err.msg);
  used = (size_t)snprintf(text, sizeof text, "method: random\na: &deep ");
  for (int i = 0; i < 40; i++) text[used++] = '[';
  for (int i = 0; i < 40; i++) text[used++] = ']';
  used += (size_t)snprintf(text + used, sizeof text - used, "\nb: ");
  for (int i = 0; i < 40; i++) text[used++] = '[';
  used += (size_t)snprintf(text + used, sizeof text - used, "*deep");
  for (int i = 0; i < 40; i++) text[used++] = ']';
  text[used] = '\0';
  cr_assert_eq(parse_yaml(text, &spec, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "alias *deep nests more than 64 levels deep") != NULL, "%s", err.msg);
}

/* How a spec is read: .yaml and .yml are YAML, .json JSON, anything else by its first character. */
Test(yaml, the_format_follows_the_name_then_the_text) {
  cr_expect(caviar_spec_is_yaml("a.yaml", "{}", 2));
  cr_expect(caviar_spec_is_yaml("a.yml", "{}", 2));
  cr_expect(!caviar_spec_is_yaml("a.json", "method: grid", 12));
  cr_expect(!caviar_spec_is_yaml("spec", " \n {\"method\": 1}", 15));
  cr_expect(caviar_spec_is_yaml("spec", "method: grid", 12));
  cr_expect(caviar_spec_is_yaml("-", "# comment\n{a: 1}", 16));
}

/* The hostile inputs of the fuzz corpus, through the CLI: exit 2, one line naming file, line and
 * path; and read in this process, within a bounded amount of memory (expanded, billion laughs
 * alone would need gigabytes). */
Test(yaml, hostile_yaml_is_refused_in_one_line_within_bounded_memory) {
  static const struct {
    const char *file, *fragment;
  } hostile[] = {
      {"billion-laughs.yaml", "billion-laughs.yaml:8: l5[1]: more than 200000 values (aliases included)"},
      {"laughs-in-values.yaml", "laughs-in-values.yaml:9: parameters.a5.values[0]: more than 200000 values"},
      {"deep-flow-nesting.yaml", "deep-flow-nesting.yaml:2: x[0]"},
      {"deep-block-nesting.yaml", "deep-block-nesting.yaml:66: k0.k1.k2"},
      {"deep-alias-nesting.yaml", "alias *a nests more than 64 levels deep"},
      {"huge-mapping.yaml", "huge-mapping.yaml:10004: parameters: more than 10000 keys in one mapping"},
      {"tabs.yaml", "tabs.yaml:3:1: invalid YAML: found character that cannot start any token"},
      {"duplicate-keys.yaml", "duplicate-keys.yaml:5: parameters.lr: key given twice (first at line 4)"},
      {"alias-loop.yaml", "alias-loop.yaml:4: parameters.a.values[0]: alias *p refers to a node that contains it"},
      {"undefined-alias.yaml", "undefined-alias.yaml:2: parameters.a: alias *missing names no anchor before it"},
      {"two-documents.yaml", "two-documents.yaml:2: a second YAML document"},
      {"python-tag.yaml", "python-tag.yaml:1: method: unsupported YAML tag"},
      {"nul-byte.yaml", "nul-byte.yaml:2: program: a NUL byte in \"a\\x00b\""},
      {"raw-bytes.yaml", "raw-bytes.yaml:1:1: invalid YAML: invalid leading UTF-8 octet"},
  };
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
    char path[1024], args[1200];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/spec_yaml/%s", CAVIAR_SOURCE_DIR, hostile[i].file);
    snprintf(args, sizeof args, "sample %s", path);
    cli_result r = run_caviar(args);
    cr_expect_eq(r.status, 2, "%s: status %d: %s", hostile[i].file, r.status, r.err);
    cr_expect(strstr(r.err, hostile[i].fragment) != NULL, "%s:\n  expected: %s\n  got:      %s", hostile[i].file,
              hostile[i].fragment, r.err);
    cr_expect_eq(count_lines(r.err), 1, "%s: not one line: %s", hostile[i].file, r.err);
    cr_expect_str_eq(r.out, "");
    cli_result_free(&r);
    size_t len;
    char *text = scratch_read(path, &len);
    caviar_spec spec;
    caviar_error err;
    cr_expect_eq(caviar_spec_parse(text, len, path, NULL, &spec, &err), CAVIAR_EINPUT, "%s", hostile[i].file);
    free(text);
  }
  cr_expect_lt(scratch_peak_mib(), 200.0, "peak resident memory %.0f MiB", scratch_peak_mib());
}
