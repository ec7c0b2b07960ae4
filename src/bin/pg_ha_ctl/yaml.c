/*-------------------------------------------------------------------------
 *
 * yaml.c
 *	  pg_ha_ctl's YAML output: the config key as patronictl shows it.
 *
 * Output is what PyYAML's safe_dump writes (block style, keys sorted,
 * scalars quoted when YAML 1.1 would read them as another type).
 * show-config renders the config key (outside data from Consul);
 * edit-config reads the edited text back with libyaml (yaml_read.c):
 * rendering a value and reading it must give the same value, or an edit
 * that changes nothing would change the key.  No I/O here, so that a
 * fuzzer (fuzz/fuzz_ctl_yaml.c) checks exactly that.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <ctype.h>
#include <regex.h>

#include <jansson.h>

#include "common/logging.h"
#include "pg_ha_ctl.h"

/* ----- YAML */

/*
 * Would YAML 1.1 (PyYAML's resolvers) read s as something else than a
 * string: a boolean, null, an integer (sexagesimal 10:20 too), a float or
 * a timestamp?  Such scalars are quoted, as safe_dump quotes them, and
 * yaml_read.c resolves no other plain scalar than these.
 */
bool
ctl_yaml_implicit_type(const char *s)
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
	return !ctl_yaml_implicit_type(s);
}

/*
 * The length of the UTF-8 character at s if YAML does not take it raw
 * inside quotes, else 0: a C1 control (libyaml refuses it), NEL, LS and PS
 * (line breaks there, folded on reading), U+FEFF, U+FFFE and U+FFFF.
 * PyYAML escapes them too, but for NEL, LS and PS, which it writes as
 * line breaks of a quoted scalar: an escape reads back the same.
 */
static int
yaml_special_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		return 3;
	if (p[0] == 0xef && ((p[1] == 0xbb && p[2] == 0xbf) ||
						 (p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))))
		return 3;
	return 0;
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
		if ((unsigned char) *p < 0x20 || *p == 0x7f || yaml_special_utf8(p) > 0)
		{
			appendPQExpBufferChar(buf, '"');
			for (const char *q = s; *q; q++)
			{
				unsigned char ch = (unsigned char) *q;
				int			n = yaml_special_utf8(q);

				if (ch == '"' || ch == '\\')
					appendPQExpBuffer(buf, "\\%c", ch);
				else if (ch < 0x20 || ch == 0x7f)
					appendPQExpBuffer(buf, "\\x%02x", ch);
				else if (n > 0)
				{
					/* PyYAML's escapes: \N, \L, \P, \x80, \uFEFF */
					unsigned int cp = n == 2 ? (unsigned char) q[1] :
						((ch & 0x0f) << 12) | (((unsigned char) q[1] & 0x3f) << 6) |
						((unsigned char) q[2] & 0x3f);

					if (cp == 0x85)
						appendPQExpBufferStr(buf, "\\N");
					else if (cp == 0x2028)
						appendPQExpBufferStr(buf, "\\L");
					else if (cp == 0x2029)
						appendPQExpBufferStr(buf, "\\P");
					else if (cp <= 0xff)
						appendPQExpBuffer(buf, "\\x%02X", cp);
					else
						appendPQExpBuffer(buf, "\\u%04X", cp);
					q += n - 1;
				}
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

/*
 * PyYAML writes a key of 128 characters or more as an explicit key ("? "):
 * a simple key ("key: ") reads back only up to 1024 characters, in
 * libyaml as in PyYAML.
 */
static bool
yaml_long_key(const char *s)
{
	int			chars = 0;

	for (const char *p = s; *p; p++)
		if (((unsigned char) *p & 0xc0) != 0x80 && ++chars >= 128)
			return true;
	return false;
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
		if (yaml_long_key(keys[i]))
		{
			/* "? key", then ": value" with a collection's first line on it */
			appendPQExpBufferStr(b, "? ");
			yaml_text(b, keys[i]);
			appendPQExpBuffer(b, "\n%*s: ", indent, "");
			if (json_is_object(v) && json_object_size(v) > 0)
				yaml_mapping(b, v, indent + 2, true);
			else if (json_is_array(v) && json_array_size(v) > 0)
				yaml_sequence(b, v, indent + 2, true);
			else
				yaml_scalar_value(b, v);
			continue;
		}
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
