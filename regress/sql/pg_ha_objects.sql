-- The extension's objects, with pg_ha loaded but inactive (no cluster).
CREATE EXTENSION pg_ha;

SELECT e.extname, e.extversion FROM pg_extension e WHERE e.extname = 'pg_ha';

-- the local node: inactive, never fenced, no worker
SELECT node_name, cluster, role, fenced, fence_reason, lease_remaining,
       last_consul_contact, worker_pid, ttl
  FROM pg_ha_node;

-- no Consul read yet: no members
SELECT count(*) FROM pg_ha_status;

\d pg_ha_status

-- reading is for pg_monitor, not for everyone
CREATE ROLE regress_pg_ha_user;
SELECT has_table_privilege('regress_pg_ha_user', 'pg_ha_status', 'SELECT') AS anyone_status,
       has_table_privilege('regress_pg_ha_user', 'pg_ha_node', 'SELECT') AS anyone_node,
       has_function_privilege('regress_pg_ha_user', 'pg_ha_members()', 'EXECUTE') AS anyone_fn,
       has_table_privilege('pg_monitor', 'pg_ha_status', 'SELECT') AS monitor_status,
       has_table_privilege('pg_monitor', 'pg_ha_node', 'SELECT') AS monitor_node;
SET ROLE regress_pg_ha_user;
SELECT role FROM pg_ha_node;
SELECT * FROM pg_ha_members();
RESET ROLE;
GRANT pg_monitor TO regress_pg_ha_user;
SET ROLE regress_pg_ha_user;
SELECT role, fenced FROM pg_ha_node;
SELECT count(*) FROM pg_ha_status;
RESET ROLE;
DROP ROLE regress_pg_ha_user;

DROP EXTENSION pg_ha;
