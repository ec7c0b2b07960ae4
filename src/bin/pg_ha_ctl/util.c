/*-------------------------------------------------------------------------
 *
 * util.c
 *	  pg_ha_ctl's helpers: the server's tools, files, quoting, addresses
 *	  and the libpq password file.
 *
 * The server's tools (initdb, pg_ctl, pg_basebackup, pg_rewind) are taken
 * from the directory of pg_ha_ctl itself, where `make install` puts it
 * beside them, else from PATH.  They run without a shell, so no argument
 * needs quoting, and no password is ever on a command line: libpq reads it
 * from the password file.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "common/logging.h"
#include "pg_ha_ctl.h"
#include "quote.h"

static char tool_dir[MAXPGPATH] = "";

/* Remember the directory of the running pg_ha_ctl binary. */
void
ctl_set_tool_dir(const char *argv0)
{
	char		path[MAXPGPATH];

	if (find_my_exec(argv0, path) == 0)
	{
		get_parent_directory(path);
		strlcpy(tool_dir, path, sizeof(tool_dir));
	}
}

/* Path of a server tool: beside pg_ha_ctl if there, else its bare name. */
const char *
ctl_tool(const char *name)
{
	if (tool_dir[0] != '\0')
	{
		char	   *path = psprintf("%s/%s", tool_dir, name);

		if (access(path, X_OK) == 0)
			return path;
		pg_free(path);
	}
	return name;
}

/*
 * Run argv (argv[0] looked up in PATH when it has no slash) and wait for
 * it.  With capture, its stdout, and its stderr too when with_stderr, are
 * collected there instead of going to ours.  Returns its exit code, 128 +
 * signal number when it was killed, or -1 when it could not be started.
 */
static int
run_program(const char *const *argv, PQExpBuffer capture, bool with_stderr)
{
	int			pipefd[2] = {-1, -1};
	pid_t		pid;
	int			status;

	fflush(stdout);
	fflush(stderr);
	if (capture != NULL && pipe(pipefd) != 0)
	{
		pg_log_error("could not create a pipe: %m");
		return -1;
	}
	pid = fork();
	if (pid < 0)
	{
		pg_log_error("could not fork: %m");
		if (capture != NULL)
		{
			close(pipefd[0]);
			close(pipefd[1]);
		}
		return -1;
	}
	if (pid == 0)
	{
		if (capture != NULL)
		{
			close(pipefd[0]);
			if (dup2(pipefd[1], STDOUT_FILENO) < 0 ||
				(with_stderr && dup2(pipefd[1], STDERR_FILENO) < 0))
				_exit(127);
			close(pipefd[1]);
		}
		execvp(argv[0], (char *const *) argv);
		fprintf(stderr, "%s: could not execute \"%s\": %s\n",
				progname, argv[0], strerror(errno));
		_exit(127);
	}

	if (capture != NULL)
	{
		char		chunk[4096];
		ssize_t		n;

		close(pipefd[1]);
		for (;;)
		{
			n = read(pipefd[0], chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			appendBinaryPQExpBuffer(capture, chunk, n);
		}
		close(pipefd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
	{
		if (errno != EINTR)
		{
			pg_log_error("could not wait for \"%s\": %m", argv[0]);
			return -1;
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* Run argv; with capture, its stdout and stderr are collected there. */
int
ctl_run(const char *const *argv, PQExpBuffer capture)
{
	return run_program(argv, capture, true);
}

/*
 * Run argv with its stdout collected in out, for output to parse: its
 * stderr (warnings, errors) goes to ours.
 */
int
ctl_run_stdout(const char *const *argv, PQExpBuffer out)
{
	return run_program(argv, out, false);
}

/* "exit code 1", "signal 9"... for the result of ctl_run() */
const char *
ctl_exit_text(int rc)
{
	static char buf[64];

	if (rc < 0)
		snprintf(buf, sizeof(buf), "could not be started");
	else if (rc == 127)
		snprintf(buf, sizeof(buf), "could not be executed (exit code 127)");
	else if (rc > 128)
		snprintf(buf, sizeof(buf), "was terminated by signal %d", rc - 128);
	else
		snprintf(buf, sizeof(buf), "failed with exit code %d", rc);
	return buf;
}

/* Print a command line, quoted as a shell would need it. */
void
ctl_print_command(FILE *out, const char *prefix, const char *const *argv)
{
	fputs(prefix, out);
	for (int i = 0; argv[i] != NULL; i++)
	{
		const char *a = argv[i];

		if (i > 0)
			fputc(' ', out);
		if (a[0] != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,@%+") == strlen(a))
			fputs(a, out);
		else
		{
			fputc('\'', out);
			for (; *a; a++)
			{
				if (*a == '\'')
					fputs("'\\''", out);
				else
					fputc(*a, out);
			}
			fputc('\'', out);
		}
	}
	fputc('\n', out);
}

/* ----- files */

bool
ctl_file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The whole file, NUL-terminated, or NULL with errno set. */
char *
ctl_read_file(const char *path, size_t *len)
{
	int			fd = open(path, O_RDONLY | PG_BINARY, 0);
	PQExpBufferData buf;
	char		chunk[8192];
	ssize_t		n;
	char	   *result;

	if (fd < 0)
		return NULL;
	initPQExpBuffer(&buf);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0)
	{
		if (n < 0)
		{
			int			save = errno;

			if (errno == EINTR)
				continue;
			close(fd);
			termPQExpBuffer(&buf);
			errno = save;
			return NULL;
		}
		appendBinaryPQExpBuffer(&buf, chunk, n);
	}
	close(fd);
	if (PQExpBufferBroken(&buf))
	{
		termPQExpBuffer(&buf);
		errno = ENOMEM;
		return NULL;
	}
	if (len)
		*len = buf.len;
	result = pg_malloc(buf.len + 1);
	memcpy(result, buf.data, buf.len + 1);
	termPQExpBuffer(&buf);
	return result;
}

/* Write (or append) content to path, created with mode; logs errors. */
bool
ctl_write_file(const char *path, const char *content, int mode, bool append)
{
	int			fd;
	size_t		len = strlen(content);
	size_t		done = 0;

	fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | PG_BINARY,
			  mode);
	if (fd < 0)
	{
		pg_log_error("could not open file \"%s\" for writing: %m", path);
		return false;
	}
	while (done < len)
	{
		ssize_t		n = write(fd, content + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			if (n == 0)
				errno = ENOSPC;
			pg_log_error("could not write file \"%s\": %m", path);
			close(fd);
			return false;
		}
		done += n;
	}
	if (fsync(fd) != 0 || close(fd) != 0)
	{
		pg_log_error("could not write file \"%s\": %m", path);
		return false;
	}
	return true;
}

/* Copy src to dst (replaced), keeping src's permission bits. */
bool
ctl_copy_file(const char *src, const char *dst)
{
	struct stat st;
	size_t		len;
	char	   *content;
	int			fd;
	size_t		done = 0;

	if (stat(src, &st) != 0 || (content = ctl_read_file(src, &len)) == NULL)
	{
		pg_log_error("could not read file \"%s\": %m", src);
		return false;
	}
	(void) unlink(dst);
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, st.st_mode & 07777);
	if (fd < 0)
	{
		pg_log_error("could not open file \"%s\" for writing: %m", dst);
		pg_free(content);
		return false;
	}
	while (done < len)
	{
		ssize_t		n = write(fd, content + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			if (n == 0)
				errno = ENOSPC;
			pg_log_error("could not write file \"%s\": %m", dst);
			close(fd);
			pg_free(content);
			return false;
		}
		done += n;
	}
	pg_free(content);
	if (fsync(fd) != 0 || close(fd) != 0)
	{
		pg_log_error("could not write file \"%s\": %m", dst);
		return false;
	}
	return true;
}

/* ----- quoting */

/* a literal malloc'd by quote.c, appended and freed */
static void
append_literal(PQExpBuffer buf, char *literal)
{
	if (literal == NULL)
		pg_fatal("out of memory");
	appendPQExpBufferStr(buf, literal);
	free(literal);
}

/* name = 'value' as postgresql.conf reads it */
void
ctl_append_conf_value(PQExpBuffer buf, const char *name, const char *value)
{
	appendPQExpBuffer(buf, "%s = ", name);
	append_literal(buf, pgha_conf_literal(value));
	appendPQExpBufferChar(buf, '\n');
}

/*
 * keyword=value for a libpq connection string, separated from what buf
 * holds by a blank; the value quoted when it must be.
 */
void
ctl_append_conninfo_value(PQExpBuffer buf, const char *keyword,
						  const char *value)
{
	if (buf->len > 0)
		appendPQExpBufferChar(buf, ' ');
	if (value[0] != '\0' && strpbrk(value, " \t\r\n'\\") == NULL)
	{
		appendPQExpBuffer(buf, "%s=%s", keyword, value);
		return;
	}
	appendPQExpBuffer(buf, "%s=", keyword);
	append_literal(buf, pgha_conninfo_literal(value));
}

/*
 * Split host:port or [v6]:port (host may be empty unless host_required);
 * the host comes back without brackets.
 */
bool
ctl_split_host_port(const char *s, bool host_required, char *host,
					size_t hostlen, int *port)
{
	const char *colon;
	char	   *end;
	long		v;

	if (s == NULL || strlen(s) > 255 || strpbrk(s, " \t\r\n/@'\"\\") != NULL)
		return false;
	if (s[0] == '[')
	{
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':' || close == s + 1)
			return false;
		snprintf(host, hostlen, "%.*s", (int) (close - s - 1), s + 1);
		colon = close + 1;
	}
	else
	{
		colon = strrchr(s, ':');
		if (colon == NULL)
			return false;
		snprintf(host, hostlen, "%.*s", (int) (colon - s), s);
		if (strchr(host, ':') != NULL)
			return false;		/* IPv6 without brackets */
	}
	if (host_required && host[0] == '\0')
		return false;
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || v < 1 || v > 65535)
		return false;
	*port = (int) v;
	return true;
}

/* as the worker's check of pg_ha.replication_user */
bool
ctl_valid_role_name(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) < NAMEDATALEN &&
		strpbrk(s, " \t\r\n'\"\\:") == NULL;
}

/* name=value with a configuration parameter's name */
bool
ctl_valid_setting(const char *s, char *name, size_t namelen,
				  const char **value)
{
	const char *eq = strchr(s, '=');
	size_t		n;

	if (eq == NULL || eq == s)
		return false;
	n = eq - s;
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n == 0 || n >= namelen || n >= NAMEDATALEN)
		return false;
	memcpy(name, s, n);
	name[n] = '\0';
	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
		  name[0] == '_'))
		return false;
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") != n)
		return false;
	*value = eq + 1;
	while (**value == ' ')
		(*value)++;
	return strpbrk(*value, "\r\n") == NULL;
}

/* ----- the libpq password file */

/* Next field of a passfile line, unescaped; *p moves past its ':' */
static char *
passfile_field(const char **p, bool last)
{
	PQExpBufferData f;
	const char *s = *p;
	char	   *result;

	initPQExpBuffer(&f);
	while (*s != '\0' && (last || *s != ':'))
	{
		if (*s == '\\' && s[1] != '\0')
			s++;
		appendPQExpBufferChar(&f, *s);
		s++;
	}
	if (*s == ':')
		s++;
	*p = s;
	result = pg_strdup(f.data);
	termPQExpBuffer(&f);
	return result;
}

static bool
passfile_private(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
	{
		pg_log_error("password file \"%s\" is not a plain file", path);
		return false;
	}
	if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		pg_log_error("password file \"%s\" has group or world access", path);
		pg_log_error_hint("libpq ignores such a file; run chmod 0600 \"%s\".", path);
		return false;
	}
	return true;
}

/*
 * The password of user in the passfile: 1 with *password set (the first
 * entry naming user, or "*"), 0 when the file or an entry does not exist,
 * -1 when the file cannot be used (logged).
 */
int
ctl_passfile_lookup(const char *path, const char *user, char **password)
{
	struct stat st;
	char	   *content;
	char	   *line;
	char	   *next;
	int			found = 0;

	*password = NULL;
	if (stat(path, &st) != 0)
	{
		if (errno == ENOENT)
			return 0;
		pg_log_error("could not stat password file \"%s\": %m", path);
		return -1;
	}
	if (!passfile_private(path, &st))
		return -1;
	content = ctl_read_file(path, NULL);
	if (content == NULL)
	{
		pg_log_error("could not read password file \"%s\": %m", path);
		return -1;
	}
	for (line = content; line != NULL && found == 0; line = next)
	{
		const char *p = line;
		char	   *fields[5];
		size_t		len;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		len = strlen(line);
		while (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		for (int i = 0; i < 5; i++)
			fields[i] = passfile_field(&p, i == 4);
		if ((strcmp(fields[3], user) == 0 || strcmp(fields[3], "*") == 0) &&
			fields[4][0] != '\0')
		{
			*password = pg_strdup(fields[4]);
			found = 1;
		}
		for (int i = 0; i < 5; i++)
		{
			explicit_bzero(fields[i], strlen(fields[i]));
			pg_free(fields[i]);
		}
	}
	explicit_bzero(content, strlen(content));
	pg_free(content);
	return found;
}

static void
append_passfile_escaped(PQExpBuffer buf, const char *s)
{
	for (; *s; s++)
	{
		if (*s == ':' || *s == '\\')
			appendPQExpBufferChar(buf, '\\');
		appendPQExpBufferChar(buf, *s);
	}
}

/* Append "*:*:*:user:password" to the passfile, created with mode 0600. */
bool
ctl_passfile_add(const char *path, const char *user, const char *password)
{
	struct stat st;
	PQExpBufferData line;
	bool		need_newline = false;
	bool		ok;

	if (stat(path, &st) == 0)
	{
		size_t		len;
		char	   *content;

		if (!passfile_private(path, &st))
			return false;
		content = ctl_read_file(path, &len);
		if (content != NULL)
		{
			need_newline = len > 0 && content[len - 1] != '\n';
			explicit_bzero(content, len);
			pg_free(content);
		}
	}
	initPQExpBuffer(&line);
	if (need_newline)
		appendPQExpBufferChar(&line, '\n');
	appendPQExpBufferStr(&line, "*:*:*:");
	append_passfile_escaped(&line, user);
	appendPQExpBufferChar(&line, ':');
	append_passfile_escaped(&line, password);
	appendPQExpBufferChar(&line, '\n');
	ok = ctl_write_file(path, line.data, S_IRUSR | S_IWUSR, true);
	explicit_bzero(line.data, line.len);
	termPQExpBuffer(&line);
	return ok;
}

/* len - 1 random letters and digits from /dev/urandom, NUL-terminated */
bool
ctl_random_password(char *buf, size_t len)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	int			fd = open("/dev/urandom", O_RDONLY, 0);
	size_t		i = 0;

	if (fd < 0)
	{
		pg_log_error("could not open \"/dev/urandom\": %m");
		return false;
	}
	while (i < len - 1)
	{
		unsigned char b;
		ssize_t		n = read(fd, &b, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
		{
			pg_log_error("could not read \"/dev/urandom\": %m");
			close(fd);
			return false;
		}
		/* 248 = 4 * 62: no bias */
		if (b < 248)
			buf[i++] = alphabet[b % 62];
	}
	buf[i] = '\0';
	close(fd);
	return true;
}

/* ----- data directories */

/* Does pg_ctl status see a server running in pgdata? */
bool
ctl_server_running(const char *pgdata)
{
	PQExpBufferData out;
	const char *argv[] = {ctl_tool("pg_ctl"), "status", "-D", pgdata, NULL};
	int			rc;

	initPQExpBuffer(&out);
	rc = ctl_run(argv, &out);
	termPQExpBuffer(&out);
	return rc == 0;
}

/* The database system identifier from global/pg_control, in decimal. */
bool
ctl_read_sysid(const char *pgdata, char *sysid, size_t len)
{
	ControlFileData *control;
	bool		crc_ok;
	char	   *path = psprintf("%s/global/pg_control", pgdata);

	if (!ctl_file_exists(path))
	{
		pg_log_error("\"%s\" has no file global/pg_control", pgdata);
		pg_free(path);
		return false;
	}
	pg_free(path);
	control = get_controlfile(pgdata, &crc_ok);
	if (!crc_ok)
	{
		pg_log_error("the control file of \"%s\" has a bad checksum", pgdata);
		pg_free(control);
		return false;
	}
	snprintf(sysid, len, UINT64_FORMAT, control->system_identifier);
	pg_free(control);
	return true;
}
