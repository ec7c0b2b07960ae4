/*-------------------------------------------------------------------------
 *
 * fuzz_ctl_yaml.c
 *	  libFuzzer target: pg_ha_ctl's YAML (show-config, edit-config).
 *
 * show-config renders the config key, outside data from Consul, as YAML;
 * edit-config parses the edited text back, and --set parses one value.
 * The input is used three ways: as the text of an edited config, as the
 * VALUE of --set, and (when it is a JSON object) as the config key itself.
 *
 * Oracle: whatever parsed, rendered and parsed again, is the same value
 * (an edit that changes nothing must not change the key), and the
 * rendering of a config key always parses.
 *
 * Links src/bin/pg_ha_ctl/yaml.c (the rendering) and yaml_read.c (the
 * reader, libyaml's events into jansson) with libpq's PQExpBuffer,
 * libpgcommon and libyaml, as pg_ha_ctl does.
 *
 * Corpus: fuzz/corpus/ctl_yaml/ (show-config outputs, hand edits).
 *
 * fuzz/fuzz_ctl_yaml.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <jansson.h>

#include "pg_ha_ctl.h"

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", \
					__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* Render config as show-config does, parse it back: the same value. */
static void
roundtrip(json_t *config)
{
	char	   *yaml = ctl_render_yaml(config);
	char		err[256];
	json_t	   *back = ctl_parse_yaml(yaml, err, sizeof(err));

	if (back == NULL || !json_equal(back, config))
	{
		char	   *again = ctl_render_yaml(config);
		char	   *json = json_dumps(config, JSON_ENCODE_ANY);

		fprintf(stderr, "config: %s\nYAML:\n%s\n%s\n", json ? json : "?", again,
				back ? "parsed back as something else" : err);
		abort();
	}
	json_decref(back);
	pg_free(yaml);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = pg_malloc(size + 1);
	char		err[256];
	json_t	   *v;

	memcpy(text, data, size);
	text[size] = '\0';

	/* as --set VALUE, under a key of the config */
	v = ctl_parse_yaml_value(text, err, sizeof(err));
	if (v != NULL)
	{
		json_t	   *config = json_pack("{s:o}", "key", v);

		FUZZ_CHECK(config != NULL);
		roundtrip(config);
		json_decref(config);
	}
	else
		FUZZ_CHECK(err[0] != '\0');

	/* as the config key in Consul */
	v = json_loadb((const char *) data, size, 0, NULL);
	if (json_is_object(v))
		roundtrip(v);
	json_decref(v);

	/* as the edited text */
	v = ctl_parse_yaml(text, err, sizeof(err));
	if (json_is_object(v))
		roundtrip(v);
	else if (v == NULL)
		FUZZ_CHECK(err[0] != '\0');
	json_decref(v);

	pg_free(text);
	return 0;
}
