# One node becomes leader through Consul, strangers and twins stay fenced,
# the lease runs out when Consul goes away and comes back with it, garbage
# in Consul changes nothing, and bad settings are refused.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use IPC::Run;

use PgHaTest;

my $consul = PgHaTest::Consul->start(persistent => 1);
my $cluster = 'otus';
my $prefix = "service/$cluster";
my %common = (cluster => $cluster, consul => $consul);
my $ttl_s = 10;

sub log_matches
{
	my ($node, $re) = @_;
	return slurp_file($node->logfile) =~ $re;
}

# A connection that fails: its stderr.
sub connect_error
{
	my ($node) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', 'SELECT 1');
	return $ret == 0 ? undef : $err;
}

# ---------------------------------------------------------------------
# 1. The first node initializes the cluster and becomes leader.

# restart_after_crash: PostgreSQL's default, which the test framework turns off
my $pg1 = PgHaTest::new_node('pg1', %common, extra_conf => 'restart_after_crash = on');
$pg1->start;
ok( PgHaTest::poll_until(
		'pg1 accepts connections', 30,
		sub { $pg1->psql('postgres', 'SELECT 1') == 0 }),
	'pg1 accepts connections once it holds the leader key');

$pg1->safe_psql('postgres', 'CREATE EXTENSION pg_ha');
is($pg1->safe_psql('postgres', 'SELECT role, fenced FROM pg_ha_node'),
	'leader|f', 'pg_ha_node: pg1 is an unfenced leader');
my $lease = $pg1->safe_psql('postgres',
	'SELECT extract(epoch FROM lease_remaining) FROM pg_ha_node');
ok($lease > 0 && $lease <= $ttl_s, "lease left ($lease s) is within ttl");

my $sysid = $pg1->safe_psql('postgres',
	'SELECT system_identifier FROM pg_control_system()');
is($consul->kv_get("$prefix/initialize"), $sysid,
	'initialize holds the system identifier');
is($consul->kv_get("$prefix/leader"), 'pg1', 'leader key names pg1');

my $member = $consul->kv_get_json("$prefix/members/pg1");
is($member->{role},  'master',  'member record: role');
is($member->{state}, 'running', 'member record: state');
is($member->{conn_url}, 'postgres://127.0.0.1:' . $pg1->port . '/postgres',
	'member record: conn_url');
my ($api_listen) = slurp_file($pg1->data_dir . '/postgresql.conf') =~ /^pg_ha\.api_listen = '([^']+)'/m;
is($member->{api_url}, "http://$api_listen/patroni", 'member record: api_url');
is($member->{timeline}, 1, 'member record: timeline');
like($member->{xlog_location}, qr/^\d+$/, 'member record: xlog_location');

my $session = $consul->kv_session("$prefix/leader");
ok(defined $session, 'leader key is locked by a session');
is($consul->kv_session("$prefix/members/pg1"), $session,
	'member record is bound to the same session');
my $config = $consul->kv_get_json("$prefix/config");
is($config->{ttl}, $ttl_s, 'config key written with the ttl');
is($config->{postgresql}{use_pg_rewind}, JSON::PP::true, 'config key in Patroni format');

$pg1->safe_psql('postgres', 'CREATE TABLE t (id int); INSERT INTO t VALUES (1)');
is($pg1->safe_psql('postgres', 'SELECT count(*) FROM t'), '1', 'leader takes writes');

ok( PgHaTest::poll_until(
		'pg_ha_status lists pg1', 10,
		sub {
			$pg1->safe_psql('postgres',
				'SELECT member, role, state, timeline, port FROM pg_ha_status') eq
			  'pg1|Leader|running|1|' . $pg1->port;
		}),
	'pg_ha_status shows pg1 as Leader');

my ($out, $err);
IPC::Run::run([ 'pg_ha_ctl', 'list', '--cluster', $cluster,
		'--consul-url', $consul->http_url ], '>', \$out, '2>', \$err);
like($out, qr/^\| pg1 +\| 127\.0\.0\.1:\d+ +\| Leader +\| running +\| +1 \|/m,
	'pg_ha_ctl list shows pg1 as Leader');
like($out, qr/\Q$sysid\E/, 'pg_ha_ctl list shows the system identifier');

# ---------------------------------------------------------------------
# 2. Another database cluster under the same name refuses to join.

my $stranger = PgHaTest::new_node('stranger', %common);
$stranger->start;
ok( PgHaTest::poll_until(
		'stranger refuses to join', 30,
		sub { log_matches($stranger, qr/refuses to join cluster "otus"/) }),
	'a node of another database cluster refuses to join, loudly');
like(connect_error($stranger) // '',
	qr/node "stranger" is fenced.*DETAIL:.*system identifier \d+ differs from the cluster's \Q$sysid\E/s,
	'the stranger refuses connections and says why');
ok(!defined $consul->kv_get("$prefix/members/stranger"),
	'the stranger publishes no member record');
is($consul->kv_get("$prefix/initialize"), $sysid, 'initialize unchanged');
is($consul->kv_get("$prefix/leader"), 'pg1', 'leader unchanged');
$stranger->stop;

# ---------------------------------------------------------------------
# 3. A copy of pg1 started as a primary under another name is fenced, then
#    demoted into a standby of pg1.

$pg1->backup('b1');
my $twin = PostgreSQL::Test::Cluster->new('pg3');
$twin->init_from_backup($pg1, 'b1');
$twin->append_conf('postgresql.conf', PgHaTest::pg_ha_conf($twin, 'pg3', %common));
PgHaTest::start_node($twin);
ok( PgHaTest::poll_until(
		'pg3 publishes its member record', 30,
		sub { defined $consul->kv_get("$prefix/members/pg3") }),
	'the copy joins the cluster as a member');
ok( PgHaTest::poll_until(
		'pg3 demotes', 30,
		sub { log_matches($twin, qr/demote: member "pg1" holds the leader key/) }),
	'the copy stays fenced and demotes: pg1 holds the leader key');
ok( PgHaTest::poll_until(
		'pg3 runs as a standby', 60,
		sub {
			$twin->psql('postgres', 'SELECT pg_is_in_recovery()', stdout => \my $r);
			($r // '') eq 't';
		}),
	'the copy was demoted into a standby');
$twin->_update_pid(1);
isnt($consul->kv_session("$prefix/members/pg3"), $session,
	'the copy did not reuse the session of the data directory it was copied from');
is($consul->kv_get("$prefix/leader"), 'pg1', 'leader unchanged');
$twin->stop;

# The same copy started under pg1's own name, with pg1's session file:
# it must not take pg1's session (and lock), and it says the name is taken.
my $dup = PostgreSQL::Test::Cluster->new('pg1dup');
$dup->init_from_backup($pg1, 'b1');
$dup->append_conf('postgresql.conf', PgHaTest::pg_ha_conf($dup, 'pg1', %common));
ok(-e $dup->data_dir . '/pg_ha.session', "the copy carries pg1's session file");
PgHaTest::start_node($dup);
ok( PgHaTest::poll_until(
		'the duplicate name is reported', 30,
		sub { log_matches($dup, qr/node name "pg1" is held by another node's session: is pg_ha.node_name used twice\?/) }),
	'a second node named pg1 is told that the name is used twice');
ok(log_matches($dup, qr/not reusing Consul session \Q$session\E/),
	"it does not reuse pg1's session");
is($consul->kv_session("$prefix/leader"), $session, 'pg1 keeps its session and lock');
is($consul->kv_get_json("$prefix/members/pg1")->{conn_url},
	'postgres://127.0.0.1:' . $pg1->port . '/postgres', "pg1's member record is intact");
# it takes no part: it stays fenced (a standby under pg1's name would
# stream as pg1, and look like pg1 to the leader's synchronous mode)
my ($dup_rc, $dup_out, $dup_err) = $dup->psql('postgres', 'SELECT 1');
isnt($dup_rc, 0, 'the duplicate stays fenced: no connection');
like($dup_err, qr/is fenced and accepts no connections/, '... with the fencing message');
$dup->stop;
ok($pg1->psql('postgres', 'INSERT INTO t VALUES (1)') == 0, 'pg1 still takes writes');
$pg1->safe_psql('postgres', 'DELETE FROM t WHERE id = 1 AND ctid <> (SELECT min(ctid) FROM t)');

# ---------------------------------------------------------------------
# 4. Garbage in Consul's keys: logged, no crash, no change.

my $worker_pid = $pg1->safe_psql('postgres', 'SELECT worker_pid FROM pg_ha_node');
my $pm_start = $pg1->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
$consul->kv_put("$prefix/members/bogus", '{"conn_url": 42, ');
$consul->kv_put("$prefix/members/typed", '{"conn_url": 42}');
$consul->kv_put("$prefix/members/huge", '{"xlog_location": 1e400}');
$consul->kv_put("$prefix/config", '[1, 2');
$consul->kv_put("$prefix/status", '{"optime": "soon"}');
$consul->kv_put("$prefix/optime/leader", 'NaN');
$consul->kv_put("$prefix/failover", "\x00\xff\xfe");
$consul->kv_put("$prefix/history", '{');
ok( PgHaTest::poll_until(
		'pg1 logs the skipped records', 30,
		sub { log_matches($pg1, qr/skipped \d+ bad record\(s\) in Consul/) }),
	'bad records in Consul are logged');
# a plain PUT keeps the lock but overwrites the value
$consul->kv_put("$prefix/leader", 'intruder');
ok( PgHaTest::poll_until(
		'pg1 puts its name back', 30,
		sub { ($consul->kv_get("$prefix/leader") // '') eq 'pg1' }),
	'an overwritten leader value is put back by its holder');
$pg1->safe_psql('postgres', 'INSERT INTO t VALUES (2)');
is($pg1->safe_psql('postgres', 'SELECT role, fenced, worker_pid FROM pg_ha_node'),
	"leader|f|$worker_pid", 'still leader, same HA worker');
is($pg1->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'),
	$pm_start, 'no crash restart of the postmaster');
ok(!log_matches($pg1, qr/terminated by signal/), 'no process died of a signal');
is($consul->kv_get("$prefix/initialize"), $sysid, 'initialize untouched');
$consul->kv_delete($_) for map { "$prefix/$_" }
  qw(members/bogus members/typed members/huge status optime/leader failover history);
$consul->kv_put("$prefix/config", JSON::PP::encode_json($config));

# ---------------------------------------------------------------------
# 5. Bad timings at reload are refused, the old ones kept.

$pg1->append_conf('postgresql.conf', "pg_ha.loop_wait = '9s'");
$pg1->reload;
ok( PgHaTest::poll_until(
		'refusal logged', 30,
		sub { log_matches($pg1, qr/new timings refused, keeping ttl 10000 ms, loop_wait 1000 ms/) }),
	'a reload breaking loop_wait + 2 * retry_timeout <= ttl is refused');
$pg1->append_conf('postgresql.conf', "pg_ha.loop_wait = '1s'");
$pg1->reload;

# ---------------------------------------------------------------------
# 6. Consul goes away: the lease runs out within ttl and pg1 fences.

my $bg = $pg1->background_psql('postgres', on_error_stop => 0);
$bg->query_safe('SELECT 1');
$consul->stop;
my $stopped_at = time;
my ($refused_at, $refusal);
my $accepted = 0;
ok( PgHaTest::poll_until(
		'pg1 refuses writes', 3 * $ttl_s,
		sub {
			my ($ret, $o, $e) = $pg1->psql('postgres', 'INSERT INTO t VALUES (3)');
			$accepted++ if $ret == 0;
			return 0 if $ret == 0;
			($refused_at, $refusal) = (time, $e);
			return 1;
		}),
	'pg1 refuses writes once Consul is gone');
my $elapsed = $refused_at - $stopped_at;
cmp_ok($elapsed, '<=', $ttl_s, sprintf('writes refused within ttl (%.1f s)', $elapsed));
like($refusal, qr/is fenced|does not hold the leader lease/, 'the refusal says why');
like(connect_error($pg1) // '', qr/is fenced.*DETAIL:.*Consul/s,
	'new connections are refused, naming Consul');
ok( PgHaTest::poll_until(
		'open session terminated', 3 * $ttl_s,
		sub { log_matches($pg1, qr/terminated \d+ client connection\(s\) of the fenced node/) }),
	'open client sessions are terminated');
$bg->quit;

# ---------------------------------------------------------------------
# 7. Consul comes back: pg1 recovers the lock and takes writes again.

$consul->start_again;
ok( PgHaTest::poll_until(
		'pg1 takes writes again', 60,
		sub { $pg1->psql('postgres', 'INSERT INTO t VALUES (4)') == 0 }),
	'pg1 takes writes again once Consul is back');
is($consul->kv_get("$prefix/leader"), 'pg1', 'pg1 holds the leader key again');
is($pg1->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id = 3'), $accepted,
	"exactly the $accepted writes acknowledged while the lease ran are there");
is($pg1->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id IN (1, 2, 4)'), '3',
	'and the writes before and after the outage');

# ---------------------------------------------------------------------
# 8. A crash of a child process: the postmaster restarts every process,
#    and the HA worker, back within ttl, keeps its session and the lock.

$session = $consul->kv_session("$prefix/leader");
my $worker = $pg1->safe_psql('postgres', 'SELECT worker_pid FROM pg_ha_node');
kill 'KILL', $worker;
ok( PgHaTest::poll_until(
		'pg1 takes writes after the crash restart', 30,
		sub { $pg1->psql('postgres', 'INSERT INTO t VALUES (5)') == 0 }),
	'pg1 takes writes again after a crash restart');
is($consul->kv_session("$prefix/leader"), $session,
	'the restarted HA worker kept its session and its lock');
ok(log_matches($pg1, qr/reusing Consul session \Q$session\E/), 'reuse is logged');

# A kill -9 of the postmaster: the orphaned HA worker kills the orphaned
# client backends, then fails its check, so the key is free at once
# instead of a ttl later.
my $bg2 = $pg1->background_psql('postgres', on_error_stop => 0);
$bg2->query_safe('SELECT 1');
my $pm_pid = $pg1->{_pid};
my $killed_at = time;
$pg1->kill9;
ok( PgHaTest::poll_until(
		'leader key freed', $ttl_s,
		sub { !defined $consul->kv_get("$prefix/leader") }),
	'the leader key is freed after kill -9 of the postmaster');
my $freed = time - $killed_at;
cmp_ok($freed, '<', $ttl_s / 2, sprintf('... within %.1f s, not a ttl', $freed));
# the key is released before the check is failed: the line comes after
ok( PgHaTest::poll_until('the worker says why', 10,
		sub { log_matches($pg1, qr/the postmaster died; failed check/) }),
	'the worker says why');
eval { $bg2->quit };
ok( PgHaTest::poll_until(
		'pg1 starts again after kill -9', 30,
		sub { !kill(0, $pm_pid) && $pg1->start(fail_ok => 1) }),
	'pg1 starts again after kill -9');
ok( PgHaTest::poll_until(
		'pg1 takes writes after restart', 30,
		sub { $pg1->psql('postgres', 'INSERT INTO t VALUES (6)') == 0 }),
	'pg1, the only node, takes the lock again with a new session');
$session = $consul->kv_session("$prefix/leader");

# ---------------------------------------------------------------------
# 9. A clean shutdown releases the leader key and the session.

$pg1->stop('fast');
ok(log_matches($pg1, qr/leader key of cluster "otus" is released once the server has shut down/),
	'the leader hands the key over only after the shutdown');
ok( PgHaTest::poll_until('leader key released', 10,
		sub { !defined $consul->kv_get("$prefix/leader") }),
	'leader key released after the shutdown');
ok(!defined $consul->kv_get("$prefix/members/pg1"), 'member record gone');
ok(!(grep { $_->{ID} eq $session } $consul->session_list), 'session destroyed');
ok(!-e $pg1->data_dir . '/pg_ha.session', 'session file removed');
like($consul->kv_get("$prefix/status"), qr/^\{"optime":\d+\}$/,
	'the final position is published for the replicas');

# ---------------------------------------------------------------------
# 10. Bad settings stop the server at start with a clear message.

my $bad = PgHaTest::new_node('bad1', %common,
	ttl => '5s', loop_wait => '3s', retry_timeout => '2s');
ok(!$bad->start(fail_ok => 1), 'timings against the rule: no start');
ok(log_matches($bad,
	qr/invalid pg_ha timings: loop_wait \(3000 ms\) \+ 2 \* retry_timeout \(2000 ms\) = 7000 ms exceeds ttl \(5000 ms\)/),
	'the timing rule is named');

my $noname = PostgreSQL::Test::Cluster->new('noname');
$noname->init;
$noname->append_conf('postgresql.conf',
	"shared_preload_libraries = 'pg_ha'\npg_ha.cluster = 'otus'");
ok(!$noname->start(fail_ok => 1), 'no node name: no start');
ok(log_matches($noname, qr/pg_ha\.node_name is not set/), 'the missing name is named');

my $badurl = PgHaTest::new_node('bad2', %common,
	extra_conf => "pg_ha.consul_url = 'consul:8500'");
ok(!$badurl->start(fail_ok => 1), 'bad Consul URL: no start');
ok(log_matches($badurl, qr/invalid value for parameter "pg_ha\.consul_url"/),
	'the bad URL is named');

# ---------------------------------------------------------------------
# 11. Consul unreachable from the start: fenced, and says why.

my $lonely = PgHaTest::new_node('lonely', cluster => 'lonely',
	consul_url => 'http://127.0.0.1:' . PostgreSQL::Test::Cluster::get_free_port());
$lonely->start;
ok( PgHaTest::poll_until(
		'lonely says Consul is unreachable', 30,
		sub { (connect_error($lonely) // '') =~ /cannot reach Consul/ }),
	'a primary that cannot reach Consul stays fenced and says why');
$lonely->stop;

done_testing();
