/*-------------------------------------------------------------------------
 *
 * restart_order.c
 *	  The order of restarts that hot standby allows (restart_order.h).
 *
 * A greedy simulation: each member to restart runs, once restarted, with
 * the values the config key sets; the first member whose restart keeps
 * every running standby at or above its primary goes next.
 *
 * What this file is not for: restarting, or deciding when a requested
 * restart may start (the HA worker), or reading the restart requests
 * from Consul (cluster.c).
 *
 * src/common/restart_order.c
 *
 *-------------------------------------------------------------------------
 */
#include "restart_order.h"
#include "cluster.h"
#include "config_key.h"
#include "json_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct RestartSim
{
	const PgHaCluster *c;
	int			leader;			/* member index, -1: none */
	bool		configured[PGHA_HS_NPARAMS];
	int64_t		conf_value[PGHA_HS_NPARAMS];
	int64_t		running[PGHA_MAX_MEMBERS][PGHA_HS_NPARAMS];	/* as simulated */
} RestartSim;

/* the hot standby values the config key sets */
static void
configured_hs_values(const PgHaCluster *c, bool configured[PGHA_HS_NPARAMS],
					 int64_t values[PGHA_HS_NPARAMS])
{
	PgHaParam  *params = calloc(PGHA_MAX_PARAMS, sizeof(PgHaParam));
	int			nparams;

	memset(configured, 0, sizeof(bool) * PGHA_HS_NPARAMS);
	if (params == NULL)
		return;
	/* a config we cannot read sets nothing: PostgreSQL's check came first */
	nparams = c->config_valid ?
		pgha_config_parameters(c->config_json, params, PGHA_MAX_PARAMS, NULL, 0) : 0;
	for (int i = 0; i < nparams; i++)
		for (int k = 0; k < PGHA_HS_NPARAMS; k++)
		{
			long long	v;

			if (strcmp(params[i].name, pgha_hs_param_names[k]) == 0 &&
				pgha_value_is_integer(params[i].value, &v) && v >= 0)
			{
				configured[k] = true;
				values[k] = (int64_t) v;
			}
		}
	free(params);
}

void
pgha_hs_targets(const PgHaCluster *c, const int64_t running[PGHA_HS_NPARAMS],
				int64_t targets[PGHA_HS_NPARAMS])
{
	bool		configured[PGHA_HS_NPARAMS];
	int64_t		values[PGHA_HS_NPARAMS];

	configured_hs_values(c, configured, values);
	for (int k = 0; k < PGHA_HS_NPARAMS; k++)
		targets[k] = configured[k] ? values[k] : running[k];
}

static int64_t
sim_target(const RestartSim *s, int m, int k)
{
	return s->configured[k] ? s->conf_value[k] : s->running[m][k];
}

/* Is restarting member m safe now?  If not, why in msg and hint. */
static bool
sim_safe(const RestartSim *s, int m, char *msg, size_t msglen,
		 char *hint, size_t hintlen)
{
	const PgHaCluster *c = s->c;
	const char *name = c->members[m].name;

	if (!c->members[m].has_hs_values || s->leader < 0)
		return true;
	if (m == s->leader)
	{
		char		lower[PGHA_NAME_LEN * 4] = "";
		bool		ok = true;

		for (int r = 0; r < c->nmembers && r < PGHA_MAX_MEMBERS; r++)
		{
			bool		blocked = false;

			if (r == m || !c->members[r].has_hs_values)
				continue;
			for (int k = 0; k < PGHA_HS_NPARAMS; k++)
			{
				if (sim_target(s, m, k) <= s->running[r][k])
					continue;
				if (ok)
					pgha_set_error(msg, msglen,
								   "restarting leader \"%s\" now would stop replica \"%s\": the leader's %s would become %lld, and \"%s\" runs with %lld",
								   name, c->members[r].name, pgha_hs_param_names[k],
								   (long long) sim_target(s, m, k), c->members[r].name,
								   (long long) s->running[r][k]);
				ok = false;
				blocked = true;
				break;
			}
			if (blocked && strlen(lower) + strlen(c->members[r].name) + 3 < sizeof(lower))
			{
				if (lower[0])
					strcat(lower, ", ");
				strcat(lower, c->members[r].name);
			}
		}
		if (!ok)
			pgha_set_error(hint, hintlen,
						   "A hot standby needs these parameters at least as high as its primary's: restart the replicas first (%s), then the leader \"%s\"; or restart the whole cluster, which orders the restarts itself.",
						   lower, name);
		return ok;
	}
	for (int k = 0; k < PGHA_HS_NPARAMS; k++)
	{
		if (!c->members[s->leader].has_hs_values ||
			sim_target(s, m, k) >= s->running[s->leader][k])
			continue;
		pgha_set_error(msg, msglen,
					   "restarting replica \"%s\" now would stop it: its %s would become %lld, below the %lld that leader \"%s\" runs with",
					   name, pgha_hs_param_names[k], (long long) sim_target(s, m, k),
					   (long long) s->running[s->leader][k], c->members[s->leader].name);
		pgha_set_error(hint, hintlen,
					   "A hot standby needs these parameters at least as high as its primary's: restart the leader \"%s\" first, then the replicas; or restart the whole cluster, which orders the restarts itself.",
					   c->members[s->leader].name);
		return false;
	}
	return true;
}

static int
member_index(const PgHaCluster *c, const char *name)
{
	for (int i = 0; i < c->nmembers && i < PGHA_MAX_MEMBERS; i++)
		if (strncmp(c->members[i].name, name, PGHA_NAME_LEN) == 0)
			return i;
	return -1;
}

bool
pgha_restart_order(const PgHaCluster *c, const char *const *names, int n,
				   char (*order)[PGHA_NAME_LEN], char *msg, size_t msglen,
				   char *hint, size_t hintlen)
{
	RestartSim *s;
	int			todo[PGHA_MAX_MEMBERS];
	int			ntodo = 0;
	int			done = 0;
	bool		ok = true;

	if (c == NULL || (names == NULL && n > 0) || n < 0 || n > PGHA_MAX_MEMBERS)
	{
		pgha_set_error(msg, msglen, "invalid arguments to pgha_restart_order");
		return false;
	}
	s = calloc(1, sizeof(RestartSim));
	if (s == NULL)
	{
		pgha_set_error(msg, msglen, "out of memory");
		return false;
	}
	s->c = c;
	s->leader = (c->has_leader && c->leader_session[0] != '\0') ?
		member_index(c, c->leader) : -1;
	for (int i = 0; i < c->nmembers && i < PGHA_MAX_MEMBERS; i++)
		memcpy(s->running[i], c->members[i].hs_values, sizeof(s->running[i]));

	configured_hs_values(c, s->configured, s->conf_value);

	/* the members to restart: replicas by name, then the leader */
	for (int i = 0; i < n; i++)
	{
		int			m = member_index(c, names[i]);
		bool		dup = false;

		if (m < 0)
		{
			pgha_set_error(msg, msglen, "cluster has no member \"%s\"", names[i]);
			pgha_set_error(hint, hintlen, "Name a member of the cluster.");
			ok = false;
			goto done;
		}
		for (int j = 0; j < ntodo; j++)
			dup |= todo[j] == m;
		if (!dup)
			todo[ntodo++] = m;
	}
	for (int i = 1; i < ntodo; i++)
		for (int j = i; j > 0; j--)
		{
			int			a = todo[j - 1];
			int			b = todo[j];
			bool		swap = (a == s->leader) ||
				(b != s->leader && strcmp(c->members[a].name, c->members[b].name) > 0);

			if (!swap)
				break;
			todo[j - 1] = b;
			todo[j] = a;
		}

	/* greedily: the first member whose restart is safe now, again and again */
	while (done < ntodo)
	{
		int			pick = -1;
		char		first_msg[PGHA_ERR_LEN * 2] = "";
		char		first_hint[PGHA_ERR_LEN * 2] = "";

		for (int i = done; i < ntodo && pick < 0; i++)
		{
			char		m_msg[PGHA_ERR_LEN * 2];
			char		m_hint[PGHA_ERR_LEN * 2];

			if (sim_safe(s, todo[i], m_msg, sizeof(m_msg), m_hint, sizeof(m_hint)))
				pick = i;
			else if (first_msg[0] == '\0')
			{
				strcpy(first_msg, m_msg);
				strcpy(first_hint, m_hint);
			}
		}
		if (pick < 0)
		{
			if (ntodo - done == 1)
			{
				pgha_set_error(msg, msglen, "%s", first_msg);
				pgha_set_error(hint, hintlen, "%s", first_hint);
			}
			else
			{
				pgha_set_error(msg, msglen,
							   "no order of these restarts is safe for hot standby: the new values raise some of %s, %s, %s, %s, %s and lower others (%s)",
							   pgha_hs_param_names[0], pgha_hs_param_names[1],
							   pgha_hs_param_names[2], pgha_hs_param_names[3],
							   pgha_hs_param_names[4], first_msg);
				pgha_set_error(hint, hintlen,
							   "Change the raised and the lowered parameters in two steps, with a restart of the cluster after each.");
			}
			ok = false;
			goto done;
		}
		/* the picked member runs with its new values from now on */
		{
			int			m = todo[pick];

			for (int k = 0; k < PGHA_HS_NPARAMS; k++)
				s->running[m][k] = sim_target(s, m, k);
			memmove(&todo[done + 1], &todo[done], sizeof(int) * (pick - done));
			todo[done] = m;
			if (order != NULL)
				snprintf(order[done], PGHA_NAME_LEN, "%s", c->members[m].name);
			done++;
		}
	}
done:
	free(s);
	return ok;
}
