/*-------------------------------------------------------------------------
 *
 * table.c
 *	  pg_ha_ctl's output tables: patronictl's framed text, JSON and YAML.
 *
 * A table is a list of columns and rows of cells; a cell is text, marked
 * as an integer when it is one (for JSON and YAML).  The text form is the
 * one patronictl draws with PrettyTable: a frame of +---+ rules, one space
 * of padding, columns aligned left or right, and an optional title laid
 * over the top rule ("+ Cluster: otus (7712...) ---+----+").  The JSON
 * form is a list of objects in column order, as Python's json.dumps
 * writes it; the YAML form is what PyYAML's safe_dump writes (keys sorted,
 * block style), quoting any scalar that could be read as another type.
 *
 * Cells hold outside data (member records, the history key), so the text
 * form replaces control characters, and widths count UTF-8 characters,
 * not bytes.  JSON goes through jansson, which escapes everything.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"


#include <jansson.h>

#include "common/logging.h"
#include "pg_ha_ctl.h"

#define MAX_COLS	16

struct CtlTable
{
	int			ncols;
	const char *names[MAX_COLS];
	char		align[MAX_COLS];	/* 'l' or 'r' */
	bool		hidden[MAX_COLS];	/* left out of the text form */
	int			nrows;
	int			maxrows;
	CtlCell   **rows;			/* rows[r][c] */
};

CtlTable *
ctl_table_new(int ncols, const char *const *names, const char *align)
{
	CtlTable   *t = pg_malloc0(sizeof(CtlTable));

	Assert(ncols <= MAX_COLS);
	t->ncols = ncols;
	for (int i = 0; i < ncols; i++)
	{
		t->names[i] = names[i];
		t->align[i] = (align != NULL && align[i] == 'r') ? 'r' : 'l';
	}
	return t;
}

void
ctl_table_hide_column(CtlTable *t, int col)
{
	t->hidden[col] = true;
}

int
ctl_table_add_row(CtlTable *t)
{
	if (t->nrows == t->maxrows)
	{
		t->maxrows = t->maxrows ? t->maxrows * 2 : 8;
		t->rows = pg_realloc(t->rows, sizeof(CtlCell *) * t->maxrows);
	}
	t->rows[t->nrows] = pg_malloc0(sizeof(CtlCell) * t->ncols);
	return t->nrows++;
}

void
ctl_table_set(CtlTable *t, int row, int col, const char *text, bool is_int)
{
	CtlCell    *cell = &t->rows[row][col];

	pg_free(cell->text);
	cell->text = pg_strdup(text ? text : "");
	cell->is_int = is_int;
}

void
ctl_table_set_int(CtlTable *t, int row, int col, long long value)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%lld", value);
	ctl_table_set(t, row, col, buf, true);
}

void
ctl_table_free(CtlTable *t)
{
	for (int r = 0; r < t->nrows; r++)
	{
		for (int c = 0; c < t->ncols; c++)
			pg_free(t->rows[r][c].text);
		pg_free(t->rows[r]);
	}
	pg_free(t->rows);
	pg_free(t);
}

/* ----- text */

/*
 * Printable form of outside text: control characters and bytes that are
 * not valid UTF-8 become '?'.  *width is set to the number of characters.
 */
static char *
printable(const char *s, int *width)
{
	size_t		len = strlen(s);
	char	   *out = pg_malloc(len + 1);
	size_t		i = 0;
	size_t		o = 0;
	int			w = 0;

	while (i < len)
	{
		unsigned char ch = (unsigned char) s[i];
		int			n = 0;

		if (ch >= 0x20 && ch < 0x7f)
			n = 1;
		else if (ch >= 0xc2 && ch <= 0xdf)
			n = 2;
		else if (ch >= 0xe0 && ch <= 0xef)
			n = 3;
		else if (ch >= 0xf0 && ch <= 0xf4)
			n = 4;
		if (n > 1)
		{
			/* continuation bytes must follow */
			for (int k = 1; k < n; k++)
				if (i + k >= len || ((unsigned char) s[i + k] & 0xc0) != 0x80)
					n = 0;
		}
		if (n == 0)
		{
			out[o++] = '?';
			i++;
		}
		else
		{
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
		w++;
	}
	out[o] = '\0';
	*width = w;
	return out;
}

static void
put_rule(PQExpBuffer buf, const int *widths, const CtlTable *t)
{
	appendPQExpBufferChar(buf, '+');
	for (int c = 0; c < t->ncols; c++)
	{
		if (t->hidden[c])
			continue;
		for (int k = 0; k < widths[c] + 2; k++)
			appendPQExpBufferChar(buf, '-');
		appendPQExpBufferChar(buf, '+');
	}
}

static void
put_cell(PQExpBuffer buf, const char *text, int width, int colwidth, char align)
{
	appendPQExpBufferChar(buf, ' ');
	if (align == 'r')
		for (int k = width; k < colwidth; k++)
			appendPQExpBufferChar(buf, ' ');
	appendPQExpBufferStr(buf, text);
	if (align != 'r')
		for (int k = width; k < colwidth; k++)
			appendPQExpBufferChar(buf, ' ');
	appendPQExpBufferStr(buf, " |");
}

void
ctl_table_print_text(const CtlTable *t, const char *title, FILE *out)
{
	int			widths[MAX_COLS];
	char	  **texts = pg_malloc0(sizeof(char *) * (t->nrows + 1) * t->ncols);
	int		   *tw = pg_malloc0(sizeof(int) * (t->nrows + 1) * t->ncols);
	PQExpBufferData buf;
	PQExpBufferData rule;

	/* row 0 is the header */
	for (int c = 0; c < t->ncols; c++)
	{
		texts[c] = printable(t->names[c], &tw[c]);
		widths[c] = tw[c];
	}
	for (int r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++)
		{
			int			i = (r + 1) * t->ncols + c;

			texts[i] = printable(t->rows[r][c].text ? t->rows[r][c].text : "",
								 &tw[i]);
			widths[c] = Max(widths[c], tw[i]);
		}

	initPQExpBuffer(&rule);
	put_rule(&rule, widths, t);

	initPQExpBuffer(&buf);
	/* the title replaces the start of the top rule, as patronictl does */
	if (title != NULL && title[0] != '\0')
	{
		int			tlen;
		char	   *ptitle = printable(title, &tlen);
		size_t		room = rule.len - 2;

		/* titles are ASCII (cluster names are), so bytes are characters */
		if (strlen(ptitle) > room)
			ptitle[room] = '\0';
		appendPQExpBufferChar(&buf, '+');
		appendPQExpBufferStr(&buf, ptitle);
		appendPQExpBufferStr(&buf, rule.data + 1 + strlen(ptitle));
		pg_free(ptitle);
	}
	else
		appendPQExpBufferStr(&buf, rule.data);
	appendPQExpBufferChar(&buf, '\n');

	for (int r = 0; r <= t->nrows; r++)
	{
		appendPQExpBufferChar(&buf, '|');
		for (int c = 0; c < t->ncols; c++)
		{
			int			i = r * t->ncols + c;

			if (!t->hidden[c])
				put_cell(&buf, texts[i], tw[i], widths[c], t->align[c]);
		}
		appendPQExpBufferChar(&buf, '\n');
		if (r == 0)
		{
			appendPQExpBufferStr(&buf, rule.data);
			appendPQExpBufferChar(&buf, '\n');
		}
	}
	appendPQExpBufferStr(&buf, rule.data);
	appendPQExpBufferChar(&buf, '\n');
	fputs(buf.data, out);

	termPQExpBuffer(&buf);
	termPQExpBuffer(&rule);
	for (int i = 0; i < (t->nrows + 1) * t->ncols; i++)
		pg_free(texts[i]);
	pg_free(texts);
	pg_free(tw);
}

/* ----- JSON */

static json_t *
cell_json(const CtlCell *cell)
{
	if (cell->is_int)
	{
		char	   *end;
		long long	v;

		errno = 0;
		v = strtoll(cell->text, &end, 10);
		if (errno == 0 && end != cell->text && *end == '\0')
			return json_integer((json_int_t) v);
	}
	return json_string(cell->text);
}

void
ctl_table_print_json(const CtlTable *t, bool drop_empty, FILE *out)
{
	json_t	   *list = json_array();
	char	   *s;

	for (int r = 0; r < t->nrows; r++)
	{
		/* not json_object(): see new_object() in src/cluster.c */
		json_t	   *obj = json_pack("{}");

		for (int c = 0; c < t->ncols; c++)
		{
			const CtlCell *cell = &t->rows[r][c];

			if (cell->text == NULL || (drop_empty && cell->text[0] == '\0'))
				continue;
			json_object_set_new(obj, t->names[c], cell_json(cell));
		}
		json_array_append_new(list, obj);
	}
	/* Python's json.dumps: ", " and ": ", non-ASCII escaped */
	s = json_dumps(list, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	if (s == NULL)
		pg_fatal("out of memory");
	fprintf(out, "%s\n", s);
	free(s);
	json_decref(list);
}

/* ----- YAML (its scalars: yaml.c) */

void
ctl_table_print_yaml(const CtlTable *t, bool drop_empty, FILE *out)
{
	PQExpBufferData buf;
	int			order[MAX_COLS];

	if (t->nrows == 0)
	{
		fputs("[]\n\n", out);
		return;
	}
	/* safe_dump sorts the keys of a mapping */
	for (int c = 0; c < t->ncols; c++)
		order[c] = c;
	for (int i = 1; i < t->ncols; i++)
		for (int j = i; j > 0 && strcmp(t->names[order[j - 1]], t->names[order[j]]) > 0; j--)
		{
			int			tmp = order[j];

			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}

	initPQExpBuffer(&buf);
	for (int r = 0; r < t->nrows; r++)
	{
		bool		first = true;

		for (int k = 0; k < t->ncols; k++)
		{
			const CtlCell *cell = &t->rows[r][order[k]];

			if (cell->text == NULL || (drop_empty && cell->text[0] == '\0'))
				continue;
			appendPQExpBufferStr(&buf, first ? "- " : "  ");
			appendPQExpBuffer(&buf, "%s: ", t->names[order[k]]);
			ctl_yaml_scalar(&buf, cell);
			appendPQExpBufferChar(&buf, '\n');
			first = false;
		}
		if (first)
			appendPQExpBufferStr(&buf, "- {}\n");
	}
	/* click.echo() adds a newline to safe_dump's text: an empty line */
	appendPQExpBufferChar(&buf, '\n');
	fputs(buf.data, out);
	termPQExpBuffer(&buf);
}

void
ctl_table_print(const CtlTable *t, CtlFormat fmt, const char *title,
				bool drop_empty, FILE *out)
{
	switch (fmt)
	{
		case CTL_FORMAT_JSON:
			ctl_table_print_json(t, drop_empty, out);
			break;
		case CTL_FORMAT_YAML:
			ctl_table_print_yaml(t, drop_empty, out);
			break;
		case CTL_FORMAT_TABLE:
			ctl_table_print_text(t, title, out);
			break;
	}
}
