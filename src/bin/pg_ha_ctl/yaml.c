/*-------------------------------------------------------------------------
 *
 * yaml.c
 *	  pg_ha_ctl's YAML: the config key as patronictl shows it, and back.
 *
 * Output is what PyYAML's safe_dump writes (block style, keys sorted,
 * scalars quoted when YAML 1.1 would read them as another type); input is
 * the block subset that output uses plus what people type in an editor
 * (comments, flow collections on one line, quoted scalars), resolved as
 * PyYAML's safe_load does.  show-config renders the config key (outside
 * data from Consul), edit-config parses the edited text back: rendering a
 * value and parsing it must give the same value, or an edit that changes
 * nothing would change the key.  No I/O here, so that a fuzzer
 * (fuzz/fuzz_ctl_yaml.c) checks exactly that.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>

#include <jansson.h>

#include "common/logging.h"
#include "pg_ha_ctl.h"

/* ----- YAML */

/*
 * Would YAML 1.1 (PyYAML's resolvers) read s as something else than a
 * string: a boolean, null, an integer (sexagesimal 10:20 too), a float or
 * a timestamp?  Such scalars are quoted, as safe_dump quotes them.
 */
static bool
yaml_implicit_type(const char *s)
{
	static const char *const patterns[] = {
		/* bool, null */
		"^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|"
		"on|On|ON|off|Off|OFF|~|null|Null|NULL)$",
		/* int */
		"^[-+]?(0b[0-1_]+|0[0-7_]+|0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|"
		"[1-9][0-9_]*(:[0-5]?[0-9])+)$",
		/* float */
		"^([-+]?[0-9][0-9_]*\\.[0-9_]*([eE][-+][0-9]+)?|"
		"\\.[0-9_]+([eE][-+][0-9]+)?|"
		"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|"
		"[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
		/* timestamp, or anything that starts like one */
		"^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",
		NULL
	};
	static regex_t compiled[4];
	static bool ready = false;

	if (!ready)
	{
		for (int i = 0; patterns[i]; i++)
			if (regcomp(&compiled[i], patterns[i], REG_EXTENDED | REG_NOSUB) != 0)
				pg_fatal("could not compile a regular expression");
		ready = true;
	}
	for (int i = 0; patterns[i]; i++)
		if (regexec(&compiled[i], s, 0, NULL, 0) == 0)
			return true;
	return false;
}

/*
 * May s be written as a plain scalar and read back as the same string?
 * Conservative: letters, digits and a few punctuation marks, no leading
 * or trailing blank, no ": " or " #", no implicit other type.
 */
static bool
yaml_plain_ok(const char *s)
{
	size_t		len = strlen(s);

	if (len == 0 || s[0] == ' ' || s[len - 1] == ' ' || s[len - 1] == ':')
		return false;
	if (!isalnum((unsigned char) s[0]) && s[0] != '_' && s[0] != '/' &&
		s[0] != '.' && s[0] != '+')
		return false;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789 _.:/+@,()-") != len)
		return false;
	if (strstr(s, ": ") != NULL || strstr(s, " #") != NULL)
		return false;
	/* "..." (and "---") at the start of a line end (start) a document */
	if (strncmp(s, "...", 3) == 0)
		return false;
	return !yaml_implicit_type(s);
}

void
ctl_yaml_scalar(PQExpBuffer buf, const CtlCell *cell)
{
	const char *s = cell->text;

	if (cell->is_int)
	{
		appendPQExpBufferStr(buf, s);
		return;
	}
	if (yaml_plain_ok(s))
	{
		appendPQExpBufferStr(buf, s);
		return;
	}
	/* single quotes when printable, else double quotes with escapes */
	for (const char *p = s; *p; p++)
	{
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
		{
			appendPQExpBufferChar(buf, '"');
			for (const char *q = s; *q; q++)
			{
				unsigned char ch = (unsigned char) *q;

				if (ch == '"' || ch == '\\')
					appendPQExpBuffer(buf, "\\%c", ch);
				else if (ch < 0x20 || ch == 0x7f)
					appendPQExpBuffer(buf, "\\x%02x", ch);
				else
					appendPQExpBufferChar(buf, ch);
			}
			appendPQExpBufferChar(buf, '"');
			return;
		}
	}
	appendPQExpBufferChar(buf, '\'');
	for (const char *p = s; *p; p++)
	{
		if (*p == '\'')
			appendPQExpBufferChar(buf, '\'');
		appendPQExpBufferChar(buf, *p);
	}
	appendPQExpBufferChar(buf, '\'');
}

/* ----- YAML output (PyYAML safe_dump, default_flow_style=False) */

static void yaml_mapping(PQExpBuffer b, json_t *obj, int indent, bool inline_first);
static void yaml_sequence(PQExpBuffer b, json_t *arr, int indent, bool inline_first);

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void
yaml_text(PQExpBuffer b, const char *s)
{
	CtlCell		cell = {(char *) s, false};

	ctl_yaml_scalar(b, &cell);
}

/*
 * A real number as PyYAML writes it: Python's repr() (the fewest digits
 * that read back the same; positional from 1e-4 up to below 1e16, else
 * with an exponent), with ".0" added where repr() has no dot, since YAML
 * 1.1 reads "1e+16" or "10" as no float.  "%.1g" of 10.0 is "1e+01".
 */
static void
yaml_real(PQExpBuffer b, double v)
{
	char		s[64];
	int			p;
	int			exp10;
	const char *e;

	for (p = 1; p < 17; p++)
	{
		snprintf(s, sizeof(s), "%.*e", p - 1, v);
		if (strtod(s, NULL) == v)
			break;
	}
	snprintf(s, sizeof(s), "%.*e", p - 1, v);
	e = strchr(s, 'e');
	exp10 = e ? atoi(e + 1) : 0;
	if (e != NULL && (exp10 < -4 || exp10 >= 16))
	{
		/* "1e+16" -> "1.0e+16" */
		if (memchr(s, '.', (size_t) (e - s)) == NULL)
		{
			appendBinaryPQExpBuffer(b, s, (size_t) (e - s));
			appendPQExpBufferStr(b, ".0");
			appendPQExpBufferStr(b, e);
		}
		else
			appendPQExpBufferStr(b, s);
		return;
	}
	/* as many decimals as the p significant digits need */
	snprintf(s, sizeof(s), "%.*f", p - 1 - exp10 > 0 ? p - 1 - exp10 : 0, v);
	appendPQExpBufferStr(b, s);
	if (strchr(s, '.') == NULL)
		appendPQExpBufferStr(b, ".0");
}

static void
yaml_scalar_value(PQExpBuffer b, json_t *v)
{
	switch (json_typeof(v))
	{
		case JSON_STRING:
			yaml_text(b, json_string_value(v));
			break;
		case JSON_INTEGER:
			appendPQExpBuffer(b, "%lld", (long long) json_integer_value(v));
			break;
		case JSON_REAL:
			yaml_real(b, json_real_value(v));
			break;
		case JSON_TRUE:
			appendPQExpBufferStr(b, "true");
			break;
		case JSON_FALSE:
			appendPQExpBufferStr(b, "false");
			break;
		case JSON_OBJECT:
			appendPQExpBufferStr(b, "{}");
			break;
		case JSON_ARRAY:
			appendPQExpBufferStr(b, "[]");
			break;
		default:
			appendPQExpBufferStr(b, "null");
			break;
	}
	appendPQExpBufferChar(b, '\n');
}

static bool
yaml_is_block(json_t *v)
{
	return (json_is_object(v) && json_object_size(v) > 0) ||
		(json_is_array(v) && json_array_size(v) > 0);
}

static void
yaml_mapping(PQExpBuffer b, json_t *obj, int indent, bool inline_first)
{
	size_t		n = json_object_size(obj);
	const char **keys = pg_malloc(sizeof(char *) * (n + 1));
	const char *key;
	json_t	   *v;
	size_t		i = 0;

	json_object_foreach(obj, key, v)
		keys[i++] = key;
	qsort(keys, n, sizeof(char *), key_cmp);
	for (i = 0; i < n; i++)
	{
		v = json_object_get(obj, keys[i]);
		if (i > 0 || !inline_first)
			appendPQExpBuffer(b, "%*s", indent, "");
		yaml_text(b, keys[i]);
		appendPQExpBufferChar(b, ':');
		if (json_is_object(v) && json_object_size(v) > 0)
		{
			appendPQExpBufferChar(b, '\n');
			yaml_mapping(b, v, indent + 2, false);
		}
		else if (json_is_array(v) && json_array_size(v) > 0)
		{
			/* PyYAML does not indent a sequence under its key */
			appendPQExpBufferChar(b, '\n');
			yaml_sequence(b, v, indent, false);
		}
		else
		{
			appendPQExpBufferChar(b, ' ');
			yaml_scalar_value(b, v);
		}
	}
	pg_free(keys);
}

static void
yaml_sequence(PQExpBuffer b, json_t *arr, int indent, bool inline_first)
{
	size_t		i;
	json_t	   *v;

	json_array_foreach(arr, i, v)
	{
		if (i > 0 || !inline_first)
			appendPQExpBuffer(b, "%*s", indent, "");
		appendPQExpBufferStr(b, "- ");
		if (json_is_object(v) && yaml_is_block(v))
			yaml_mapping(b, v, indent + 2, true);
		else if (json_is_array(v) && yaml_is_block(v))
			yaml_sequence(b, v, indent + 2, true);
		else
			yaml_scalar_value(b, v);
	}
}

/* the config as show-config prints it; palloc'd */
char *
ctl_render_yaml(json_t *root)
{
	PQExpBufferData b;
	char	   *s;

	initPQExpBuffer(&b);
	if (json_is_object(root) && json_object_size(root) > 0)
		yaml_mapping(&b, root, 0, false);
	else
		yaml_scalar_value(&b, root);
	s = pg_strdup(b.data);
	termPQExpBuffer(&b);
	return s;
}

/* ----- YAML input: the block subset show-config writes, and hand edits */

typedef struct YamlLine
{
	int			lineno;
	int			indent;
	char	   *text;			/* without indentation and comment */
} YamlLine;

typedef struct YamlDoc
{
	YamlLine   *lines;
	int			n;
	int			pos;
	char		err[256];
} YamlDoc;

static json_t *yaml_block(YamlDoc *d, int indent);

static bool
yaml_fail(YamlDoc *d, int lineno, const char *msg)
{
	if (d->err[0] == '\0')
		snprintf(d->err, sizeof(d->err), "line %d: %s", lineno, msg);
	return false;
}

/* the end of a quoted scalar starting at s (a quote), or NULL */
static const char *
quoted_end(const char *s)
{
	char		q = *s;

	for (const char *p = s + 1; *p; p++)
	{
		if (q == '"' && *p == '\\' && p[1])
			p++;
		else if (*p == q)
		{
			if (q == '\'' && p[1] == '\'')
				p++;
			else
				return p;
		}
	}
	return NULL;
}

/* cut a comment (" #" or a leading "#") outside quotes; trim the end */
static void
strip_comment(char *s)
{
	size_t		n;

	for (char *p = s; *p; p++)
	{
		if ((*p == '\'' || *p == '"') && (p == s || p[-1] == ' ' || p[-1] == '[' ||
										  p[-1] == '{' || p[-1] == ',' || p[-1] == ':'))
		{
			const char *e = quoted_end(p);

			if (e != NULL)
				p = (char *) e;
			continue;
		}
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t'))
		{
			*p = '\0';
			break;
		}
	}
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

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
	if (s[0] != '\0' && !yaml_implicit_type(s))
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

/* a quoted scalar from s to e (both quotes) */
static json_t *
quoted_scalar(const char *s, const char *e)
{
	PQExpBufferData b;
	json_t	   *v;

	initPQExpBuffer(&b);
	for (const char *p = s + 1; p < e; p++)
	{
		if (*s == '\'' && *p == '\'')
			p++;				/* '' is ' */
		else if (*s == '"' && *p == '\\')
		{
			p++;
			switch (*p)
			{
				case 'n':
					appendPQExpBufferChar(&b, '\n');
					continue;
				case 't':
					appendPQExpBufferChar(&b, '\t');
					continue;
				case 'r':
					appendPQExpBufferChar(&b, '\r');
					continue;
				case 'x':
					if (isxdigit((unsigned char) p[1]) && isxdigit((unsigned char) p[2]))
					{
						char		hex[3] = {p[1], p[2], '\0'};

						appendPQExpBufferChar(&b, (char) strtol(hex, NULL, 16));
						p += 2;
						continue;
					}
					break;
				default:
					break;
			}
		}
		appendPQExpBufferChar(&b, *p);
	}
	v = json_string(b.data);
	termPQExpBuffer(&b);
	return v;
}

/* split s at top-level commas (outside quotes) of a flow collection */
static json_t *flow_or_scalar(YamlDoc *d, int lineno, const char *s);

static json_t *
flow_collection(YamlDoc *d, int lineno, const char *s)
{
	bool		mapping = s[0] == '{';
	size_t		len = strlen(s);
	char	   *inner;
	json_t	   *out = mapping ? json_pack("{}") : json_array();
	char	   *p;

	if (s[len - 1] != (mapping ? '}' : ']'))
	{
		yaml_fail(d, lineno, "unterminated flow collection");
		json_decref(out);
		return NULL;
	}
	inner = pnstrdup(s + 1, len - 2);
	p = inner;
	while (*(p += strspn(p, " ")) != '\0')
	{
		char	   *item = p;
		char	   *next;
		json_t	   *v;

		for (next = p; *next && *next != ','; next++)
		{
			if (*next == '\'' || *next == '"')
			{
				const char *e = quoted_end(next);

				if (e == NULL)
				{
					yaml_fail(d, lineno, "bad quoted string");
					json_decref(out);
					pg_free(inner);
					return NULL;
				}
				next = (char *) e;
			}
			else if (*next == '[' || *next == '{')
			{
				yaml_fail(d, lineno, "nested flow collections are not supported");
				json_decref(out);
				pg_free(inner);
				return NULL;
			}
		}
		p = *next ? next + 1 : next;
		*next = '\0';
		{
			size_t		n = strlen(item);

			while (n > 0 && item[n - 1] == ' ')
				item[--n] = '\0';
		}
		if (mapping)
		{
			char	   *colon = strstr(item, ": ");
			json_t	   *k;

			/* an empty entry ("{,}") has no last character to look at */
			if (colon == NULL && item[0] != '\0' && item[strlen(item) - 1] == ':')
				colon = item + strlen(item) - 1;
			if (colon == NULL)
			{
				yaml_fail(d, lineno, "a flow mapping entry without \": \"");
				json_decref(out);
				pg_free(inner);
				return NULL;
			}
			*colon = '\0';
			k = flow_or_scalar(d, lineno, item);
			v = flow_or_scalar(d, lineno, colon + 1 + strspn(colon + 1, " "));
			if (k == NULL || v == NULL || !json_is_string(k))
			{
				yaml_fail(d, lineno, "a flow mapping key must be a string");
				json_decref(k);
				json_decref(v);
				json_decref(out);
				pg_free(inner);
				return NULL;
			}
			json_object_set_new(out, json_string_value(k), v);
			json_decref(k);
		}
		else
		{
			v = flow_or_scalar(d, lineno, item);
			if (v == NULL)
			{
				json_decref(out);
				pg_free(inner);
				return NULL;
			}
			json_array_append_new(out, v);
		}
	}
	pg_free(inner);
	return out;
}

static json_t *
flow_or_scalar(YamlDoc *d, int lineno, const char *s)
{
	if (s[0] == '\'' || s[0] == '"')
	{
		const char *e = quoted_end(s);

		if (e == NULL || e[1 + strspn(e + 1, " ")] != '\0')
		{
			yaml_fail(d, lineno, "bad quoted string");
			return NULL;
		}
		return quoted_scalar(s, e);
	}
	if (s[0] == '[' || s[0] == '{')
		return flow_collection(d, lineno, s);
	if (s[0] == '|' || s[0] == '>')
	{
		yaml_fail(d, lineno, "block scalars (| and >) are not supported");
		return NULL;
	}
	if (s[0] == '&' || s[0] == '*' || s[0] == '!')
	{
		yaml_fail(d, lineno, "anchors, aliases and tags are not supported");
		return NULL;
	}
	return plain_scalar(s);
}

/* "key: value" or "key:" outside quotes: the colon, or NULL */
static char *
mapping_colon(char *s)
{
	char	   *p = s;

	if (*p == '\'' || *p == '"')
	{
		const char *e = quoted_end(p);

		if (e == NULL)
			return NULL;
		p = (char *) e + 1;
	}
	for (; *p; p++)
		if (*p == ':' && (p[1] == ' ' || p[1] == '\0'))
			return p;
	return NULL;
}

static bool
is_seq_item(const char *s)
{
	return s[0] == '-' && (s[1] == ' ' || s[1] == '\0');
}

static json_t *
yaml_sequence_in(YamlDoc *d, int indent)
{
	json_t	   *arr = json_array();

	while (d->pos < d->n && d->lines[d->pos].indent == indent &&
		   is_seq_item(d->lines[d->pos].text))
	{
		YamlLine   *l = &d->lines[d->pos];
		const char *rest = l->text + 1 + strspn(l->text + 1, " ");
		json_t	   *v;

		if (*rest == '\0')
		{
			d->pos++;
			if (d->pos < d->n && d->lines[d->pos].indent > indent)
				v = yaml_block(d, d->lines[d->pos].indent);
			else
				v = json_null();
		}
		else
		{
			/* the rest of the line is a node at its own column */
			l->indent += (int) (rest - l->text);
			l->text = (char *) rest;
			if (is_seq_item(rest) || mapping_colon(l->text) != NULL)
				v = yaml_block(d, l->indent);
			else
			{
				v = flow_or_scalar(d, l->lineno, rest);
				d->pos++;
			}
		}
		if (v == NULL)
		{
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, v);
	}
	return arr;
}

static json_t *
yaml_mapping_in(YamlDoc *d, int indent)
{
	json_t	   *obj = json_pack("{}");	/* not json_object(): see src/cluster.c */

	while (d->pos < d->n && d->lines[d->pos].indent == indent &&
		   !is_seq_item(d->lines[d->pos].text))
	{
		YamlLine   *l = &d->lines[d->pos];
		char	   *colon = mapping_colon(l->text);
		json_t	   *k;
		json_t	   *v;
		char	   *rest;

		if (colon == NULL)
		{
			yaml_fail(d, l->lineno, "expected \"key: value\"");
			json_decref(obj);
			return NULL;
		}
		*colon = '\0';
		rest = colon + 1 + strspn(colon + 1, " ");
		k = flow_or_scalar(d, l->lineno, l->text);
		/* '' is a key too: show-config writes the config key's keys so */
		if (k == NULL || !json_is_string(k))
		{
			yaml_fail(d, l->lineno, "a key must be a string");
			json_decref(k);
			json_decref(obj);
			return NULL;
		}
		if (json_object_get(obj, json_string_value(k)) != NULL)
		{
			char		msg[128];

			snprintf(msg, sizeof(msg), "duplicate key \"%.80s\"", json_string_value(k));
			yaml_fail(d, l->lineno, msg);
			json_decref(k);
			json_decref(obj);
			return NULL;
		}
		d->pos++;
		if (*rest != '\0')
			v = flow_or_scalar(d, l->lineno, rest);
		else if (d->pos < d->n && (d->lines[d->pos].indent > indent ||
								   (d->lines[d->pos].indent == indent &&
									is_seq_item(d->lines[d->pos].text))))
			v = yaml_block(d, d->lines[d->pos].indent);
		else
			v = json_null();
		if (v == NULL)
		{
			json_decref(k);
			json_decref(obj);
			return NULL;
		}
		json_object_set_new(obj, json_string_value(k), v);
		json_decref(k);
	}
	return obj;
}

static json_t *
yaml_block(YamlDoc *d, int indent)
{
	if (is_seq_item(d->lines[d->pos].text))
		return yaml_sequence_in(d, indent);
	if (mapping_colon(d->lines[d->pos].text) == NULL)
	{
		/* a lone scalar */
		json_t	   *v = flow_or_scalar(d, d->lines[d->pos].lineno,
									   d->lines[d->pos].text);

		d->pos++;
		return v;
	}
	return yaml_mapping_in(d, indent);
}

/* Parse YAML text (changed in place) into JSON; NULL with err set when it cannot. */
json_t *
ctl_parse_yaml(char *text, char *err, size_t errlen)
{
	YamlDoc		d;
	json_t	   *root;
	int			lineno = 0;
	char	   *line;
	char	   *save = NULL;

	memset(&d, 0, sizeof(d));
	d.lines = pg_malloc0(sizeof(YamlLine) * (strlen(text) / 2 + 2));
	for (char *p = text; p != NULL; p = save)
	{
		char	   *nl = strchr(p, '\n');

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		line = p;
		lineno++;
		if (strncmp(line, "---", 3) == 0 || strncmp(line, "...", 3) == 0)
			continue;
		strip_comment(line);
		if (line[strspn(line, " ")] == '\0')
			continue;
		if (line[strspn(line, " ")] == '\t')
		{
			snprintf(err, errlen, "line %d: a tab in the indentation", lineno);
			pg_free(d.lines);
			return NULL;
		}
		d.lines[d.n].lineno = lineno;
		d.lines[d.n].indent = (int) strspn(line, " ");
		d.lines[d.n].text = line + d.lines[d.n].indent;
		d.n++;
	}
	if (d.n == 0)
	{
		pg_free(d.lines);
		return json_null();
	}
	root = yaml_block(&d, d.lines[0].indent);
	if (root != NULL && d.pos < d.n)
	{
		yaml_fail(&d, d.lines[d.pos].lineno, "bad indentation");
		json_decref(root);
		root = NULL;
	}
	if (root == NULL)
		snprintf(err, errlen, "%s", d.err[0] ? d.err : "not YAML");
	pg_free(d.lines);
	return root;
}

/* One value as YAML (flow or scalar, the VALUE of --set); NULL with err set. */
json_t *
ctl_parse_yaml_value(const char *value, char *err, size_t errlen)
{
	YamlDoc		d;
	json_t	   *v;

	memset(&d, 0, sizeof(d));
	v = flow_or_scalar(&d, 1, value);
	if (v == NULL)
		snprintf(err, errlen, "%s", d.err[0] ? d.err + strlen("line 1: ") : "not YAML");
	return v;
}
