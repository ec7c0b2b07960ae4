# A stopped member stays visible (issue 13).  A node's member record is
# held by its Consul session, which ends with its server, so the record
# vanished and the member dropped out of every listing.  Now the leader
# writes, in its place, a record no session holds, with state "stopped",
# no position and last_seen; pg_ha_ctl list, pg_ha_status and REST
# /cluster show the member stopped, lag unknown, until it comes back or
# pg_ha_ctl remove-member forgets it.  The exercise's case, the leader
# stopped, is covered too: the replica that takes over records it.
use strict;
use warnings;

use HTTP::Tiny;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
$ENV{PG_HA_CONSUL_URL} = $consul->http_url;
delete $ENV{$_} for qw(PG_HA_CLUSTER PG_HA_NAMESPACE PG_HA_CONSUL_TOKEN);
my $prefix = 'service/otus';
my %api_port;
my %common = (cluster => 'otus', consul => $consul);
my $http = HTTP::Tiny->new(timeout => 5);
my $json = JSON::PP->new->utf8;

sub api_conf
{
	my ($name) = @_;
	$api_port{$name} = PostgreSQL::Test::Cluster::get_free_port();
	return "pg_ha.api_listen = '127.0.0.1:$api_port{$name}'";
}

sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

# Run pg_ha_ctl, optionally with standard input ({ stdin => "..." } first;
# quiet => 1: not logged, for polls); returns (exit code, stdout, stderr)
# (PgHaTest::ctl).
sub ctl { return PgHaTest::ctl(@_) }

# pg_ha_ctl list otus --format=json, by member name ({} when it fails)
sub list_members
{
	my ($rc, $out) = ctl({ quiet => 1 }, 'list', 'otus', '--format', 'json');
	return {} if $rc != 0;
	my $list = eval { $json->decode($out) } || [];
	return { map { $_->{Member} => $_ } @$list };
}

# a row of pg_ha_status on $node: "state|lag_mb|last_seen IS NOT NULL"
sub status_row
{
	my ($node, $member) = @_;
	my $out = '';
	$node->psql('postgres',
		"SELECT concat_ws('|', state, coalesce(lag_mb::text, 'null'), last_seen IS NOT NULL) "
		  . "FROM pg_ha_status WHERE member = '$member'", stdout => \$out);
	return $out;
}

# the member $name of $node's GET /cluster, or undef
sub cluster_member
{
	my ($node, $name) = @_;
	my $res = $http->get("http://127.0.0.1:$api_port{$node->name}/cluster");
	return undef unless $res->{status} == 200;
	my $doc = eval { $json->decode($res->{content}) } or return undef;
	my ($m) = grep { $_->{name} eq $name } @{ $doc->{members} || [] };
	return $m;
}

# the stopped record of $name in Consul, as written by the leader
sub stopped_record
{
	my ($name) = @_;
	my $e = $consul->kv_get_full("$prefix/members/$name") or return undef;
	return undef if defined $e->{Session};
	return eval { $json->decode($e->{Value}) };
}

# every listing shows $name stopped with lag unknown and a last seen time
sub check_stopped
{
	my ($name, $leader, $other) = @_;
	my $rec;
	ok( PgHaTest::poll_until("a stopped record for $name", 60,
			sub { $rec = stopped_record($name); $rec && $rec->{state} eq 'stopped' }),
		"the leader wrote a record of $name that no session holds");
	ok(!exists $rec->{xlog_location} && !exists $rec->{timeline},
		'with no position, so its lag is unknown');
	like($rec->{last_seen} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/,
		'and when it was last seen, in ISO 8601');
	like($rec->{conn_url} // '', qr{^postgres://127\.0\.0\.1:\d+/postgres$},
		'and its last conn_url');

	my $m;
	ok( PgHaTest::poll_until("pg_ha_ctl list shows $name stopped", 30,
			sub { $m = list_members()->{$name}; $m && $m->{State} eq 'stopped' }),
		"pg_ha_ctl list: $name is stopped");
	is($m->{'Lag in MB'}, 'unknown', 'pg_ha_ctl list: lag unknown');
	ok(!exists $m->{TL}, 'pg_ha_ctl list: no timeline');
	is($m->{Role}, 'Replica', 'pg_ha_ctl list: a stopped member is no leader');
	like($m->{'Last seen'} // '', qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/,
		'pg_ha_ctl list: when it was last seen');
	my ($rc, $out) = ctl('list', 'otus');
	like($out, qr/^\| \Q$name\E\s+\|[^|]+\| Replica\s+\| stopped \|\s+\|\s+unknown \|/m,
		"the table: $name | host | Replica | stopped | | unknown")
	  or diag($out);
	like($out, qr/\| Last seen\s+\|/, 'the table has a Last seen column');

	for my $node ($leader, $other)
	{
		ok( PgHaTest::poll_until('pg_ha_status on ' . $node->name, 30,
				sub { status_row($node, $name) eq 'stopped|null|t' }),
			'pg_ha_status on ' . $node->name . ": $name stopped, lag_mb NULL, last_seen set");
	}
	my $c;
	ok( PgHaTest::poll_until("/cluster shows $name stopped", 30,
			sub { $c = cluster_member($leader, $name); $c && $c->{state} eq 'stopped' }),
		"GET /cluster: $name is stopped");
	is($c->{lag}, 'unknown', '/cluster: lag "unknown"');
	is($c->{role}, 'replica', '/cluster: role replica');
	is($c->{last_seen}, $rec->{last_seen}, '/cluster: last_seen as recorded');
}

# ---------------------------------------------------------------------
# Three nodes

my $pg1 = PgHaTest::new_node('pg1', %common, extra_conf => api_conf('pg1'));
$pg1->start;
ok(PgHaTest::poll_until('pg1 leads', 60, sub { leader_key() eq 'pg1' }), 'pg1 is the leader');
ok( PgHaTest::poll_until('pg1 takes writes', 60,
		sub { $pg1->psql('postgres', 'CREATE EXTENSION IF NOT EXISTS pg_ha') == 0 }),
	'pg1 takes writes');
my $pg2 = PgHaTest::new_replica('pg2', $pg1, %common, extra_conf => api_conf('pg2'));
my $pg3 = PgHaTest::new_replica('pg3', $pg1, %common, extra_conf => api_conf('pg3'));
$pg2->start;
$pg3->start;
ok(PgHaTest::poll_until('both replicas stream', 60, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' }),
	'pg2 and pg3 stream from pg1');
ok( PgHaTest::poll_until('three members running', 30,
		sub { my $l = list_members();
			  join(',', map { "$_:" . ($l->{$_}{State} // '') } sort keys %$l)
				eq 'pg1:running,pg2:running,pg3:running' }),
	'pg_ha_ctl list: three members running');

# ---------------------------------------------------------------------
# A replica stopped: listed as stopped everywhere

$pg3->stop('fast');
check_stopped('pg3', $pg1, $pg2);
ok($pg1->wait_for_log(qr/member "pg3" of cluster "otus" is gone: recorded it as stopped \(last seen /),
	'the leader logs that it recorded pg3 as stopped');
is(PgHaTest::streaming($pg1), 'pg2', 'the cluster goes on: pg2 streams');

# remove-member refuses a running member, and asks first
my ($rc, $out, $err) = ctl('remove-member', 'otus', 'pg2', '--force');
is($rc, 1, 'remove-member of a running member: exit code 1');
like($err, qr/member "pg2" of cluster "otus" is running: only a stopped member can be removed/,
	'remove-member says why it refuses a running member');
($rc, $out, $err) = ctl('remove-member', 'otus', 'nosuch', '--force');
is($rc, 1, 'remove-member of an unknown member: exit code 1');
like($err, qr/cluster "otus" has no stopped member "nosuch"/, 'and says so');
($rc, $out, $err) = ctl({ stdin => "n\n" }, 'remove-member', 'otus', 'pg3');
is($rc, 1, 'remove-member answered "n": exit code 1');
like($out, qr/Are you sure you want to remove stopped member pg3 from cluster otus\? \[y\/N\]/,
	'remove-member asks first');
ok(stopped_record('pg3'), 'and removed nothing');

# ---------------------------------------------------------------------
# It comes back: running again, its record held by its session again

PgHaTest::start_node($pg3);
my $m;
ok( PgHaTest::poll_until('pg3 running again', 60,
		sub { $m = list_members()->{pg3}; $m && $m->{State} eq 'running' && $m->{'Lag in MB'} =~ /^\d+$/ }),
	'pg_ha_ctl list: pg3 is running again, with a lag in MB');
ok(defined $consul->kv_session("$prefix/members/pg3"), 'its record is held by its session again');
ok(PgHaTest::poll_until('pg3 streams', 60, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' }),
	'pg3 streams again');
ok( PgHaTest::poll_until('pg_ha_status: pg3 running', 30,
		sub { status_row($pg1, 'pg3') =~ /^running\|\d+\|f$/ }),
	'pg_ha_status: pg3 running, a lag, no last_seen');

# ---------------------------------------------------------------------
# Stopped again, then forgotten with remove-member

$pg3->stop('fast');
check_stopped('pg3', $pg1, $pg2);
($rc, $out, $err) = ctl({ stdin => "y\n" }, 'remove-member', 'otus', 'pg3');
is($rc, 0, 'remove-member answered "y": exit code 0');
like($out, qr/Success: stopped member pg3 removed from cluster otus/, 'remove-member says so');
ok(!defined $consul->kv_get("$prefix/members/pg3"), 'the record is gone');
ok( PgHaTest::poll_until('pg3 no longer listed', 30,
		sub { !exists list_members()->{pg3} && status_row($pg1, 'pg3') eq '' }),
	'pg_ha_ctl list and pg_ha_status no longer show pg3');
# the leader read the cluster twice since, and did not write it again
my $removed = $pg1->safe_psql('postgres', 'SELECT now()');
ok( PgHaTest::poll_until('two more rounds of the leader', 30,
		sub { $pg1->safe_psql('postgres',
				"SELECT min(as_of) > '$removed'::timestamptz + interval '2 s' FROM pg_ha_status") eq 't' }),
	'the leader has read the cluster again');
ok(!defined $consul->kv_get("$prefix/members/pg3"), 'a removed member stays removed');
($rc, $out, $err) = ctl('remove-member', 'otus', 'pg3', '--force');
is($rc, 1, 'remove-member of a removed member: exit code 1');

# ---------------------------------------------------------------------
# The exercise: the leader stopped.  The replica that takes over records
# it, and it rejoins as a replica.

PgHaTest::start_node($pg3);
ok(PgHaTest::poll_until('pg3 streams', 60, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' }),
	'pg3 is back and streams');
$pg1->stop('fast');
ok(PgHaTest::poll_until('a new leader', 30, sub { leader_key() =~ /^pg[23]$/ }),
	'a replica takes over from the stopped leader');
my ($next, $other) = leader_key() eq 'pg2' ? ($pg2, $pg3) : ($pg3, $pg2);
check_stopped('pg1', $next, $other);
PgHaTest::start_node($pg1);
ok( PgHaTest::poll_until('pg1 running again', 90,
		sub { $m = list_members()->{pg1}; $m && $m->{State} eq 'running' && $m->{Role} eq 'Replica' }),
	'the old leader is back, running as a replica');
ok( PgHaTest::poll_until('pg1 streams', 90,
		sub { PgHaTest::streaming($next) eq join(',', sort('pg1', $other->name)) }),
	'and streams from the new leader');
is(leader_key(), $next->name, 'the new leader still leads');

$pg1->stop;
$pg2->stop;
$pg3->stop;
done_testing();
