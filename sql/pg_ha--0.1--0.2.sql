/* sql/pg_ha--0.1--0.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_ha UPDATE TO '0.2'" to load this file. \quit

-- 0.2 adds pg_ha_reinit(); every object of 0.1 stays as it was.

CREATE FUNCTION pg_ha_reinit(member text)
RETURNS text
AS 'MODULE_PATHNAME', 'pg_ha_reinit'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION pg_ha_reinit(text) IS 'clone a replica again from the leader (POST /reinitialize to its REST API, as patronictl reinit)';

REVOKE ALL ON FUNCTION pg_ha_reinit(text) FROM PUBLIC;
