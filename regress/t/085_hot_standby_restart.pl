# Restarts in the order hot standby needs, HA timings from the config key,
# and pg_ha.restart_command.
#
# A standby stops when max_connections (and four others) is lower than the
# value its primary runs with.  So a raise restarts the replicas first and a
# lowering the leader first: a single restart in the wrong order is refused
# (SQL, REST, pg_ha_ctl), a restart of the whole cluster picks the order.
# Then ttl and loop_wait set in the config key take effect on every node
# without a restart, and a combination that breaks the timing rule is
# refused with Consul untouched.
use strict;
use warnings;

use HTTP::Tiny;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul);
my $json   = JSON::PP->new;
my $http   = HTTP::Tiny->new(timeout => 10);
$ENV{PG_HA_CONSUL_URL} = $consul->http_url;
delete $ENV{$_} for qw(PG_HA_CLUSTER PG_HA_NAMESPACE PG_HA_CONSUL_TOKEN PG_HA_API_AUTH EDITOR VISUAL);

sub streaming { return PgHaTest::streaming(@_) }

sub ctl { return PgHaTest::ctl(@_) }

sub show
{
	my ($node, $what) = @_;
	my $r = $node->psql('postgres', "SHOW $what", stdout => \my $out);
	return $r == 0 ? $out : '';
}

# A restart_command on pg2: a script that notes its call, then restarts.
my $bindir = `pg_config --bindir`;
chomp $bindir;
my $marker = PostgreSQL::Test::Utils::tempdir() . '/restart_command.called';
my $script = PostgreSQL::Test::Utils::tempdir() . '/restart_pg.sh';
open(my $fh, '>', $script) or die "cannot write $script: $!";
print $fh "#!/bin/sh\necho \"\$PGDATA\" >> '$marker'\n"
  . "exec '$bindir/pg_ctl' restart -D \"\$PGDATA\" -m fast -w -t 120\n";
close $fh;
chmod 0755, $script;

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \%common,
	node_options => { pg2 => { extra_conf => "pg_ha.restart_command = '$script'" } });
my %node = (pg1 => $pg1, pg2 => $pg2, pg3 => $pg3);
my $session = $consul->kv_session("$prefix/leader");
my $conns   = show($pg1, 'max_connections');
note("max_connections is $conns");

# ---------------------------------------------------------------------
# Each member publishes the values it runs with.

ok( PgHaTest::poll_until(
		'members publish their hot standby values', 30,
		sub {
			my @ok = grep {
				my $r = $consul->kv_get_json("$prefix/members/$_");
				$r && $r->{hot_standby_parameters}
				  && ($r->{hot_standby_parameters}{max_connections} // -1) == $conns
				  && defined $r->{hot_standby_parameters}{max_locks_per_transaction}
			} qw(pg1 pg2 pg3);
			return @ok == 3;
		}),
	'every member record has hot_standby_parameters with its running max_connections');

# ---------------------------------------------------------------------
# Raising: the leader first is refused everywhere; the whole cluster
# restarts replicas first.

my $raised = $conns + 20;
$pg1->safe_psql('postgres', "SELECT pg_ha_set_config('max_connections', '$raised')");
ok(PgHaTest::poll_until('all pending', 30, sub { PgHaTest::pending_restarts($pg1) eq 'pg1:true,pg2:true,pg3:true' }),
	'max_connections raised: every member is pending restart');

my ($r, $o, $e) = $pg1->psql('postgres', "SELECT pg_ha_restart('pg1')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($r, 0, 'pg_ha_restart(leader) after a raise fails');
like($e, qr/restarting leader "pg1" now would stop replica "pg\d": the leader's max_connections would become $raised, and "pg\d" runs with $conns/,
	'... saying which replica it would stop');
like($e, qr/HINT:  .*restart the replicas first \(pg\d, pg\d\), then the leader "pg1"/,
	'... and hinting at the order');
like($e, qr/55000/, '... with SQLSTATE 55000 (object not in prerequisite state)');
is_deeply([ $consul->kv_keys("$prefix/restart/") ], [], '... and writes no restart request');

my $api_pg1 = show($pg1, 'pg_ha.api_listen');
my $res = $http->request('POST', "http://$api_pg1/restart",
	{ headers => { 'Content-Type' => 'application/json' }, content => '{}' });
is($res->{status}, 412, 'POST /restart on the leader after a raise: 412');
like($res->{content}, qr/restart refused: restarting leader "pg1" now would stop replica/,
	'... with the reason');
like($res->{content}, qr/restart the replicas first/, '... and the order to use');

my ($rc, $out, $err) = ctl('restart', 'otus', 'pg1', '--force');
is($rc, 1, 'pg_ha_ctl restart otus pg1 after a raise fails');
like($err, qr/restarting leader "pg1" now would stop replica/, '... saying why');
like($err, qr/hint: .*restart the replicas first .*Or give --any-order/, '... with the hint');
is_deeply([ $consul->kv_keys("$prefix/restart/") ], [], 'still no restart request');

my %before = map { $_ => PgHaTest::start_time($node{$_}) } keys %node;
like($pg1->safe_psql('postgres', 'SELECT pg_ha_restart()'),
	qr/restart of cluster "otus" requested: pg2, pg3, then pg1, one after the other/,
	'pg_ha_restart() restarts the whole cluster, replicas first');
for my $n (qw(pg2 pg3 pg1))
{
	ok( PgHaTest::poll_until("$n restarted with max_connections $raised", 120,
			sub { PgHaTest::start_time($node{$n}) ne $before{$n} && show($node{$n}, 'max_connections') eq $raised }),
		"$n restarted and runs with max_connections $raised");
	$node{$n}->_update_pid(1);
}
ok(PgHaTest::poll_until('no restart key left', 60, sub { !$consul->kv_keys("$prefix/restart/") }),
	'every restart request is done');
my %after = map { $_ => PgHaTest::start_time($node{$_}) } keys %node;
cmp_ok($after{pg2}, '<', $after{pg3}, 'pg2 restarted before pg3');
cmp_ok($after{pg3}, '<', $after{pg1}, 'pg3 restarted before the leader pg1');
ok(-s $marker, 'pg2 was restarted through pg_ha.restart_command');
is(slurp_file($marker), $pg2->data_dir . "\n", '... once, with PGDATA set to its data directory');
ok(PgHaTest::poll_until('none pending', 30, sub { PgHaTest::pending_restarts($pg1) eq 'pg1:false,pg2:false,pg3:false' }),
	'no member is pending restart');
is($consul->kv_get("$prefix/leader"), 'pg1', 'pg1 is still the leader');
is($consul->kv_session("$prefix/leader"), $session, '... with the same session: no failover');
ok(PgHaTest::poll_until('both replicas stream again', 60, sub { streaming($pg1) eq 'pg2,pg3' }),
	'both replicas stream from pg1');

# ---------------------------------------------------------------------
# Lowering: a replica first is refused; the whole cluster restarts the
# leader first (pg_ha_ctl this time).

my $lowered = $conns + 10;
$pg1->safe_psql('postgres', "SELECT pg_ha_set_config('max_connections', '$lowered')");
ok(PgHaTest::poll_until('all pending again', 30, sub { PgHaTest::pending_restarts($pg1) eq 'pg1:true,pg2:true,pg3:true' }),
	'max_connections lowered: every member is pending restart');
($r, $o, $e) = $pg1->psql('postgres', "SELECT pg_ha_restart('pg3')");
isnt($r, 0, 'pg_ha_restart(replica) after a lowering fails');
like($e, qr/restarting replica "pg3" now would stop it: its max_connections would become $lowered, below the $raised that leader "pg1" runs with/,
	'... saying why');
like($e, qr/HINT:  .*restart the leader "pg1" first, then the replicas/, '... and the order');
($rc, $out, $err) = ctl('restart', 'otus', 'pg2', '--force');
is($rc, 1, 'pg_ha_ctl restart otus pg2 after a lowering fails');
like($err, qr/restarting replica "pg2" now would stop it/, '... saying why');
is_deeply([ $consul->kv_keys("$prefix/restart/") ], [], 'no restart request written');

%before = %after;
($rc, $out, $err) = ctl('restart', 'otus', '--pending', '--force');
is($rc, 0, 'pg_ha_ctl restart otus --pending succeeds');
my @order = ($out =~ /^Success: restart on member (\w+)$/mg);
is_deeply(\@order, [qw(pg1 pg2 pg3)], '... the leader first, then the replicas');
$_->_update_pid(1) for values %node;
for my $n (qw(pg1 pg2 pg3))
{
	isnt(PgHaTest::start_time($node{$n}), $before{$n}, "$n was restarted");
	is(show($node{$n}, 'max_connections'), $lowered, "$n runs with max_connections $lowered");
}
ok(PgHaTest::poll_until('none pending again', 30, sub { PgHaTest::pending_restarts($pg1) eq 'pg1:false,pg2:false,pg3:false' }),
	'no member is pending restart');
is($consul->kv_session("$prefix/leader"), $session, 'pg1 still leads with the same session: no failover');
ok(PgHaTest::poll_until('both replicas stream after the lowering', 60, sub { streaming($pg1) eq 'pg2,pg3' }),
	'one leader and two streaming replicas');
is($pg1->safe_psql('postgres', 'SELECT timeline_id FROM pg_control_checkpoint()'), '1',
	'still timeline 1');
is(slurp_file($marker), $pg2->data_dir . "\n" . $pg2->data_dir . "\n",
	'pg2 went through its restart_command again');

# ---------------------------------------------------------------------
# HA timings from the config key: in force on every node without a
# restart; the local settings stay what they were.

sub timings
{
	my ($node) = @_;
	my $r = $node->psql('postgres',
		"SELECT ttl || '/' || loop_wait || '/' || retry_timeout FROM pg_ha_node",
		stdout => \my $out);
	return $r == 0 ? $out : '';
}

is(timings($pg2), '00:00:10/00:00:01/00:00:02', 'the timings in force are the local ones (the config key has the same)');
%before = map { $_ => PgHaTest::start_time($node{$_}) } keys %node;

my $config_before = $consul->kv_get("$prefix/config");
($r, $o, $e) = $pg1->psql('postgres', "SELECT pg_ha_set_config('loop_wait', '7')");
isnt($r, 0, 'loop_wait 7 with ttl 10 and retry_timeout 2 is refused');
like($e, qr/invalid timings for cluster "otus"/, '... as invalid timings');
like($e, qr/loop_wait \(7000 ms\) \+ 2 \* retry_timeout \(2000 ms\) = 11000 ms exceeds ttl \(10000 ms\)/,
	'... saying why');
like($e, qr/HINT:  Keep loop_wait \+ 2 \* retry_timeout <= ttl/, '... with the rule as hint');
($r, $o, $e) = $pg1->psql('postgres', "SELECT pg_ha_set_config('ttl', '1')");
like($e, qr/ttl of 1000 ms is outside the valid range/, 'ttl 1 s is refused');
($r, $o, $e) = $pg1->psql('postgres', "SELECT pg_ha_set_config('ttl', 'soon')");
like($e, qr/invalid value for ttl: "soon"/, 'ttl soon is refused');
($rc, $out, $err) = ctl('edit-config', 'otus', '--set', 'loop_wait=9', '--force');
is($rc, 1, 'pg_ha_ctl edit-config --set loop_wait=9 fails');
like($err, qr/invalid timings: loop_wait \(9000 ms\) \+ 2 \* retry_timeout \(2000 ms\) = 13000 ms exceeds ttl \(10000 ms\)/,
	'... saying why');
is($consul->kv_get("$prefix/config"), $config_before, 'the config key is unchanged');

like($pg1->safe_psql('postgres', "SELECT pg_ha_set_config('ttl', '20')"),
	qr/ttl = 20000 ms set for cluster "otus"/, 'ttl 20 set in the config key');
($rc, $out, $err) = ctl('edit-config', 'otus', '--set', 'loop_wait=3', '--force');
is($rc, 0, 'pg_ha_ctl edit-config --set loop_wait=3 succeeds');
is($consul->kv_get_json("$prefix/config")->{loop_wait}, 3, 'loop_wait 3 in the config key');
for my $n (qw(pg1 pg2 pg3))
{
	ok(PgHaTest::poll_until("$n takes the new timings", 30, sub { timings($node{$n}) eq '00:00:20/00:00:03/00:00:02' }),
		"$n has ttl 20 s and loop_wait 3 s in force");
	is(show($node{$n}, 'pg_ha.ttl'), '10s', "$n keeps pg_ha.ttl = 10s as its local default");
}
ok( PgHaTest::poll_until(
		'the leader takes writes with the new timings', 30,
		sub {
			my $l = $pg1->safe_psql('postgres', 'SELECT extract(epoch FROM lease_remaining) FROM pg_ha_node');
			return $l ne '' && $l > 0;
		}),
	'pg1 holds its lease');

# Lowering ttl: the lease never runs past the new ttl.
like($pg1->safe_psql('postgres', "SELECT pg_ha_set_config('ttl', '8')"),
	qr/ttl = 8000 ms set/, 'ttl lowered to 8 s');
ok(PgHaTest::poll_until('pg1 has ttl 8 s', 30, sub { timings($pg1) =~ m{^00:00:08/} }),
	'pg1 has ttl 8 s in force');
# the check is registered again with the new ttl at the next round
sub lease { return $pg1->safe_psql('postgres', 'SELECT coalesce(extract(epoch FROM lease_remaining), 0) FROM pg_ha_node') }
ok(PgHaTest::poll_until('the lease follows the new ttl', 15, sub { my $l = lease(); $l > 0 && $l <= 8 }),
	'pg1 holds a lease within the new ttl');
my @leases;
push @leases, lease() for 1 .. 20;
is_deeply([ grep { $_ <= 0 || $_ > 8 } @leases ], [], 'and keeps it within 8 s: ' . join(' ', @leases));
for my $n (qw(pg2 pg3))
{
	ok(PgHaTest::poll_until("$n has ttl 8 s", 30, sub { timings($node{$n}) =~ m{^00:00:08/} }),
		"$n has ttl 8 s in force");
}

# ttl and loop_wait raised at once, loop_wait beyond the ttl the check
# still has (8 s): the check is registered again before it runs out, and
# the leader keeps its session and its lease.
($rc, $out, $err) = ctl('edit-config', 'otus', '--set', 'ttl=30', '--set', 'loop_wait=12', '--force');
is($rc, 0, 'pg_ha_ctl edit-config --set ttl=30 --set loop_wait=12 succeeds');
ok(PgHaTest::poll_until('pg1 has ttl 30 s and loop_wait 12 s', 30,
		sub { timings($pg1) eq '00:00:30/00:00:12/00:00:02' }),
	'pg1 has ttl 30 s and loop_wait 12 s in force');
{
	# watched for longer than the old check TTL and than one loop_wait
	my ($lost, $checks) = ('', 0);
	my $until = time() + 14;
	while (time() < $until && $lost eq '')
	{
		my $s = $consul->kv_session("$prefix/leader") // '';
		$lost = "leader key held by session '$s'" if $s ne $session;
		$lost = 'lease lost' if $lost eq '' && lease() <= 0;
		$checks++;
		select(undef, undef, undef, 0.2);
	}
	is($lost, '', "for 14 s ($checks looks) pg1 keeps its session and its lease");
}
unlike(slurp_file($pg1->logfile), qr/session \S+ was invalidated/, 'no session of pg1 was invalidated');

# Removed from the config key: each node's own settings apply again
# (loop_wait first: ttl 10 with loop_wait 12 would be refused).
$pg1->safe_psql('postgres', "SELECT pg_ha_set_config('loop_wait', NULL)");
$pg1->safe_psql('postgres', "SELECT pg_ha_set_config('ttl', NULL)");
for my $n (qw(pg1 pg2 pg3))
{
	ok(PgHaTest::poll_until("$n back to its own timings", 30, sub { timings($node{$n}) eq '00:00:10/00:00:01/00:00:02' }),
		"$n is back to its pg_ha.ttl and pg_ha.loop_wait");
}
for my $n (qw(pg1 pg2 pg3))
{
	is(PgHaTest::start_time($node{$n}), $before{$n}, "$n was not restarted for the timings");
}
is($consul->kv_session("$prefix/leader"), $session, 'pg1 leads with the same session throughout');
is(streaming($pg1), 'pg2,pg3', 'and both replicas stream');

done_testing();
