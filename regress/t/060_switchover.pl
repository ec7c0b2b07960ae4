# The exercise's step 4 in SQL: switchover pg1 -> pg2, failover to pg3
# (waited for, with Patroni's answer), timelines 1 -> 2 -> 3, every
# database everywhere, the old leaders back as replicas without pg_rewind
# after a switchover; and every bad request refused with nothing written.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul);

sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

sub streaming { return PgHaTest::streaming(@_) }

sub timeline
{
	my ($node) = @_;
	return $node->safe_psql('postgres', 'SELECT timeline_id FROM pg_control_checkpoint()');
}

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \%common);
my %node = (pg1 => $pg1, pg2 => $pg2, pg3 => $pg3);

# clients go through HAProxy, as in the exercise
my $haproxy = PgHaTest::HAProxy->start(%node);
sub leader_via_haproxy
{
	my ($name) = @_;
	return PgHaTest::poll_until("HAProxy sends writes to $name", 60,
		sub { $haproxy->up('primary') eq $name &&
			  $haproxy->via('primary', 'SELECT inet_server_port()') eq $node{$name}->port });
}
ok(leader_via_haproxy('pg1'), 'HAProxy sends writes to pg1');
$haproxy->via('primary', 'CREATE DATABASE pg2test');
is($pg1->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'pg2test'"),
	'1', 'CREATE DATABASE through HAProxy landed on the leader');
# positions in Consul are refreshed every loop_wait: wait for them
ok( PgHaTest::poll_until('replicas caught up in Consul', 30,
		sub { $pg1->safe_psql('postgres',
				"SELECT count(*) FROM pg_ha_status WHERE role = 'Replica' AND lag_mb = 0") eq '2' }),
	'both replicas have caught up');

# ---------------------------------------------------------------------
# Bad requests: a clear error each, and no failover key written.

my @bad = (
	[ "SELECT pg_ha_switchover('pg9')", qr/cluster "otus" has no member "pg9"/, 'unknown candidate' ],
	[ "SELECT pg_ha_switchover('pg1')", qr/member "pg1" is already the leader/, 'the leader as candidate' ],
	[ "SELECT pg_ha_switchover('pg2', now() - interval '1 hour')", qr/scheduled time .* is in the past/, 'a time in the past' ],
	[ "SELECT pg_ha_failover(NULL)", qr/^$/, 'a NULL failover candidate does nothing' ],
	# its own step-down would end the session before the outcome
	[ "SELECT pg_ha_switchover('pg2', wait => true)",
	  qr/pg_ha_switchover cannot wait on the leader "pg1"/, 'waiting for a switchover on the leader' ],
	[ "SELECT pg_ha_failover('pg2', wait => true)",
	  qr/pg_ha_failover cannot wait on the leader "pg1"/, 'waiting for a failover on the leader' ],
);
for my $b (@bad)
{
	my ($sql, $re, $what) = @$b;
	my ($ret, $out, $err) = $pg1->psql('postgres', $sql);
	like($err, $re, "refused: $what");
	ok(!defined $consul->kv_get("$prefix/failover"), "nothing written: $what");
}
$pg1->safe_psql('postgres', 'CREATE ROLE regress_ha_user LOGIN');
my ($r, $o, $e) = $pg1->psql('postgres', "SELECT pg_ha_switchover('pg2')",
	extra_params => [ '-U', 'regress_ha_user' ]);
like($e, qr/permission denied for function pg_ha_switchover/, 'refused: a non-superuser');

# a pending request blocks another one; a scheduled one is not waited for
like($pg1->safe_psql('postgres', "SELECT pg_ha_switchover('pg2', now() + interval '1 hour', wait => true)"),
	qr/^switchover from "pg1" to "pg2" requested for \d{4}-/,
	'a scheduled switchover returns at once, wait or not');
like($consul->kv_get("$prefix/failover"), qr/"scheduled_at":"\d{4}-\d\d-\d\dT/,
	'a scheduled switchover is written with its time');
($r, $o, $e) = $pg1->psql('postgres', "SELECT pg_ha_switchover('pg3')");
like($e, qr/already pending/, 'refused: a switchover already pending');
$consul->kv_delete("$prefix/failover");

# ---------------------------------------------------------------------
# Switchover pg1 -> pg2: clean, on the leader itself.

# The positions in Consul are refreshed once per loop_wait, and the one
# pg2 published can be older than its catching up.  Made certain here: pg2's
# HA worker is stopped (SIGSTOP, shorter than the session TTL) while the
# leader writes 4 MB.  A node that is not the leader judges the lag on the
# published positions and refuses; the leader judges it on its own WAL and
# walsenders, sees pg2 caught up, and accepts at once.
my $pg2_worker = PgHaTest::ha_worker_pid($pg2);
ok(defined $pg2_worker && kill(0, $pg2_worker), "pg2's HA worker is found (pid $pg2_worker)");
kill 'STOP', $pg2_worker or die "SIGSTOP: $!";
$pg1->safe_psql('postgres',
	"CREATE TABLE wal_burst WITH (autovacuum_enabled = off) AS
	 SELECT g, repeat('x', 100) AS filler FROM generate_series(1, 30000) g");
my $burst_end = $pg1->lsn('insert');
my ($published_lag, $stale_refusal) = ('', '');
my $premise = PgHaTest::poll_until('pg2 caught up, its published position stale', 8,
	sub {
		return 0 unless $pg1->safe_psql('postgres',
			"SELECT flush_lsn >= '$burst_end' FROM pg_stat_replication WHERE application_name = 'pg2'") eq 't';
		$published_lag = $pg3->safe_psql('postgres', "SELECT lag_mb FROM pg_ha_status WHERE member = 'pg2'");
		return 0 unless $published_lag >= 2;
		(undef, undef, $stale_refusal) = $pg3->psql('postgres', "SELECT pg_ha_switchover('pg2')");
		return 1;
	});
# the statement goes on for 300 ms after the request: the answer still
# comes, because the leader waits for it before it steps down
($r, $o, $e) = $pg1->psql('postgres', "SELECT pg_ha_switchover('pg2'), pg_sleep(0.3)") if $premise;
kill 'CONT', $pg2_worker;
ok($premise, "pg2 has replayed the burst; its published lag is $published_lag MB");
like($stale_refusal, qr/member "pg2" lags \d+ bytes behind the leader/,
	'on a replica, pg_ha_switchover judges the published positions: refused');
# The step-down it asks for ends this very session, but only once the
# session has its answer: the HA worker waits for it (let_caller_finish,
# up to a second).
is($r, 0, 'pg_ha_switchover on the leader returns');
like($o, qr/switchover from "pg1" to "pg2" requested/, 'and says what it did');
like($e, qr/NOTICE:.*steps down/, 'and warns that this session will be terminated');
ok(PgHaTest::poll_until('pg2 leads', 60, sub { leader_key() eq 'pg2' }), 'pg2 takes the leader key');
ok( PgHaTest::poll_until('pg1 and pg3 stream from pg2', 90,
		sub { streaming($pg2) eq 'pg1,pg3' }),
	'pg1 rejoins and pg3 follows: both stream from pg2');
is(timeline($pg2), '2', 'pg2 is on timeline 2');
ok(!defined $consul->kv_get("$prefix/failover"), 'the new leader removed the request');
like(slurp_file($pg1->logfile), qr/no rewind required/,
	'after a switchover the old leader needs no rewind');
ok(leader_via_haproxy('pg2'), 'after the switchover HAProxy sends writes to pg2');
$haproxy->via('primary', 'CREATE DATABASE pg1switchover');

# ---------------------------------------------------------------------
# Failover to pg3, asked on a replica, which waits for the outcome and
# answers as Patroni's REST API does.

($r, $o, $e) = $pg1->psql('postgres', "SELECT pg_ha_failover('pg3', wait => true)");
is($o, 'Successfully failed over to "pg3"', 'pg_ha_failover on a replica, waited for: Patroni\'s answer');
is(leader_key(), 'pg3', 'it returned once pg3 held the leader key');
ok( PgHaTest::poll_until('pg1 and pg2 stream from pg3', 90,
		sub { streaming($pg3) eq 'pg1,pg2' }),
	'pg1 and pg2 stream from pg3');
is(timeline($pg3), '3', 'pg3 is on timeline 3');
ok(leader_via_haproxy('pg3'), 'after the failover HAProxy sends writes to pg3');
$haproxy->via('primary', 'CREATE DATABASE pg3failover');
is($pg3->safe_psql('postgres', 'SELECT timeline, new_leader FROM pg_ha_history'),
	"1|pg2\n2|pg3", 'pg_ha_history: pg2 took over on timeline 1, pg3 on timeline 2');
my $lsn = $pg3->lsn('insert');
$pg3->wait_for_catchup($_, 'replay', $lsn) for ($pg1, $pg2);
for my $n (sort keys %node)
{
	is( $node{$n}->safe_psql('postgres',
			"SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database "
			  . "WHERE datname IN ('pg2test', 'pg1switchover', 'pg3failover')"),
		'pg1switchover,pg2test,pg3failover',
		"$n has every database");
}

# pg_ha_status and pg_ha_ctl list show the same table, row for row
ok( PgHaTest::poll_until('view and CLI agree', 30,
		sub {
			my $view = $pg3->safe_psql('postgres',
				"SELECT string_agg(concat_ws('|', member, host || ':' || port, role, state, timeline, lag_mb), E'\\n' ORDER BY member) FROM pg_ha_status");
			my ($out, $err) = ('', '');
			IPC::Run::run([ 'pg_ha_ctl', 'list', 'otus', '--consul-url', $consul->http_url,
					'--format', 'json' ], '>', \$out, '2>', \$err);
			my $list = eval { JSON::PP::decode_json($out) } or return 0;
			my $cli = join("\n", map {
					join('|', grep { defined }
						$_->{Member}, $_->{Host}, $_->{Role}, $_->{State}, $_->{TL},
						(defined $_->{'Lag in MB'} && $_->{'Lag in MB'} ne 'unknown' ? $_->{'Lag in MB'} : undef))
				} sort { $a->{Member} cmp $b->{Member} } @$list);
			note("view:\n$view\ncli:\n$cli") if $view ne $cli;
			return $view eq $cli;
		}),
	'pg_ha_status equals pg_ha_ctl list row for row');

# ---------------------------------------------------------------------
# A request withdrawn while the leader keeps the key: the waiting call
# fails.  pg3's HA worker is stopped (for less than its lease) so that it
# cannot carry the request out before the test deletes it.  A replica
# judges the candidate on the published positions, and CREATE DATABASE
# above wrote megabytes of WAL: first wait until pg2's published position
# has caught up with pg3's, or the request is refused as lagging.

ok( PgHaTest::poll_until('published positions caught up', 30,
		sub { $pg1->safe_psql('postgres',
				"SELECT count(*) FROM pg_ha_status WHERE role = 'Replica' AND lag_mb = 0") eq '2' }),
	'both replicas have caught up in Consul');
my $pg3_worker = PgHaTest::ha_worker_pid($pg3);
ok(defined $pg3_worker && kill(0, $pg3_worker), "pg3's HA worker is found (pid $pg3_worker)");
kill 'STOP', $pg3_worker or die "SIGSTOP: $!";
my ($w_out, $w_err) = ('', '');
my $waiting = IPC::Run::start(
	[ 'psql', '-X', '-A', '-t', '-d', $pg1->connstr('postgres'),
	  '-c', "SELECT pg_ha_switchover('pg2', wait => true)" ],
	'<', \undef, '>', \$w_out, '2>', \$w_err, IPC::Run::timeout(60));
my $written = PgHaTest::poll_until('the request is written', 5,
	sub { defined $consul->kv_get("$prefix/failover") });
$consul->kv_delete("$prefix/failover");
$waiting->finish;
kill 'CONT', $pg3_worker;
ok($written, 'pg_ha_switchover(wait => true) on a replica writes the request');
like($w_err, qr/ERROR:  switchover of cluster "otus" failed\nDETAIL:  The request was withdrawn and "pg3" is still the leader/,
	'and fails once the request is withdrawn, pg3 still leading');
is(leader_key(), 'pg3', 'pg3 still leads');

# ---------------------------------------------------------------------
# Pause: no automatic failover; resume.

like($pg3->safe_psql('postgres', 'SELECT pg_ha_pause()'), qr/paused/, 'pg_ha_pause');
is($consul->kv_get_json("$prefix/config")->{pause}, JSON::PP::true, 'the config key says pause');
($r, $o, $e) = $pg3->psql('postgres', 'SELECT pg_ha_pause()');
like($e, qr/already paused/, 'pausing twice is refused');
like($pg3->safe_psql('postgres', 'SELECT pg_ha_resume()'), qr/resumed/, 'pg_ha_resume');
ok(!exists $consul->kv_get_json("$prefix/config")->{pause}, 'the pause flag is gone');

done_testing();
