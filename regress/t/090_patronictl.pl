# Debian's patroni package (3.0.2) as the client: patronictl reads the
# cluster straight from Consul (pg_ha writes Patroni's keys) and asks the
# leader's REST API for a switchover, with basic auth (ctl.auth), exactly
# as it would ask Patroni.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my ($patronictl) = grep { -x } map { "$_/patronictl" } split /:/, ($ENV{PATH} // '') . ':/usr/bin';
plan skip_all => 'patronictl not installed (apt-get install patroni)'
  unless defined $patronictl;

my $consul = PgHaTest::Consul->start();
my %common = (cluster => 'otus', consul => $consul,
	extra_conf => "pg_ha.api_auth = 'admin:s3cret'");

my $pg1 = PgHaTest::new_node('pg1', %common);
$pg1->start;
ok( PgHaTest::poll_until('pg1 takes writes', 60,
		sub { $pg1->safe_psql('postgres', 'SELECT NOT pg_is_in_recovery()') eq 't' }),
	'pg1 is the leader');
my $pg2 = PgHaTest::new_replica('pg2', $pg1, %common);
my $pg3 = PgHaTest::new_replica('pg3', $pg1, %common);
$pg2->start;
$pg3->start;
ok(PgHaTest::poll_until('both replicas stream', 60, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' }),
	'pg2 and pg3 stream from pg1');

# patronictl's own configuration: the same Consul, Patroni's namespace
my $conf = PostgreSQL::Test::Utils::tempdir() . '/patronictl.yml';
my ($consul_hostport) = $consul->http_url =~ m{^http://(.*)$};
PostgreSQL::Test::Utils::append_to_file($conf, <<"YAML");
scope: otus
namespace: /service/
consul:
  host: $consul_hostport
ctl:
  auth: 'admin:s3cret'
YAML

sub patronictl
{
	my @args = @_;
	my ($stdout, $stderr);
	my $ok = IPC::Run::run([ $patronictl, '-c', $conf, @args ],
		'<', \undef, '>', \$stdout, '2>', \$stderr, IPC::Run::timeout(60));
	note("patronictl @args:\n$stdout$stderr");
	return ($ok, $stdout // '', $stderr // '');
}

# the table: a row per member, "| pg1 | 127.0.0.1:port | Leader | running | 1 | |"
sub row
{
	my ($out, $name) = @_;
	my ($line) = grep { /^\|\s*\Q$name\E\s*\|/ } split /\n/, $out;
	return [] unless defined $line;
	my @cells = map { s/^\s+|\s+$//gr } split /\|/, $line;
	shift @cells;
	return \@cells;
}

my ($ok, $out);
ok( PgHaTest::poll_until('patronictl list shows the three members running', 60,
		sub {
			($ok, $out) = patronictl('list', 'otus');
			$ok && row($out, 'pg1')->[2] eq 'Leader' && row($out, 'pg1')->[3] eq 'running'
			  && (row($out, 'pg2')->[2] // '') eq 'Replica' && (row($out, 'pg2')->[3] // '') eq 'running'
			  && (row($out, 'pg3')->[2] // '') eq 'Replica' && (row($out, 'pg3')->[3] // '') eq 'running';
		}),
	'patronictl list: pg1 Leader, pg2 and pg3 running replicas');
like($out, qr/Cluster: otus/, 'patronictl list names the cluster');
is(row($out, 'pg1')->[1], '127.0.0.1:' . $pg1->port, 'patronictl list: host and port of pg1');

# switchover: patronictl POSTs to pg1's API, which answers at once
ok( PgHaTest::poll_until('replicas within the lag limit', 30,
		sub { ($ok, $out) = patronictl('list', 'otus');
			  (row($out, 'pg2')->[5] // 'x') =~ /^0(\.\d+)?$/ }),
	'pg2 has caught up');
($ok, $out) = patronictl('switchover', 'otus', '--leader', 'pg1', '--candidate', 'pg2', '--force');
ok($ok, 'patronictl switchover exits 0');
like($out, qr/switchover to "pg2" requested/, 'patronictl prints pg_ha\'s answer');
unlike($out, qr/Switchover failed|falling back to DCS/, 'through the REST API, not around it');
ok( PgHaTest::poll_until('pg2 leads', 60,
		sub { ($ok, $out) = patronictl('list', 'otus');
			  (row($out, 'pg2')->[2] // '') eq 'Leader' && (row($out, 'pg2')->[3] // '') eq 'running' }),
	'patronictl list: pg2 is the leader');
ok(PgHaTest::poll_until('pg2 takes writes', 30,
		sub { $pg2->safe_psql('postgres', 'SELECT NOT pg_is_in_recovery()') eq 't' }),
	'pg2 is out of recovery');
ok(PgHaTest::poll_until('pg1 and pg3 follow pg2', 90, sub { PgHaTest::streaming($pg2) eq 'pg1,pg3' }),
	'pg1 and pg3 stream from pg2');

# a refused request: patronictl shows Patroni-style details
($ok, $out, my $err) = patronictl('switchover', 'otus', '--leader', 'pg2', '--candidate', 'pg2', '--force');
like($out . $err, qr/target and source are the same/, 'patronictl refuses a switchover to the leader itself');

$pg3->stop;
$pg2->stop;
$pg1->stop;
done_testing();
