/*-------------------------------------------------------------------------
 *
 * test_ctl_yaml.c
 *	  Unit tests for src/bin/pg_ha_ctl/yaml.c and yaml_read.c, pg_ha_ctl's
 *	  YAML.
 *
 * show-config renders the config key as PyYAML's safe_dump would, and
 * edit-config parses the edited text back with libyaml: a value must read
 * back as itself.  These are the cases fuzz/fuzz_ctl_yaml.c found, the
 * forms PyYAML writes for them, and what the reader refuses.  Links
 * yaml.c and yaml_read.c with libpq's PQExpBuffer, libpgcommon and
 * libyaml, as pg_ha_ctl does; no server, no Consul.
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

/* Does the YAML text fail with an error that starts with want? */
static bool
fails_with(const char *yaml, const char *want)
{
	char	   *text = pg_strdup(yaml);
	char		err[256] = "";
	json_t	   *got = ctl_parse_yaml(text, err, sizeof(err));
	bool		ok = got == NULL && strncmp(err, want, strlen(want)) == 0;

	if (!ok)
		printf("    \"%s\": error \"%s\", expected \"%s...\"\n", yaml, err, want);
	json_decref(got);
	pg_free(text);
	return ok;
}

/* Does the value render as want, and read back as itself? */
static bool
round_trips(json_t *config, const char *want)
{
	char	   *yaml = ctl_render_yaml(config);
	char		err[256] = "";
	json_t	   *back = ctl_parse_yaml(yaml, err, sizeof(err));
	bool		ok = (want == NULL || strcmp(yaml, want) == 0) &&
		back != NULL && json_equal(back, config);

	if (!ok)
		printf("    rendered as \"%.200s\", read back %s%s\n", yaml,
			   back ? "as another value" : "with an error: ", back ? "" : err);
	json_decref(back);
	pg_free(yaml);
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

	/* libyaml reads nested and multi-line flow collections */
	CHECK(parses_as("key: {a: 1, b: [x, 'y, z']}\n",
					"{\"key\": {\"a\": 1, \"b\": [\"x\", \"y, z\"]}}"));
	CHECK(parses_as("key: [a,\n  b]\n", "{\"key\": [\"a\", \"b\"]}"));
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

/* What the reader refuses: the place, then the problem. */
static void
test_errors(void)
{
	char		err[256];
	json_t	   *v;

	CHECK(fails_with("loop_wait: 2\nfoo\nttl: 10\n",
					 "line 3, column 1: could not find expected ':' (while scanning a simple key at line 2, column 1)"));
	CHECK(fails_with("a: 1\nb:\n  a: 1\n  a: 2\n", "line 4, column 3: duplicate key \"a\""));
	CHECK(fails_with("key: {a: 1, a: 2}\n", "line 1, column 13: duplicate key \"a\""));
	/* JSON keys are strings: "1", "true" and an empty key are not */
	CHECK(fails_with("1: x\n", "line 1, column 1: a key must be a string"));
	CHECK(fails_with("a:\n  true: x\n", "line 2, column 3: a key must be a string"));
	CHECK(fails_with("? [a]\n: 1\n", "line 1, column 3: a key must be a string"));
	CHECK(parses_as("'1': x\n", "{\"1\": \"x\"}"));
	CHECK(fails_with("a: &x 1\nb: *x\n", "line 1, column 4: anchors, aliases and tags are not supported"));
	CHECK(fails_with("a: *x\n", "line 1, column 4: anchors, aliases and tags are not supported"));
	CHECK(fails_with("a: !!str 1\n", "line 1, column 4: anchors, aliases and tags are not supported"));
	CHECK(fails_with("a: !!map {}\n", "line 1, column 4: anchors, aliases and tags are not supported"));
	/* one document, as PyYAML's safe_load reads; "---" first is fine */
	CHECK(fails_with("a: 1\n---\nb: 2\n", "line 2, column 1: a second document"));
	CHECK(parses_as("---\na: 1\n...\n", "{\"a\": 1}"));
	CHECK(fails_with("a: \"x\\0y\"\n", "line 1, column 4: a NUL character"));
	CHECK(fails_with("a: \x01\n", "line 1, column 4: control characters are not allowed (U+0001)"));
	CHECK(fails_with("a: b\n\xff: c\n", "line 2, column 1: invalid leading UTF-8 octet (byte 0xFF"));
	CHECK(fails_with("a:\n\t- b\n", "line 2, column 1: found character that cannot start any token"));
	CHECK(fails_with("a: b: c\n", "line 1, column 5: mapping values are not allowed"));
	CHECK(fails_with("[a, b\n", "line 2, column 1: did not find expected ',' or ']'"));
	/* block scalars and multi-line plain scalars are strings */
	CHECK(parses_as("a: |\n  one\n  two\nb: >\n  three\n  four\n",
					"{\"a\": \"one\\ntwo\\n\", \"b\": \"three four\\n\"}"));
	CHECK(parses_as("a: one\n  two\n", "{\"a\": \"one two\"}"));
	/* nothing, or only comments: null */
	CHECK(parses_as("", "null"));
	CHECK(parses_as("# nothing\n", "null"));

	/* --set VALUE: one document too */
	v = ctl_parse_yaml_value("%m [%p] ", err, sizeof(err));
	CHECK(v == NULL && strncmp(err, "line 1, column 3: found unknown directive name", 46) == 0);
	v = ctl_parse_yaml_value("'%m [%p] '", err, sizeof(err));
	CHECK(json_is_string(v) && strcmp(json_string_value(v), "%m [%p] ") == 0);
	json_decref(v);
	v = ctl_parse_yaml_value("", err, sizeof(err));
	CHECK(json_is_null(v));
	v = ctl_parse_yaml_value("null # removes the key", err, sizeof(err));
	CHECK(json_is_null(v));
	/* a comment alone would remove the key too: "#1" was meant */
	v = ctl_parse_yaml_value("#1", err, sizeof(err));
	CHECK(v == NULL && strncmp(err, "only a comment", 14) == 0);
	v = ctl_parse_yaml_value("'#1'", err, sizeof(err));
	CHECK(json_is_string(v) && strcmp(json_string_value(v), "#1") == 0);
	json_decref(v);
	v = ctl_parse_yaml_value("30", err, sizeof(err));
	CHECK(json_is_integer(v) && json_integer_value(v) == 30);
	json_decref(v);
	v = ctl_parse_yaml_value("{a: [1, {b: x}]}", err, sizeof(err));
	CHECK(json_is_object(v) && json_is_array(json_object_get(v, "a")));
	json_decref(v);
}

/* Nesting: as deep as jansson reads JSON, and no deeper. */
static void
test_depth(void)
{
	PQExpBufferData b;
	json_t	   *root = json_pack("{}");
	json_t	   *node = root;
	char		err[256];
	json_t	   *v;

	/* a config key as deep as Consul's JSON can be renders and reads back */
	for (int i = 1; i < JSON_PARSER_MAX_DEPTH; i++)
	{
		json_t	   *child = json_pack("{}");

		json_object_set_new(node, "k", child);
		node = child;
	}
	json_object_set_new(node, "k", json_integer(1));
	CHECK(round_trips(root, NULL));
	json_decref(root);

	initPQExpBuffer(&b);
	for (int i = 0; i <= JSON_PARSER_MAX_DEPTH; i++)
		appendPQExpBufferChar(&b, '[');
	CHECK(fails_with(b.data, "line 1, column 2049: nested more than 2048 levels deep"));
	/* a --set value goes under a key: one level less */
	v = ctl_parse_yaml_value(b.data + 1, err, sizeof(err));
	CHECK(v == NULL && strstr(err, "nested more than 2047 levels deep") != NULL);
	termPQExpBuffer(&b);
}

/* What libyaml reads otherwise than written, written as PyYAML writes it. */
static void
test_written_for_libyaml(void)
{
	char		k[200];
	char		long_key[1101];
	char		want[600];
	json_t	   *v;

	/* keys of 128 characters or more: "? key" (a simple key has 1024 at most) */
	memset(k, 'k', 127);
	k[127] = '\0';
	v = json_pack("{s:i}", k, 1);
	snprintf(want, sizeof(want), "%s: 1\n", k);
	CHECK(round_trips(v, want));
	json_decref(v);
	memset(k, 'k', 128);
	k[128] = '\0';
	v = json_pack("{s:i}", k, 1);
	snprintf(want, sizeof(want), "? %s\n: 1\n", k);
	CHECK(round_trips(v, want));
	json_decref(v);
	v = json_pack("{s:{s:{s:i,s:i}}}", "x", k, "a", 1, "b", 2);
	snprintf(want, sizeof(want), "x:\n  ? %s\n  : a: 1\n    b: 2\n", k);
	CHECK(round_trips(v, want));
	json_decref(v);
	v = json_pack("{s:[{s:[i,i]},{s:[]}]}", "x", k, 1, 2, k);
	snprintf(want, sizeof(want), "x:\n- ? %s\n  : - 1\n    - 2\n- ? %s\n  : []\n", k, k);
	CHECK(round_trips(v, want));
	json_decref(v);
	/* 1100 characters: past libyaml's simple key */
	memset(long_key, 'k', 1100);
	long_key[1100] = '\0';
	v = json_pack("{s:{s:s}}", "x", long_key, "y");
	CHECK(round_trips(v, NULL));
	json_decref(v);

	/* characters libyaml refuses raw, or folds as line breaks: escaped */
	v = json_pack("{s:s}", "a", "\xc2\x80 \xc2\x85 \xe2\x80\xa8 \xe2\x80\xa9 \xef\xbb\xbf \xef\xbf\xbf");
	CHECK(round_trips(v, "a: \"\\x80 \\N \\L \\P \\uFEFF \\uFFFF\"\n"));
	json_decref(v);
	v = json_pack("{s:s}", "\xc2\x9f", "\xc3\xa9 \xe2\x88\x91");
	CHECK(round_trips(v, "\"\\x9F\": '\xc3\xa9 \xe2\x88\x91'\n"));
	json_decref(v);
}

int
main(void)
{
	test_reals();
	test_plain_scalars();
	test_keys();
	test_flow();
	test_errors();
	test_depth();
	test_written_for_libyaml();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
