# The exercise's step 5: a cluster-wide change of a parameter that needs a
# restart (max_wal_senders), every member pending restart, restarts one by
# one (replicas first, the leader last) without any failover; a reloadable
# parameter applied without restart; bad values refused.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul);

sub streaming { return PgHaTest::streaming(@_) }

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \%common);
my %node = (pg1 => $pg1, pg2 => $pg2, pg3 => $pg3);
my $session = $consul->kv_session("$prefix/leader");

# ---------------------------------------------------------------------
# Bad values: refused, the config key unchanged.

my $config_before = $consul->kv_get("$prefix/config");
my @bad = (
	[ "SELECT pg_ha_set_config('max_wal_senders', 'lots')", qr/invalid value for parameter "max_wal_senders"/ ],
	[ "SELECT pg_ha_set_config('max_wal_senders', '-1')", qr/outside the valid range/ ],
	[ "SELECT pg_ha_set_config('primary_conninfo', 'host=x')", qr/cannot be set cluster-wide/ ],
	[ "SELECT pg_ha_set_config('pg_ha.ttl', '5s')", qr/cannot be set cluster-wide/ ],
	[ "SELECT pg_ha_set_config('no_such_parameter', '1')", qr/unrecognized configuration parameter/ ],
);
for my $b (@bad)
{
	my ($sql, $re) = @$b;
	my ($r, $o, $e) = $pg1->psql('postgres', $sql);
	like($e, $re, "refused: $sql");
}
is($consul->kv_get("$prefix/config"), $config_before, 'the config key is unchanged');

# ---------------------------------------------------------------------
# A reloadable parameter: applied everywhere, no restart.

like($pg1->safe_psql('postgres', "SELECT pg_ha_set_config('work_mem', '8MB')"),
	qr/work_mem = '8MB' set/, 'work_mem set cluster-wide');
for my $n (sort keys %node)
{
	ok(PgHaTest::poll_until("$n has work_mem 8MB", 30,
			sub { $node{$n}->safe_psql('postgres', 'SHOW work_mem') eq '8MB' }),
		"$n applies work_mem without a restart");
}
is($pg1->safe_psql('postgres', "SELECT pg_ha_config()->'postgresql'->'parameters'->>'work_mem'"),
	'8MB', 'pg_ha_config() shows it');
is(PgHaTest::pending_restarts($pg1), 'pg1:false,pg2:false,pg3:false', 'nothing pending');

# ---------------------------------------------------------------------
# max_wal_senders 10 -> 12: every member pending restart.

like($pg1->safe_psql('postgres', "SELECT pg_ha_set_config('max_wal_senders', '12')"),
	qr/max_wal_senders = '12' set/, 'max_wal_senders set cluster-wide');
is($pg1->safe_psql('postgres', "SELECT pg_ha_config()->'postgresql'->'parameters'->'max_wal_senders'"),
	'12', 'stored as a number, as Patroni does');
ok(PgHaTest::poll_until('all pending', 30, sub { PgHaTest::pending_restarts($pg1) eq 'pg1:true,pg2:true,pg3:true' }),
	'every member is pending restart');

# replicas first, then the leader, as hot standby requires when raising
for my $n (qw(pg3 pg2 pg1))
{
	my $started = $node{$n}->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
	# asked on pg1, whose own restart ends the session: pg1's HA worker
	# waits until the statement is over (300 ms more here) before it
	# restarts, so the answer comes
	my ($r, $o, $e) = $pg1->psql('postgres', "SELECT pg_ha_restart('$n', pending_only => true), pg_sleep(0.3)");
	like($o, qr/restart of member "$n" requested/, "restart of $n requested");
	ok( PgHaTest::poll_until("$n restarted", 60,
			sub {
				my $rr = $node{$n}->psql('postgres', 'SELECT pg_postmaster_start_time()', stdout => \my $t);
				return $rr == 0 && $t ne $started;
			}),
		"$n restarted");
	ok(PgHaTest::poll_until("$n applies max_wal_senders", 30,
			sub { $node{$n}->safe_psql('postgres', 'SHOW max_wal_senders') eq '12' }),
		"$n runs with max_wal_senders 12");
	ok(PgHaTest::poll_until("$n not pending", 30,
			sub { PgHaTest::pending_restarts($node{$n}) =~ /\b$n:false\b/ }),
		"$n is no longer pending restart");
	$node{$n}->_update_pid(1);
}
ok(PgHaTest::poll_until('none pending', 30, sub { PgHaTest::pending_restarts($pg1) eq 'pg1:false,pg2:false,pg3:false' }),
	'no member is pending restart');
is($consul->kv_get("$prefix/leader"), 'pg1', 'pg1 is still the leader');
is($consul->kv_session("$prefix/leader"), $session, 'with the same session: no failover happened');
ok(PgHaTest::poll_until('both replicas stream again', 60, sub { streaming($pg1) eq 'pg2,pg3' }),
	'and both replicas stream from it');
is($pg1->safe_psql('postgres', 'SELECT timeline_id FROM pg_control_checkpoint()'), '1',
	'still timeline 1');

done_testing();
