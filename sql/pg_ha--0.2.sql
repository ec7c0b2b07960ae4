/* sql/pg_ha--0.2.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_ha" to load this file. \quit

CREATE FUNCTION pg_ha_node_info(
	OUT node_name text,
	OUT cluster text,
	OUT role text,
	OUT fenced boolean,
	OUT fence_reason text,
	OUT lease_remaining interval,
	OUT last_consul_contact timestamptz,
	OUT last_action text,
	OUT last_reason text,
	OUT last_error text,
	OUT worker_pid integer,
	OUT ttl interval,
	OUT loop_wait interval,
	OUT retry_timeout interval)
RETURNS record
AS 'MODULE_PATHNAME', 'pg_ha_node_info'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION pg_ha_node_info() IS 'pg_ha state of the local node, from shared memory';

CREATE VIEW pg_ha_node AS SELECT * FROM pg_ha_node_info();

COMMENT ON VIEW pg_ha_node IS 'pg_ha state of the local node: role, fencing, lease, last Consul contact';

CREATE FUNCTION pg_ha_members(
	OUT member text,
	OUT host text,
	OUT port integer,
	OUT role text,
	OUT state text,
	OUT timeline bigint,
	OUT lag_mb bigint,
	OUT pending_restart boolean,
	OUT as_of timestamptz,
	OUT last_seen timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_ha_members'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION pg_ha_members() IS 'members of the pg_ha cluster as last read from Consul';

CREATE VIEW pg_ha_status AS SELECT * FROM pg_ha_members() ORDER BY member;

COMMENT ON VIEW pg_ha_status IS 'members of the pg_ha cluster, as patronictl list shows them; a stopped member with state stopped and when it was last seen';

REVOKE ALL ON FUNCTION pg_ha_node_info() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_ha_members() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_ha_node_info() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pg_ha_members() TO pg_monitor;
GRANT SELECT ON pg_ha_node, pg_ha_status TO pg_monitor;

-- Operator actions: superusers only unless granted.

CREATE FUNCTION pg_ha_switchover(candidate text DEFAULT NULL,
								 scheduled_at timestamptz DEFAULT NULL,
								 wait boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'pg_ha_switchover'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pg_ha_switchover(text, timestamptz, boolean) IS 'hand the leader role over to a replica (the healthiest when no candidate is named), now or at a time (wait: until the new leader holds the key, on a replica)';

CREATE FUNCTION pg_ha_failover(candidate text, force boolean DEFAULT false,
							   wait boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'pg_ha_failover'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION pg_ha_failover(text, boolean, boolean) IS 'make the candidate the leader, also when the cluster has no healthy leader (force: also a member that is not the synchronous standby; wait: until the new leader holds the key, on a replica)';

CREATE FUNCTION pg_ha_pause()
RETURNS text
AS 'MODULE_PATHNAME', 'pg_ha_pause'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pg_ha_pause() IS 'maintenance mode: no automatic failover until pg_ha_resume()';

CREATE FUNCTION pg_ha_resume()
RETURNS text
AS 'MODULE_PATHNAME', 'pg_ha_resume'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pg_ha_resume() IS 'end maintenance mode';

REVOKE ALL ON FUNCTION pg_ha_switchover(text, timestamptz, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_ha_failover(text, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_ha_pause() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_ha_resume() FROM PUBLIC;

-- Cluster-wide configuration and restarts.

CREATE FUNCTION pg_ha_config()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pg_ha_config'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pg_ha_config() IS 'the cluster-wide configuration (Consul config key, Patroni format)';

CREATE FUNCTION pg_ha_set_config(name text, value text)
RETURNS text
AS 'MODULE_PATHNAME', 'pg_ha_set_config'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pg_ha_set_config(text, text) IS 'set (NULL: remove) a PostgreSQL parameter on every node, an HA timing (ttl, loop_wait, retry_timeout), or synchronous_mode, synchronous_mode_strict, synchronous_node_count; validated first';

CREATE FUNCTION pg_ha_reload()
RETURNS text
AS 'MODULE_PATHNAME', 'pg_ha_reload'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pg_ha_reload() IS 'reload the configuration of this node';

CREATE FUNCTION pg_ha_restart(member text DEFAULT NULL, pending_only boolean DEFAULT false,
							  scheduled_at timestamptz DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pg_ha_restart'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pg_ha_restart(text, boolean, timestamptz) IS 'restart a member, or every member (NULL) in the order hot standby needs, keeping the leader lock';

CREATE FUNCTION pg_ha_reinit(member text)
RETURNS text
AS 'MODULE_PATHNAME', 'pg_ha_reinit'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION pg_ha_reinit(text) IS 'clone a replica again from the leader (POST /reinitialize to its REST API, as patronictl reinit)';

REVOKE ALL ON FUNCTION pg_ha_config() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_ha_config() TO pg_monitor;
REVOKE ALL ON FUNCTION pg_ha_set_config(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_ha_reload() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_ha_restart(text, boolean, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_ha_reinit(text) FROM PUBLIC;

-- Timeline history (the history key, Patroni's format), from shared memory.

CREATE FUNCTION pg_ha_history_entries(
	OUT timeline bigint,
	OUT switch_lsn pg_lsn,
	OUT reason text,
	OUT switched_at timestamptz,
	OUT new_leader text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_ha_history_entries'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW pg_ha_history AS SELECT * FROM pg_ha_history_entries() ORDER BY timeline;

COMMENT ON VIEW pg_ha_history IS 'timeline switches of the cluster: the timeline left, where, why, when, the new leader';

REVOKE ALL ON FUNCTION pg_ha_history_entries() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_ha_history_entries() TO pg_monitor;
GRANT SELECT ON pg_ha_history TO pg_monitor;
