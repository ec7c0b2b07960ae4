# Restarts with Debian's patronictl (3.0.2), as against Patroni (issue 13).
#
# POST /restart answers once the restart is over, as Patroni's handler
# does, so `patronictl restart otus --pending --force` restarts the members
# one after the other: a raised max_connections then reaches the replicas
# before the leader, which pg_ha's hot standby rule requires.  (Answered at
# once, the replicas restarted together and the leader got 412.)  patronictl
# takes the members in the order of their keys and does not put the leader
# last; here the leader is pg3, the last one, as in the issue's cluster.
#
# Then the scheduled restart: published in the member record as Patroni's
# scheduled_restart (patronictl list -e), replaced by restart --force
# through DELETE /restart, flushed by patronictl flush; scheduled restarts
# flushed by pg_ha_ctl flush ... restart straight in Consul, by the rule
# DELETE /restart follows (pgha_rule_scheduled_restart), and the last one
# by patronictl through the REST API; and the scheduled switchover flushed
# through DELETE /switchover.
use strict;
use warnings;

use HTTP::Tiny;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

plan skip_all => 'patronictl not installed (apt-get install patroni)'
  unless defined PgHaTest::patronictl_binary();

my $consul = PgHaTest::Consul->start();
$ENV{PG_HA_CONSUL_URL} = $consul->http_url;
delete $ENV{$_} for qw(PG_HA_CLUSTER PG_HA_NAMESPACE PG_HA_CONSUL_TOKEN);
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul,
	extra_conf => "pg_ha.api_auth = 'admin:s3cret'");

my ($pg3, $pg1, $pg2) = PgHaTest::start_cluster(names => [qw(pg3 pg1 pg2)],
	options => \%common, writable => 1);
my %node = (pg1 => $pg1, pg2 => $pg2, pg3 => $pg3);
my $session = $consul->kv_session("$prefix/leader");

my $patronictl = PgHaTest::Patronictl->new(consul => $consul, scope => 'otus',
	auth => 'admin:s3cret', timeout => 600);
sub patronictl { return $patronictl->run(@_) }

# the cell of member $name in the column named $column (by the header's
# cells, the row of "Member")
sub cell
{
	my ($out, $name, $column) = @_;
	my @cols = @{ PgHaTest::table_row($out, 'Member') };
	my ($i) = grep { $cols[$_] eq $column } 0 .. $#cols;
	return undef unless defined $i;
	return PgHaTest::table_row($out, $name)->[$i];
}

sub show
{
	my ($node, $what) = @_;
	my $r = $node->psql('postgres', "SHOW $what", stdout => \my $out);
	return $r == 0 ? $out : '';
}

# the log line prefix's time (%m) of the last line matching $re, or ''
sub log_time
{
	my ($node, $re) = @_;
	my ($last) = (grep { /$re/ } split /\n/, slurp_file($node->logfile))[-1];
	return '' unless defined $last;
	my ($t) = $last =~ /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})/;
	return $t // '';
}

my $http = HTTP::Tiny->new(timeout => 10);
my %auth = (Authorization => 'Basic ' . encode_base64('admin:s3cret', ''));

# ---------------------------------------------------------------------
# max_connections raised: every member pending restart, replicas first

my $conns = show($pg3, 'max_connections');
my $raised = $conns + 10;
ok( PgHaTest::poll_until('every record has its hot standby values', 60,
		sub {
			3 == grep {
				my $r = $consul->kv_get_json("$prefix/members/$_");
				$r && ($r->{hot_standby_parameters}{max_connections} // -1) == $conns
			} qw(pg1 pg2 pg3);
		}),
	'every member record has hot_standby_parameters');
$pg3->safe_psql('postgres', "SELECT pg_ha_set_config('max_connections', '$raised')");
ok(PgHaTest::poll_until('all pending', 60, sub { PgHaTest::pending_restarts($pg3) eq 'pg1:true,pg2:true,pg3:true' }),
	"max_connections $raised set cluster-wide: every member is pending restart");
my ($ok, $out, $err);
ok( PgHaTest::poll_until('patronictl list shows the pending restarts', 30,
		sub { ($ok, $out) = patronictl('list', 'otus');
			  3 == grep { (cell($out, $_, 'Pending restart') // '') eq '*' } qw(pg1 pg2 pg3) }),
	'patronictl list: the three members pending restart');

my %before = map { $_ => PgHaTest::start_time($node{$_}) } keys %node;
($ok, $out, $err) = patronictl('restart', 'otus', '--pending', '--force');
ok($ok, 'patronictl restart otus --pending --force exits 0');
my @lines = grep { /^(Success|Failed)/ } split /\n/, $out;
is_deeply(\@lines,
	[ 'Success: restart on member pg1', 'Success: restart on member pg2',
	  'Success: restart on member pg3' ],
	'one "Success: restart on member" line per member, in order, the leader pg3 included');
unlike($out . $err, qr/412|Failed|refused/, 'no member refused its restart');
$_->_update_pid(1) for values %node;

for my $n (qw(pg1 pg2 pg3))
{
	isnt(PgHaTest::start_time($node{$n}), $before{$n}, "$n runs a new server");
	is(show($node{$n}, 'max_connections'), $raised, "$n runs with max_connections $raised");
	like(slurp_file($node{$n}->logfile),
		qr/the REST API stops; process \d+ answers the restart request once the restarted server runs/,
		"$n\'s API left the answer to a process that outlived the server");
}

# each restart from its start (the old server's log line) to the key's
# removal by the new server: one after the other, never two at a time
my %begin = map { $_ => log_time($node{$_}, qr/pg_ha: restarting node "$_" as requested/) } keys %node;
my %back = map { $_ => log_time($node{$_}, qr/pg_ha: node "$_" is back from its requested restart/) } keys %node;
note(join "\n", map { "$_: restarting $begin{$_}, back $back{$_}" } sort keys %node);
for my $n (qw(pg1 pg2 pg3))
{
	ok($begin{$n} ne '' && $back{$n} ne '' && $begin{$n} lt $back{$n},
		"$n restarted ($begin{$n} to $back{$n})");
}
ok($back{pg1} ne '' && $begin{pg2} ne '' && $back{pg1} le $begin{pg2},
	'pg2 stopped only once pg1 was back: never both replicas down together');
ok($back{pg2} ne '' && $begin{pg3} ne '' && $back{pg2} le $begin{pg3},
	'the leader pg3 restarted once both replicas were back');
cmp_ok(PgHaTest::start_time($pg1), '<', PgHaTest::start_time($pg2), 'pg1\'s new server started before pg2\'s');
cmp_ok(PgHaTest::start_time($pg2), '<', PgHaTest::start_time($pg3), 'pg2\'s before the leader\'s');

ok(PgHaTest::poll_until('none pending', 60, sub { PgHaTest::pending_restarts($pg3) eq 'pg1:false,pg2:false,pg3:false' }),
	'no member is pending restart');
is_deeply([ $consul->kv_keys("$prefix/restart/") ], [], 'no restart request left in Consul');
is($consul->kv_get("$prefix/leader"), 'pg3', 'pg3 still leads');
is($consul->kv_session("$prefix/leader"), $session, '... with the same session: no failover');
ok(PgHaTest::poll_until('both replicas stream again', 60, sub { PgHaTest::streaming($pg3) eq 'pg1,pg2' }),
	'pg1 and pg2 stream from pg3 again');

# nothing pending any more: answered at once, as Patroni
my $r = $http->post(PgHaTest::api_url($pg1) . '/restart',
	{ headers => { %auth, 'Content-Type' => 'application/json' },
	  content => '{"restart_pending": true}' });
is("$r->{status} $r->{content}", '503 restart conditions are not satisfied',
	'POST /restart with restart_pending and nothing pending: 503 at once');

# ---------------------------------------------------------------------
# A scheduled restart: Patroni's scheduled_restart in the member record

my $when = '2099-01-01T10:00:00+00:00';
($ok, $out) = patronictl('restart', 'otus', 'pg2', '--force', '--scheduled', $when);
like($out, qr/^Success: restart scheduled on member pg2$/m, 'patronictl schedules a restart of pg2');
like($consul->kv_get("$prefix/restart/pg2") // '', qr/"scheduled_at":"2099-01-01T10:00:00/,
	'the restart/pg2 key holds the schedule');
ok( PgHaTest::poll_until('patronictl list -e shows the schedule', 30,
		sub { ($ok, $out) = patronictl('list', 'otus', '-e');
			  (cell($out, 'pg2', 'Scheduled restart') // '') eq '2099-01-01T10:00:00.000+00:00' }),
	'patronictl list -e: pg2\'s Scheduled restart column');
is(cell($out, 'pg1', 'Scheduled restart') // '', '', '... and none for pg1');
my $record = $consul->kv_get_json("$prefix/members/pg2");
is($record->{scheduled_restart}{schedule}, '2099-01-01T10:00:00.000+00:00',
	'pg2\'s member record: scheduled_restart.schedule');
like($record->{scheduled_restart}{postmaster_start_time} // '', qr/^\d{4}-\d\d-\d\dT/,
	'... with the postmaster_start_time of the server it restarts');
$r = $http->get(PgHaTest::api_url($pg2) . '/patroni');
like($r->{content}, qr/"scheduled_restart": \{"schedule": "2099-01-01T10:00:00.000\+00:00"\}/,
	'GET /patroni on pg2: scheduled_restart, as Patroni shows it');

# restart --force over a scheduled one: patronictl deletes it first
my $when2 = '2099-01-02T10:00:00+00:00';
($ok, $out) = patronictl('restart', 'otus', 'pg2', '--force', '--scheduled', $when2);
like($out, qr/^Success: restart scheduled on member pg2$/m, 'patronictl restart --force replaces it');
unlike($out, qr/Failed/, '... through DELETE /restart, then POST');
like($consul->kv_get("$prefix/restart/pg2") // '', qr/"scheduled_at":"2099-01-02T10:00:00/,
	'... and the key holds the new time');
ok( PgHaTest::poll_until('patronictl list -e shows the new schedule', 30,
		sub { ($ok, $out) = patronictl('list', 'otus', '-e');
			  (cell($out, 'pg2', 'Scheduled restart') // '') eq '2099-01-02T10:00:00.000+00:00' }),
	'patronictl list -e shows the new time');

# DELETE needs credentials, as every write
$r = $http->request('DELETE', PgHaTest::api_url($pg2) . '/restart');
is($r->{status}, 401, 'DELETE /restart without credentials: 401');
ok(defined $consul->kv_get("$prefix/restart/pg2"), '... and the request stays');
$r = $http->request('DELETE', PgHaTest::api_url($pg1) . '/restart', { headers => \%auth });
is("$r->{status} $r->{content}", '404 no restarts are scheduled', 'DELETE /restart on pg1: 404');

($ok, $out) = patronictl('flush', 'otus', 'restart', '--force');
like($out, qr/^Success: flush scheduled restart for member pg2$/m, 'patronictl flush otus restart deletes it');
like($out, qr/^No scheduled restart for member pg1$/m, '... and finds none on pg1');
ok(!defined $consul->kv_get("$prefix/restart/pg2"), 'the restart/pg2 key is gone');
ok( PgHaTest::poll_until('the schedule leaves the record', 30,
		sub { my $m = $consul->kv_get_json("$prefix/members/pg2");
			  $m && !exists $m->{scheduled_restart} }),
	'pg2\'s member record no longer has scheduled_restart');
($ok, $out) = patronictl('flush', 'otus', 'restart', '--force');
like($out, qr/^No scheduled restart for member pg2$/m, 'flush again: no scheduled restart for pg2');
$r = $http->request('DELETE', PgHaTest::api_url($pg2) . '/restart', { headers => \%auth });
is("$r->{status} $r->{content}", '404 no restarts are scheduled',
	'DELETE /restart on pg2 now: 404 no restarts are scheduled');

# ---------------------------------------------------------------------
# pg_ha_ctl flush [CLUSTER] [MEMBER...] restart: straight in Consul

sub ctl { return PgHaTest::ctl(@_) }

# the restart/<member> key as it is: ModifyIndex and value, or 'absent'
sub restart_state
{
	my ($name) = @_;
	my $entry = $consul->kv_get_full("$prefix/restart/$name");
	return $entry ? "$entry->{ModifyIndex}:" . ($entry->{Value} // '') : 'absent';
}

my $rc;
($rc, $out, $err) = ctl('restart', 'otus', 'pg2', 'pg3', "--scheduled=$when", '--force');
is($rc, 0, 'pg_ha_ctl restart otus pg2 pg3 --scheduled: exit code 0');
like($out, qr/^Success: restart scheduled on member pg2 at 2099-01-01T10:00:00\+00:00$/m,
	'... a restart scheduled on pg2');
like($out, qr/^Success: restart scheduled on member pg3 at 2099-01-01T10:00:00\+00:00$/m,
	'... and on pg3, the leader');
my $pg3_restart = restart_state('pg3');
like($pg3_restart, qr/"scheduled_at":"2099-01-01T10:00:00/, 'restart/pg3 holds the schedule');
like(restart_state('pg2'), qr/"scheduled_at":"2099-01-01T10:00:00/, 'restart/pg2 too');

# refusals first: nothing deleted
($rc, $out, $err) = ctl('flush', 'otus', 'pg9', 'restart', '--force');
is($rc, 1, 'flush of an unknown member: exit code 1');
like($err, qr/error: pg9 is not a member of cluster\n/, '... with patronictl\'s words');
($rc, $out, $err) = ctl('flush', 'otus', 'pg2', 'restart', '--role=leader', '--force');
is($rc, 1, 'flush pg2 --role=leader: exit code 1');
like($err, qr/error: No leader among provided members\n/, '... pg2 is no leader, in patronictl\'s words');
($rc, $out, $err) = ctl('flush', 'otus', 'restart', '--role=boss', '--force');
is($rc, 1, 'flush --role=boss: exit code 1');
like($err, qr/error: invalid role "boss"/, '... an invalid role');
($rc, $out, $err) = ctl('flush', 'otus', 'reboot');
is($rc, 1, 'flush otus reboot: exit code 1');
like($err, qr/error: cannot flush "reboot": only a pending switchover or scheduled restarts can be flushed/,
	'... a bad target');
($rc, $out, $err) = ctl({ stdin => "n\n" }, 'flush', 'otus', 'pg2', 'restart');
is($rc, 1, 'flush answered "n": exit code 1');
like($out, qr/^\+ Cluster: otus .*Are you sure you want to flush members pg2\? \[y\/N\]: $/s,
	'... the table, then patronictl\'s question');
like($err, qr/error: aborting flush/, '... aborted');
like(restart_state('pg2'), qr/"scheduled_at"/, 'restart/pg2 still there after the refusals');
is(restart_state('pg3'), $pg3_restart, 'restart/pg3 untouched');

($rc, $out, $err) = ctl('flush', 'otus', 'pg2', 'restart', '--force');
is($rc, 0, 'pg_ha_ctl flush otus pg2 restart --force: exit code 0');
like($out, qr/^Success: flush scheduled restart for member pg2$/m, '... patronictl\'s Success line');
unlike($out, qr/pg3$/m, '... and no word of pg3');
is(restart_state('pg2'), 'absent', 'the restart/pg2 key is gone');
is(restart_state('pg3'), $pg3_restart, 'restart/pg3 is kept, unchanged');

($rc, $out, $err) = ctl('flush', 'otus', 'pg1', 'pg2', 'restart', '--force');
is($rc, 0, 'flush of members without one: exit code 0');
like($out, qr/^No scheduled restart for member pg1\nNo scheduled restart for member pg2\n\z/m,
	'... "No scheduled restart for member" for pg1 and pg2');
($rc, $out, $err) = ctl('flush', 'otus', 'restart', '--role=replica', '--force');
is($rc, 0, 'flush otus restart --role=replica: exit code 0');
like($out, qr/No scheduled restart for member pg1\nNo scheduled restart for member pg2\n\z/,
	'... the replicas only, neither with one');
is(restart_state('pg3'), $pg3_restart, '... and the leader\'s restart/pg3 kept');

# the last one through patronictl: DELETE /restart on pg3's REST API
ok( PgHaTest::poll_until('pg3\'s record shows its scheduled restart', 30,
		sub { my $m = $consul->kv_get_json("$prefix/members/pg3");
			  $m && exists $m->{scheduled_restart} }),
	'pg3\'s member record publishes its scheduled restart');
($ok, $out) = patronictl('flush', 'otus', 'restart', '--force');
like($out, qr/^Success: flush scheduled restart for member pg3$/m,
	'patronictl flush otus restart deletes pg3\'s through the REST API');
like($out, qr/^No scheduled restart for member pg2$/m, '... and finds none on pg2');
is(restart_state('pg3'), 'absent', 'the restart/pg3 key is gone');
($rc, $out, $err) = ctl('flush', 'otus', 'restart', '--force');
like($out, qr/^No scheduled restart for member pg1\nNo scheduled restart for member pg2\nNo scheduled restart for member pg3\n\z/m,
	'pg_ha_ctl flush otus restart: none left on any member');

# ---------------------------------------------------------------------
# A scheduled switchover, flushed through DELETE /switchover

($ok, $out) = patronictl('switchover', 'otus', '--leader', 'pg3', '--candidate', 'pg1',
	'--scheduled', $when, '--force');
like($consul->kv_get("$prefix/failover") // '', qr/"scheduled_at":"2099-01-01T10:00:00/,
	'patronictl schedules a switchover');
($ok, $out, $err) = patronictl('flush', 'otus', 'switchover', '--force');
like($out, qr/^Success: scheduled switchover deleted$/m,
	'patronictl flush otus switchover: Success: scheduled switchover deleted');
unlike($out . $err, qr/Could not find any accessible member|Failing over to DCS/,
	'... through the leader\'s REST API, not around it');
ok(!defined $consul->kv_get("$prefix/failover"), 'the failover key is gone');
($ok, $out) = patronictl('flush', 'otus', 'switchover', '--force');
like($out, qr/^No pending scheduled switchover$/m, 'flush again: No pending scheduled switchover');
$r = $http->request('DELETE', PgHaTest::api_url($pg1) . '/switchover', { headers => \%auth });
is("$r->{status} $r->{content}", '404 no switchover is scheduled',
	'DELETE /switchover without one: 404 no switchover is scheduled');
$r = $http->request('DELETE', PgHaTest::api_url($pg1) . '/failover', { headers => \%auth });
is($r->{status}, 405, 'DELETE /failover: 405');
like($r->{headers}{allow} // '', qr/^POST$/, '... Allow: POST');
is($consul->kv_get("$prefix/leader"), 'pg3', 'pg3 still leads');

$_->stop for ($pg1, $pg2, $pg3);
done_testing();
