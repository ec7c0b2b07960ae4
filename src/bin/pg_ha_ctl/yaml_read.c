/*-------------------------------------------------------------------------
 *
 * yaml_read.c
 *	  pg_ha_ctl's YAML input: the text edited for edit-config, and the
 *	  values of --set.
 *
 * libyaml's event parser reads the YAML; this file builds the jansson
 * value as PyYAML's safe_load (patronictl's reader) would: mappings are
 * objects, sequences arrays, quoted and block scalars strings, and plain
 * scalars resolved as YAML 1.1 does (null, booleans, integers, floats,
 * else a string).  What a config key cannot hold, or what a hand edit
 * should not rely on, is refused with its line and column: a key that is
 * not a string, a duplicate key, anchors, aliases and tags, a second
 * document, a NUL character, nesting deeper than jansson reads JSON.
 * Whatever yaml.c renders must read back as the same value; no I/O here,
 * so that a fuzzer (fuzz/fuzz_ctl_yaml.c) checks exactly that.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <errno.h>

#include <jansson.h>
#include <yaml.h>

#include "pg_ha_ctl.h"

/*
 * As deep as jansson reads JSON: a config key that Consul holds renders
 * as YAML that reads back.  The events come without recursion; the limit
 * spares jansson's own recursive freeing, comparing and dumping.
 */
#define YAML_MAX_DEPTH	JSON_PARSER_MAX_DEPTH

/* a mapping or sequence being read */
typedef struct ReadFrame
{
	json_t	   *node;			/* held by its parent, or it is the root */
	char	   *key;			/* a mapping's key waiting for its value */
} ReadFrame;

/*
 * A plain scalar resolved as PyYAML's safe_load does (YAML 1.1): null,
 * booleans (yes/no/on/off too), integers, floats, else a string.
 */
static json_t *
plain_scalar(const char *s)
{
	static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
	"on", "On", "ON", "y", "Y", NULL};
	static const char *const falses[] = {"false", "False", "FALSE", "no", "No", "NO",
	"off", "Off", "OFF", "n", "N", NULL};
	char	   *end;

	/*
	 * What ctl_yaml_scalar() writes plain must read back as the same
	 * string: no number unless YAML 1.1 resolves it as one ("08", "+.5" and
	 * "1.5e5" are strings there).
	 */
	if (s[0] != '\0' && !ctl_yaml_implicit_type(s))
		return json_string(s);
	if (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
		strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		return json_null();
	for (int i = 0; trues[i]; i++)
		if (strcmp(s, trues[i]) == 0)
			return json_true();
	for (int i = 0; falses[i]; i++)
		if (strcmp(s, falses[i]) == 0)
			return json_false();
	{
		const char *digits = s + (s[0] == '-' || s[0] == '+');

		if (digits[0] != '\0' && strspn(digits, "0123456789") == strlen(digits))
		{
			long long	v;

			errno = 0;
			v = strtoll(s, &end, 10);
			if (errno == 0 && *end == '\0')
				return json_integer((json_int_t) v);
		}
	}
	if (strspn(s, "+-0123456789.eE") == strlen(s) && strchr(s, '.') != NULL &&
		strpbrk(s, "0123456789") != NULL)
	{
		double		v;

		errno = 0;
		v = strtod(s, &end);
		if (errno == 0 && *end == '\0')
			return json_real(v);
	}
	return json_string(s);
}

/* "line L, column C: msg" (libyaml counts from 0) */
static void
fail_at(char *err, size_t errlen, yaml_mark_t mark, const char *msg)
{
	snprintf(err, errlen, "line %zu, column %zu: %s",
			 mark.line + 1, mark.column + 1, msg);
}

/* libyaml's own error, with its place and context */
static void
parser_error(const yaml_parser_t *p, const char *text, char *err, size_t errlen)
{
	const char *problem = p->problem ? p->problem : "not YAML";
	char		msg[200];

	switch (p->error)
	{
		case YAML_MEMORY_ERROR:
			snprintf(err, errlen, "out of memory");
			return;
		case YAML_READER_ERROR:
			{
				/* a bad byte: no mark, an offset in the text */
				yaml_mark_t mark = {0, 0, 0};

				for (size_t i = 0; i < p->problem_offset && text[i]; i++)
				{
					if (text[i] == '\n')
					{
						mark.line++;
						mark.column = 0;
					}
					else if (((unsigned char) text[i] & 0xc0) != 0x80)
						mark.column++;
				}
				if (p->problem_value < 0)
					snprintf(msg, sizeof(msg), "%s", problem);
				else if (strstr(problem, "octet") != NULL)
					snprintf(msg, sizeof(msg), "%s (byte 0x%02X; the text must be UTF-8)",
							 problem, p->problem_value);
				else
					snprintf(msg, sizeof(msg), "%s (U+%04X)", problem, p->problem_value);
				fail_at(err, errlen, mark, msg);
				return;
			}
		default:
			if (p->context == NULL)
				snprintf(msg, sizeof(msg), "%s", problem);
			else if (p->context_mark.line == p->problem_mark.line &&
					 p->context_mark.column == p->problem_mark.column)
				snprintf(msg, sizeof(msg), "%s (%s)", problem, p->context);
			else
				snprintf(msg, sizeof(msg), "%s (%s at line %zu, column %zu)",
						 problem, p->context, p->context_mark.line + 1,
						 p->context_mark.column + 1);
			fail_at(err, errlen, p->problem_mark, msg);
			return;
	}
}

/* a scalar's value: plain ones resolved, the others strings */
static json_t *
scalar_value(const yaml_event_t *ev)
{
	const char *s = (const char *) ev->data.scalar.value;

	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return plain_scalar(s);
	return json_stringn(s, ev->data.scalar.length);
}

/* Give v to the collection being read (or make it the root). */
static void
attach(ReadFrame *top, json_t **root, json_t *v)
{
	if (top == NULL)
		*root = v;
	else if (json_is_array(top->node))
		json_array_append_new(top->node, v);
	else
	{
		json_object_set_new(top->node, top->key, v);
		pg_free(top->key);
		top->key = NULL;
	}
}

/*
 * Read one YAML document from text[0..len) into JSON: null, and *empty
 * set, when there is none; NULL with err set when it is not YAML or not a
 * value pg_ha_ctl takes.  Collections nest at most max_depth deep.
 */
static json_t *
read_yaml(const char *text, size_t len, int max_depth, bool *empty,
		  char *err, size_t errlen)
{
	yaml_parser_t parser;
	ReadFrame  *stack;
	int			depth = 0;
	int			ndocs = 0;
	json_t	   *root = NULL;
	bool		ok = true;
	bool		done = false;

	*empty = false;
	if (!yaml_parser_initialize(&parser))
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);
	/* the text is UTF-8: no guessing UTF-16 from its first bytes */
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	stack = pg_malloc(sizeof(ReadFrame) * max_depth);

	while (ok && !done)
	{
		yaml_event_t ev;
		ReadFrame  *top = depth > 0 ? &stack[depth - 1] : NULL;
		bool		want_key = top != NULL && json_is_object(top->node) && top->key == NULL;
		const char *problem = NULL;
		char		msg[160];

		if (!yaml_parser_parse(&parser, &ev))
		{
			parser_error(&parser, text, err, errlen);
			ok = false;
			break;
		}
		switch (ev.type)
		{
			case YAML_DOCUMENT_START_EVENT:
				/* safe_load refuses a second document too */
				if (++ndocs > 1)
					problem = "a second document (after \"---\"): the text must be one document";
				break;
			case YAML_ALIAS_EVENT:
				problem = "anchors, aliases and tags are not supported";
				break;
			case YAML_SCALAR_EVENT:
				{
					json_t	   *v;

					if (ev.data.scalar.anchor != NULL || ev.data.scalar.tag != NULL)
					{
						problem = "anchors, aliases and tags are not supported";
						break;
					}
					/* a C string cannot hold it, nor a config key (JSON) */
					if (memchr(ev.data.scalar.value, '\0', ev.data.scalar.length) != NULL)
					{
						problem = "a NUL character (\\0) is not allowed";
						break;
					}
					v = scalar_value(&ev);
					if (v == NULL)
						problem = "could not store the value";
					else if (!want_key)
						attach(top, &root, v);
					else if (!json_is_string(v))
					{
						/* 1, true, an empty plain key (null): quoted they are keys */
						problem = "a key must be a string";
						json_decref(v);
					}
					else if (json_object_get(top->node, json_string_value(v)) != NULL)
					{
						snprintf(msg, sizeof(msg), "duplicate key \"%.80s\"",
								 json_string_value(v));
						problem = msg;
						json_decref(v);
					}
					else
					{
						top->key = pg_strdup(json_string_value(v));
						json_decref(v);
					}
					break;
				}
			case YAML_SEQUENCE_START_EVENT:
			case YAML_MAPPING_START_EVENT:
				{
					bool		mapping = ev.type == YAML_MAPPING_START_EVENT;
					json_t	   *v;

					if (mapping ? (ev.data.mapping_start.anchor != NULL ||
								   ev.data.mapping_start.tag != NULL) :
						(ev.data.sequence_start.anchor != NULL ||
						 ev.data.sequence_start.tag != NULL))
						problem = "anchors, aliases and tags are not supported";
					else if (want_key)
						problem = "a key must be a string";
					else if (depth >= max_depth)
					{
						snprintf(msg, sizeof(msg), "nested more than %d levels deep", max_depth);
						problem = msg;
					}
					else
					{
						/* not json_object(): see json_util.h */
						v = mapping ? json_pack("{}") : json_array();
						if (v == NULL)
							problem = "out of memory";
						else
						{
							attach(top, &root, v);
							stack[depth].node = v;
							stack[depth].key = NULL;
							depth++;
						}
					}
					break;
				}
			case YAML_SEQUENCE_END_EVENT:
			case YAML_MAPPING_END_EVENT:
				if (depth > 0)	/* libyaml balances them */
				{
					depth--;
					pg_free(stack[depth].key);	/* NULL: libyaml pairs keys */
				}
				break;
			case YAML_STREAM_END_EVENT:
				done = true;
				break;
			default:
				break;
		}
		if (problem != NULL)
		{
			fail_at(err, errlen, ev.start_mark, problem);
			ok = false;
		}
		yaml_event_delete(&ev);
	}

	while (depth > 0)
		pg_free(stack[--depth].key);
	pg_free(stack);
	yaml_parser_delete(&parser);
	if (!ok)
	{
		json_decref(root);
		return NULL;
	}
	if (root == NULL)
		*empty = true;
	return root != NULL ? root : json_null();
}

/*
 * Parse YAML text (the edited config) into JSON; NULL with err set when it
 * cannot.  The text is not changed.
 */
json_t *
ctl_parse_yaml(char *text, char *err, size_t errlen)
{
	bool		empty;

	return read_yaml(text, strlen(text), YAML_MAX_DEPTH, &empty, err, errlen);
}

/*
 * One value as YAML (the VALUE of --set, read as patronictl reads it, as a
 * document); NULL with err set.  It goes under a key, one level deeper.
 */
json_t *
ctl_parse_yaml_value(const char *value, char *err, size_t errlen)
{
	bool		empty;
	json_t	   *v = read_yaml(value, strlen(value), YAML_MAX_DEPTH - 1, &empty,
							  err, errlen);

	/*
	 * Nothing (null) removes the key; a comment alone would too, where a
	 * string "#..." was most likely meant.
	 */
	if (v != NULL && empty && value[strspn(value, " \t\r\n")] != '\0')
	{
		snprintf(err, errlen, "only a comment: quote a string that starts with \"#\"");
		json_decref(v);
		return NULL;
	}
	return v;
}
