-- Who may run what: every function of the extension is closed to PUBLIC;
-- pg_monitor may run the read functions and read the views, never an
-- action.  The checks go over every function the extension owns, so a new
-- one that forgets its REVOKE fails here.
CREATE EXTENSION pg_ha;
CREATE ROLE regress_pg_ha_plain;
CREATE ROLE regress_pg_ha_monitor IN ROLE pg_monitor;

CREATE TEMP VIEW ext_functions AS
SELECT p.oid, p.proname,
       (SELECT coalesce(string_agg(format('(SELECT NULL::%s)', format_type(t, NULL)), ', '), '')
          FROM unnest(p.proargtypes) AS t) AS null_args
  FROM pg_depend d
  JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_ha');
GRANT SELECT ON ext_functions TO PUBLIC;

-- the functions that only read (the views are made of them)
CREATE TEMP TABLE read_functions (proname name);
INSERT INTO read_functions VALUES
  ('pg_ha_node_info'), ('pg_ha_members'), ('pg_ha_config'), ('pg_ha_history_entries');
GRANT SELECT ON read_functions TO PUBLIC;

-- there are actions to protect
SELECT count(*) >= 7 AS has_actions
  FROM ext_functions WHERE proname NOT IN (SELECT proname FROM read_functions);

-- no function of pg_ha runs for PUBLIC: expect no rows
SELECT oid::regprocedure AS open_to_public
  FROM ext_functions
 WHERE has_function_privilege('regress_pg_ha_plain', oid, 'EXECUTE');

-- pg_monitor runs the read functions and nothing else: expect no rows
SELECT oid::regprocedure AS wrong_for_pg_monitor,
       has_function_privilege('regress_pg_ha_monitor', oid, 'EXECUTE') AS monitor_may_run
  FROM ext_functions
 WHERE has_function_privilege('regress_pg_ha_monitor', oid, 'EXECUTE')
       <> (proname IN (SELECT proname FROM read_functions));

-- the views: pg_monitor reads them, PUBLIC does not
SELECT c.relname,
       has_table_privilege('regress_pg_ha_plain', c.oid, 'SELECT') AS plain,
       has_table_privilege('regress_pg_ha_monitor', c.oid, 'SELECT') AS monitor
  FROM pg_depend d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_ha')
 ORDER BY c.relname;

-- Call every action as a plain user and as a pg_monitor member: each call
-- must fail with permission denied (42501) before it does anything.  The
-- rows are the calls that did not.  The NULLs come from subqueries: the
-- planner would fold a STRICT function of a NULL constant away, and with
-- it the privilege check.
CREATE TEMP TABLE call_results (who name, fn text, outcome text);
GRANT INSERT ON call_results TO PUBLIC;
CREATE FUNCTION pg_temp.call_all(only_actions boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  f record;
BEGIN
  FOR f IN SELECT * FROM ext_functions
            WHERE NOT only_actions
               OR proname NOT IN (SELECT proname FROM read_functions)
            ORDER BY proname
  LOOP
    BEGIN
      EXECUTE format('SELECT %I(%s)', f.proname, f.null_args);
      INSERT INTO call_results VALUES (current_user, f.proname, 'ran');
    EXCEPTION
      WHEN insufficient_privilege THEN
        INSERT INTO call_results VALUES (current_user, f.proname, 'denied');
      WHEN OTHERS THEN
        INSERT INTO call_results VALUES (current_user, f.proname, SQLSTATE || ': ' || SQLERRM);
    END;
  END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.call_all(boolean) TO PUBLIC;

SET ROLE regress_pg_ha_plain;
SELECT pg_temp.call_all(false);
RESET ROLE;
SET ROLE regress_pg_ha_monitor;
SELECT pg_temp.call_all(true);
RESET ROLE;

SELECT who, count(*) FILTER (WHERE outcome = 'denied') > 0 AS some_denied
  FROM call_results GROUP BY who ORDER BY who;
-- expect no rows
SELECT who, fn, outcome FROM call_results WHERE outcome <> 'denied' ORDER BY who, fn;

-- the message a plain user sees
SET ROLE regress_pg_ha_plain;
SELECT pg_ha_switchover('pg2');
SELECT pg_ha_failover('pg2');
SELECT pg_ha_pause();
SELECT pg_ha_set_config('work_mem', '8MB');
SELECT * FROM pg_ha_status;
RESET ROLE;

-- the secrets are for superusers (their value never shows: 160_secrets.pl)
SET ROLE regress_pg_ha_plain;
SHOW pg_ha.api_auth;
SHOW pg_ha.consul_token;
RESET ROLE;

DROP FUNCTION pg_temp.call_all(boolean);
DROP ROLE regress_pg_ha_plain;
DROP ROLE regress_pg_ha_monitor;
DROP EXTENSION pg_ha;
