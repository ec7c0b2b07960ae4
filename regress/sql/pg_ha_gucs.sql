-- Settings: defaults, and bad values refused with a clear message.
SHOW pg_ha.cluster;
SHOW pg_ha.node_name;
SHOW pg_ha.namespace;
SHOW pg_ha.consul_url;
SHOW pg_ha.connect_address;
SHOW pg_ha.api_listen;
SHOW pg_ha.ttl;
SHOW pg_ha.loop_wait;
SHOW pg_ha.retry_timeout;
SHOW pg_ha.lock_delay;
SHOW pg_ha.nofailover;
SHOW pg_ha.replication_user;
SHOW pg_ha.passfile;
SHOW pg_ha.member_slots_ttl;

-- not settable in a session
SET pg_ha.ttl = '20s';
SET pg_ha.cluster = 'other';

-- the prefix is reserved: typos are caught
SET pg_ha.ttll = '20s';

-- bad values never reach the configuration
ALTER SYSTEM SET pg_ha.ttl = '500ms';
ALTER SYSTEM SET pg_ha.ttl = 30;
ALTER SYSTEM SET pg_ha.loop_wait = '-1s';
ALTER SYSTEM SET pg_ha.retry_timeout = 'soon';
ALTER SYSTEM SET pg_ha.consul_url = 'ftp://127.0.0.1:8500';
ALTER SYSTEM SET pg_ha.consul_url = 'http://127.0.0.1:8500/';
ALTER SYSTEM SET pg_ha.consul_url = 'http://';
ALTER SYSTEM SET pg_ha.consul_url = 'http://127.0.0.1:8500?x=1';
ALTER SYSTEM SET pg_ha.cluster = 'otus/prod';
ALTER SYSTEM SET pg_ha.cluster = '..';
ALTER SYSTEM SET pg_ha.node_name = 'pg 1';
ALTER SYSTEM SET pg_ha.node_name = 'a_name_that_is_far_too_long_to_be_a_consul_key_component_of_pg_ha';
ALTER SYSTEM SET pg_ha.namespace = '';
ALTER SYSTEM SET pg_ha.connect_address = '10.0.0.11';
ALTER SYSTEM SET pg_ha.connect_address = '10.0.0.11:0';
ALTER SYSTEM SET pg_ha.connect_address = ':5432';
ALTER SYSTEM SET pg_ha.api_listen = '0.0.0.0:http';
ALTER SYSTEM SET pg_ha.lock_delay = '2min';
ALTER SYSTEM SET pg_ha.replication_user = 'repl user';
ALTER SYSTEM SET pg_ha.replication_user = '';
ALTER SYSTEM SET pg_ha.passfile = 'pgpass';

-- good values are accepted, and removed again
ALTER SYSTEM SET pg_ha.consul_url = 'https://consul.example:8501';
ALTER SYSTEM SET pg_ha.connect_address = '[::1]:5432';
ALTER SYSTEM SET pg_ha.api_listen = ':8008';
ALTER SYSTEM SET pg_ha.ttl = '20s';
ALTER SYSTEM SET pg_ha.passfile = '/var/lib/postgresql/.pgpass';
ALTER SYSTEM RESET ALL;

-- the Consul token is for superusers only
CREATE ROLE regress_pg_ha_guc_user;
SET ROLE regress_pg_ha_guc_user;
SHOW pg_ha.consul_token;
RESET ROLE;
DROP ROLE regress_pg_ha_guc_user;
