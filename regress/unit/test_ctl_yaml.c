/*-------------------------------------------------------------------------
 *
 * test_ctl_yaml.c
 *	  Unit tests for src/bin/pg_ha_ctl/yaml.c, pg_ha_ctl's YAML.
 *
 * show-config renders the config key as PyYAML's safe_dump would, and
 * edit-config parses the edited text back: a value must read back as
 * itself.  These are the cases fuzz/fuzz_ctl_yaml.c found, and the forms
 * PyYAML writes for them.  Links yaml.c with libpq's PQExpBuffer and
 * libpgcommon, as pg_ha_ctl does; no server, no Consul.
 *
 * Output: one line per failed check (file:line), then "N passed, M failed".
 * The exit status is 1 when any check failed.
 *
 * regress/unit/test_ctl_yaml.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <jansson.h>

#include "pg_ha_ctl.h"
#include "unit_check.h"

/* The YAML of {"key": <json>}, as show-config prints it (static buffer). */
static const char *
render(const char *json)
{
	static char out[1024];
	json_t	   *v = json_loads(json, JSON_DECODE_ANY, NULL);
	json_t	   *root = json_pack("{s:o}", "key", v);
	char	   *s = ctl_render_yaml(root);

	snprintf(out, sizeof(out), "%s", s);
	pg_free(s);
	json_decref(root);
	return out;
}

/* Does the YAML text parse into exactly the JSON value want? */
static bool
parses_as(const char *yaml, const char *want)
{
	char	   *text = pg_strdup(yaml);
	char		err[256];
	json_t	   *got = ctl_parse_yaml(text, err, sizeof(err));
	json_t	   *expected = json_loads(want, JSON_DECODE_ANY, NULL);
	bool		ok = got != NULL && expected != NULL && json_equal(got, expected);

	if (!ok)
	{
		char	   *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;

		printf("    \"%s\" parsed as %s (%s), expected %s\n", yaml,
			   g ? g : "nothing", got ? "" : err, want);
		free(g);
	}
	json_decref(got);
	json_decref(expected);
	pg_free(text);
	return ok;
}

/* Does the YAML text fail to parse? */
static bool
fails(const char *yaml)
{
	char	   *text = pg_strdup(yaml);
	char		err[256] = "";
	json_t	   *got = ctl_parse_yaml(text, err, sizeof(err));
	bool		ok = got == NULL && err[0] != '\0';

	json_decref(got);
	pg_free(text);
	return ok;
}

/* Reals as PyYAML writes them: Python's repr, with ".0" where it has no dot. */
static void
test_reals(void)
{
	/* "%.1g" of 10.0 is "1e+01", which YAML 1.1 reads as a string */
	CHECK(strcmp(render("10.0"), "key: 10.0\n") == 0);
	CHECK(strcmp(render("1.1"), "key: 1.1\n") == 0);
	CHECK(strcmp(render("0.9"), "key: 0.9\n") == 0);
	CHECK(strcmp(render("-2.5"), "key: -2.5\n") == 0);
	CHECK(strcmp(render("1000000000000000.0"), "key: 1000000000000000.0\n") == 0);
	CHECK(strcmp(render("1e16"), "key: 1.0e+16\n") == 0);
	CHECK(strcmp(render("1.5e300"), "key: 1.5e+300\n") == 0);
	CHECK(strcmp(render("0.0001"), "key: 0.0001\n") == 0);
	CHECK(strcmp(render("0.00001"), "key: 1.0e-05\n") == 0);
	CHECK(strcmp(render("0.0"), "key: 0.0\n") == 0);
	CHECK(parses_as("key: 10.0\n", "{\"key\": 10.0}"));
	CHECK(parses_as("key: 1.0e+16\n", "{\"key\": 1e16}"));
	CHECK(parses_as("key: 1.0e-05\n", "{\"key\": 0.00001}"));
}

/* Plain scalars resolve as in YAML 1.1, so that plain strings read back. */
static void
test_plain_scalars(void)
{
	CHECK(parses_as("a: 8\nb: -3\nc: 0\nd: 1.5\n", "{\"a\": 8, \"b\": -3, \"c\": 0, \"d\": 1.5}"));
	CHECK(parses_as("a: yes\nb: off\nc: ~\nd:\n", "{\"a\": true, \"b\": false, \"c\": null, \"d\": null}"));
	/* no number in YAML 1.1, so show-config writes them plain */
	CHECK(strcmp(render("\"08\""), "key: 08\n") == 0);
	CHECK(parses_as("key: 08\n", "{\"key\": \"08\"}"));
	CHECK(parses_as("key: +.5\n", "{\"key\": \"+.5\"}"));
	CHECK(parses_as("key: 1.5e5\n", "{\"key\": \"1.5e5\"}"));
	CHECK(parses_as("key: 128MB\n", "{\"key\": \"128MB\"}"));
	/* numbers in YAML 1.1: quoted when they are strings */
	CHECK(strcmp(render("\"10\""), "key: '10'\n") == 0);
	CHECK(strcmp(render("\"on\""), "key: 'on'\n") == 0);
}

/* Keys that did not read back. */
static void
test_keys(void)
{
	json_t	   *root = json_pack("{s:i, s:i, s:i}", "", 1, "...", 2, "ttl", 3);
	char	   *yaml = ctl_render_yaml(root);

	/* "..." at the start of a line ends a document: quoted */
	CHECK(strcmp(yaml, "'': 1\n'...': 2\nttl: 3\n") == 0);
	CHECK(parses_as(yaml, "{\"\": 1, \"...\": 2, \"ttl\": 3}"));
	pg_free(yaml);
	json_decref(root);
	CHECK(fails(": 1\n"));
	CHECK(fails("a: 1\na: 2\n"));
}

/* Flow collections that read outside their buffer or parsed half. */
static void
test_flow(void)
{
	char		err[256];
	json_t	   *v;

	CHECK(fails("key: {a: 1, b: [x, 'y, z']}\n"));	/* nested: not supported */
	CHECK(parses_as("key: [1, 'two', three, ]\n", "{\"key\": [1, \"two\", \"three\"]}"));
	CHECK(parses_as("key: {a: 1, b: x}\n", "{\"key\": {\"a\": 1, \"b\": \"x\"}}"));
	/* an empty entry: item[strlen(item) - 1] was item[-1] */
	CHECK(fails("key: {,}\n"));
	CHECK(fails("{,}"));
	/* an unterminated quote was cut off and the rest parsed on */
	CHECK(fails("key: {\"a: 1}\n"));
	CHECK(fails("key: ['a, b]\n"));
	v = ctl_parse_yaml_value("{,}", err, sizeof(err));
	CHECK(v == NULL && err[0] != '\0');
	v = ctl_parse_yaml_value("[1, 2]", err, sizeof(err));
	CHECK(json_is_array(v) && json_array_size(v) == 2);
	json_decref(v);
}

int
main(void)
{
	test_reals();
	test_plain_scalars();
	test_keys();
	test_flow();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
