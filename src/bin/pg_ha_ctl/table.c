/*-------------------------------------------------------------------------
 *
 * table.c
 *	  pg_ha_ctl's output tables: patronictl's framed text, JSON and YAML.
 *
 * A table is a list of columns and rows of cells; a cell is text, marked
 * as an integer when it is one (for JSON and YAML), or text for the table
 * and a JSON value for JSON and YAML (list -e's Tags, query's values).  The text form is the
 * one patronictl draws with PrettyTable: a frame of +---+ rules, one space
 * of padding, columns aligned left or right, and an optional title laid
 * over the top rule ("+ Cluster: otus (7712...) ---+----+").  The JSON
 * form is a list of objects in column order, as Python's json.dumps
 * writes it; the YAML form is what PyYAML's safe_dump writes (keys sorted,
 * block style), quoting any scalar that could be read as another type.
 *
 * Cells hold outside data (member records, the history key), so the text
 * form replaces control characters, and widths count UTF-8 characters,
 * not bytes; only a cell set as several lines (a YAML rendering) is drawn
 * on several, with a rule between every two rows then, as PrettyTable
 * does.  JSON goes through jansson, which escapes everything.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"


#include <jansson.h>

#include "common/logging.h"
#include "pg_ha_ctl.h"

struct CtlTable
{
	int			ncols;
	char	  **names;			/* copies */
	char	   *align;			/* 'l' or 'r' */
	bool	   *hidden;			/* left out of the text form */
	int			nrows;
	int			maxrows;
	CtlCell   **rows;			/* rows[r][c] */
};

CtlTable *
ctl_table_new(int ncols, const char *const *names, const char *align)
{
	CtlTable   *t = pg_malloc0(sizeof(CtlTable));
	bool		short_align = false;

	t->ncols = ncols;
	t->names = pg_malloc0(sizeof(char *) * (ncols + 1));
	t->align = pg_malloc0(ncols + 1);
	t->hidden = pg_malloc0(sizeof(bool) * (ncols + 1));
	for (int i = 0; i < ncols; i++)
	{
		/* an align string shorter than the columns: 'l' for the rest */
		if (align == NULL || align[i] == '\0')
			short_align = true;
		t->names[i] = pg_strdup(names[i] ? names[i] : "");
		t->align[i] = (!short_align && align[i] == 'r') ? 'r' : 'l';
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
	pg_free(cell->json);
	cell->text = pg_strdup(text ? text : "");
	cell->is_int = is_int;
	cell->json = NULL;
	cell->multiline = false;
}

void
ctl_table_set_json(CtlTable *t, int row, int col, const char *text,
				   const char *json, bool multiline)
{
	CtlCell    *cell = &t->rows[row][col];

	ctl_table_set(t, row, col, text, false);
	cell->json = json ? pg_strdup(json) : NULL;
	cell->multiline = multiline;
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
		{
			pg_free(t->rows[r][c].text);
			pg_free(t->rows[r][c].json);
		}
		pg_free(t->rows[r]);
	}
	for (int c = 0; c < t->ncols; c++)
		pg_free(t->names[c]);
	pg_free(t->names);
	pg_free(t->align);
	pg_free(t->hidden);
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

/* a cell's lines, each made printable; *n lines, widths in w[] */
static char **
cell_lines(const CtlCell *cell, const char *header, int *n, int **w)
{
	const char *text = header ? header : (cell->text ? cell->text : "");
	bool		split = header == NULL && cell->multiline;
	int			count = 1;
	char	  **lines;
	const char *p = text;

	if (split)
		for (const char *q = text; *q; q++)
			count += (*q == '\n');
	lines = pg_malloc0(sizeof(char *) * count);
	*w = pg_malloc0(sizeof(int) * count);
	for (int i = 0; i < count; i++)
	{
		size_t		len = split ? strcspn(p, "\n") : strlen(p);
		char	   *line = pnstrdup(p, len);

		lines[i] = printable(line, &(*w)[i]);
		pg_free(line);
		p += len + (p[len] != '\0');
	}
	*n = count;
	return lines;
}

void
ctl_table_print_text(const CtlTable *t, const char *title, FILE *out)
{
	int			ncells = (t->nrows + 1) * t->ncols;
	int		   *widths = pg_malloc0(sizeof(int) * (t->ncols + 1));
	char	 ***texts = pg_malloc0(sizeof(char **) * ncells);
	int		  **tw = pg_malloc0(sizeof(int *) * ncells);
	int		   *nlines = pg_malloc0(sizeof(int) * ncells);
	bool		rule_between = false;
	PQExpBufferData buf;
	PQExpBufferData rule;

	/* row 0 is the header */
	for (int r = 0; r <= t->nrows; r++)
		for (int c = 0; c < t->ncols; c++)
		{
			int			i = r * t->ncols + c;

			texts[i] = cell_lines(r == 0 ? NULL : &t->rows[r - 1][c],
								  r == 0 ? t->names[c] : NULL, &nlines[i], &tw[i]);
			for (int k = 0; k < nlines[i]; k++)
				widths[c] = Max(widths[c], tw[i][k]);
			/* PrettyTable draws every rule (hrules=ALL) then */
			if (nlines[i] > 1 && !t->hidden[c])
				rule_between = true;
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
		int			height = 1;

		for (int c = 0; c < t->ncols; c++)
			if (!t->hidden[c])
				height = Max(height, nlines[r * t->ncols + c]);
		for (int k = 0; k < height; k++)
		{
			appendPQExpBufferChar(&buf, '|');
			for (int c = 0; c < t->ncols; c++)
			{
				int			i = r * t->ncols + c;

				if (t->hidden[c])
					continue;
				if (k < nlines[i])
					put_cell(&buf, texts[i][k], tw[i][k], widths[c], t->align[c]);
				else
					put_cell(&buf, "", 0, widths[c], t->align[c]);
			}
			appendPQExpBufferChar(&buf, '\n');
		}
		if (r == 0 || (rule_between && r < t->nrows))
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
	for (int i = 0; i < ncells; i++)
	{
		for (int k = 0; k < nlines[i]; k++)
			pg_free(texts[i][k]);
		pg_free(texts[i]);
		pg_free(tw[i]);
	}
	pg_free(texts);
	pg_free(tw);
	pg_free(nlines);
	pg_free(widths);
}

/* ----- JSON */

static json_t *
cell_json(const CtlCell *cell)
{
	if (cell->json != NULL)
	{
		json_t	   *v = json_loads(cell->json, JSON_DECODE_ANY, NULL);

		if (v != NULL)
			return v;
	}
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
		/* not json_object(): see json_util.h */
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
	int		   *order;

	if (t->nrows == 0)
	{
		fputs("[]\n\n", out);
		return;
	}
	order = pg_malloc(sizeof(int) * (t->ncols + 1));
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
			first = false;
			if (cell->json != NULL)
			{
				json_t	   *v = cell_json(cell);
				char	   *yaml = ctl_render_yaml(v);
				bool		block = (json_is_object(v) && json_object_size(v) > 0) ||
					(json_is_array(v) && json_array_size(v) > 0);

				/* a mapping goes below its key, indented; a list does not */
				appendPQExpBuffer(&buf, "%s:%s", t->names[order[k]], block ? "\n" : " ");
				for (char *line = yaml; *line;)
				{
					size_t		len = strcspn(line, "\n");

					if (block)
						appendPQExpBufferStr(&buf, json_is_object(v) ? "    " : "  ");
					appendBinaryPQExpBuffer(&buf, line, len);
					appendPQExpBufferChar(&buf, '\n');
					line += len + (line[len] != '\0');
				}
				pg_free(yaml);
				json_decref(v);
				continue;
			}
			appendPQExpBuffer(&buf, "%s: ", t->names[order[k]]);
			ctl_yaml_scalar(&buf, cell);
			appendPQExpBufferChar(&buf, '\n');
		}
		if (first)
			appendPQExpBufferStr(&buf, "- {}\n");
	}
	/* click.echo() adds a newline to safe_dump's text: an empty line */
	appendPQExpBufferChar(&buf, '\n');
	fputs(buf.data, out);
	termPQExpBuffer(&buf);
	pg_free(order);
}

/* ----- TSV: patronictl's delimiter.join(map(str, row)), header first */

void
ctl_table_print_tsv(const CtlTable *t, const char *delimiter, FILE *out)
{
	for (int r = -1; r < t->nrows; r++)
	{
		for (int c = 0; c < t->ncols; c++)
		{
			const char *text = r < 0 ? t->names[c] : t->rows[r][c].text;

			if (c > 0)
				fputs(delimiter, out);
			fputs(text ? text : "", out);
		}
		fputc('\n', out);
	}
}

void
ctl_table_print(const CtlTable *t, CtlFormat fmt, const char *title,
				bool drop_empty, FILE *out)
{
	switch (fmt)
	{
		case CTL_FORMAT_TSV:
			ctl_table_print_tsv(t, "\t", out);
			break;
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
