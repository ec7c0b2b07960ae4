# Debian's patroni package (3.0.2) as the client: patronictl reads the
# cluster straight from Consul (pg_ha writes Patroni's keys) and asks the
# leader's REST API for a switchover or failover, with basic auth
# (ctl.auth), exactly as it would ask Patroni.  The API answers with the
# outcome, as Patroni's does, so patronictl prints Patroni's lines and the
# new table.  Then the same answers straight from the REST API, health
# checks answered while one waits, and pg_ha_ctl's lines.
use strict;
use warnings;

use HTTP::Tiny;
use IO::Select;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use PgHaTest;

plan skip_all => 'patronictl not installed (apt-get install patroni)'
  unless defined PgHaTest::patronictl_binary();

my $consul = PgHaTest::Consul->start();
my %common = (cluster => 'otus', consul => $consul,
	extra_conf => "pg_ha.api_auth = 'admin:s3cret'");

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \%common, writable => 1, sql => undef);

# patronictl's own configuration: the same Consul, Patroni's namespace
my $patronictl = PgHaTest::Patronictl->new(consul => $consul, scope => 'otus',
	auth => 'admin:s3cret', timeout => 90);
sub patronictl { return $patronictl->run(@_) }

# the table: a row per member, "| pg1 | 127.0.0.1:port | Leader | running | 1 | |"
sub row { return PgHaTest::table_row(@_) }

sub leader_key { return $consul->kv_get('service/otus/leader') // '' }

sub caught_up
{
	my ($name) = @_;
	return PgHaTest::poll_until("$name within the lag limit", 30,
		sub { my ($ok, $out) = patronictl('list', 'otus');
			  (row($out, $name)->[5] // 'x') =~ /^0(\.\d+)?$/ });
}

# Patroni's answer follows the topology as "<time> <answer>", then the
# table read once the answer came
my $answer_line = qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{5} /m;

sub after_answer
{
	my ($out) = @_;
	my @parts = split /$answer_line/, $out, 2;
	return $parts[1] // '';
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

# ---------------------------------------------------------------------
# switchover: patronictl POSTs to pg1's API.  pg1's server stops before
# pg2 takes the key, and its REST API with it: the answer comes from the
# process pg1's HA worker left the connection to.

ok(caught_up('pg2'), 'pg2 has caught up');
($ok, $out) = patronictl('switchover', 'otus', '--leader', 'pg1', '--candidate', 'pg2', '--force');
ok($ok, 'patronictl switchover exits 0');
like($out, qr/${answer_line}Successfully switched over to "pg2"$/m,
	'patronictl prints Patroni\'s answer: Successfully switched over to "pg2"');
is(row(after_answer($out), 'pg2')->[2], 'Leader', 'and the table it prints next shows pg2 as the leader');
unlike($out, qr/Switchover failed|falling back to DCS/, 'through the REST API, not around it');
like(slurp_file($pg1->logfile),
	qr/the REST API stops; process \d+ answers the switchover request once the new leader is known/,
	'pg1\'s API left the answer to a process that outlived its restart');
ok(PgHaTest::wait_writable($pg2, 30), 'pg2 is out of recovery');
ok(PgHaTest::poll_until('pg1 and pg3 follow pg2', 90, sub { PgHaTest::streaming($pg2) eq 'pg1,pg3' }),
	'pg1 and pg3 stream from pg2');

# failover: without --leader patronictl POSTs /failover (the issue's case)
ok(caught_up('pg3'), 'pg3 has caught up');
($ok, $out) = patronictl('failover', 'otus', '--candidate', 'pg3', '--force');
ok($ok, 'patronictl failover exits 0');
like($out, qr/${answer_line}Successfully failed over to "pg3"$/m,
	'patronictl prints Patroni\'s answer: Successfully failed over to "pg3"');
is(row(after_answer($out), 'pg3')->[2], 'Leader', 'and the new table, with pg3 as the leader');
unlike($out, qr/Failover failed|falling back to DCS/, 'through the REST API');
ok(PgHaTest::poll_until('pg1 and pg2 follow pg3', 90, sub { PgHaTest::streaming($pg3) eq 'pg1,pg2' }),
	'pg1 and pg2 stream from pg3');

# ---------------------------------------------------------------------
# The REST API itself.  A node that stays up (here the candidate) answers
# from its own loop, and answers health checks while the request waits.

my %auth = (Authorization => 'Basic ' . encode_base64('admin:s3cret', ''));
my $http = HTTP::Tiny->new(timeout => 5);

sub api_port
{
	my ($node) = @_;
	my ($port) = $node->safe_psql('postgres', 'SHOW pg_ha.api_listen') =~ /:(\d+)$/;
	return $port;
}

# a write request sent now, its answer read later (PgHaTest::read_answer)
sub send_request
{
	my ($node, $method, $path, $body) = @_;
	return PgHaTest::send_request(api_port($node), $method, $path, $body,
		%auth, 'Content-Type' => 'application/json');
}

ok(caught_up('pg1'), 'pg1 has caught up');
my $pg1_api = 'http://127.0.0.1:' . api_port($pg1);
my $sock = send_request($pg1, 'POST', '/failover', '{"candidate":"pg1"}');
my ($checks, $slowest, $answered) = (0, 0, 0);
my $deadline = time + 60;
while (time < $deadline && !IO::Select->new($sock)->can_read(0))
{
	my $t = time;
	my $r = $http->get("$pg1_api/health");
	$checks++;
	$answered++ if $r->{status} == 200 || $r->{status} == 503;
	$slowest = time - $t if time - $t > $slowest;
	select(undef, undef, undef, 0.1);
}
my ($status, $content) = PgHaTest::read_answer($sock);
is($status, 200, 'POST /failover to the candidate: 200 once it leads');
is($content, 'Successfully failed over to "pg1"', '... with Patroni\'s text');
is(leader_key(), 'pg1', 'answered once pg1 holds the leader key');
ok($checks >= 5 && $answered == $checks,
	"the candidate answered every health check while the request waited ($answered of $checks)");
cmp_ok($slowest, '<', 1, sprintf('... each within a second (slowest %.3f s)', $slowest));
ok(PgHaTest::poll_until('pg2 and pg3 follow pg1', 90, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' }),
	'pg2 and pg3 stream from pg1');

# A request withdrawn while the leader keeps the key: "Switchover failed".
# pg1's HA worker is stopped (for less than its lease) so that it cannot
# carry the request out before the test deletes it.
ok(caught_up('pg3'), 'pg3 has caught up');
my $pg1_worker = PgHaTest::ha_worker_pid($pg1);
ok(defined $pg1_worker && kill(0, $pg1_worker), "pg1's HA worker is found (pid $pg1_worker)");
kill 'STOP', $pg1_worker or die "SIGSTOP: $!";
$sock = send_request($pg2, 'POST', '/switchover', '{"leader":"pg1","candidate":"pg3"}');
my $written = PgHaTest::poll_until('the request is written', 5,
	sub { defined $consul->kv_get('service/otus/failover') });
$consul->kv_delete('service/otus/failover');
($status, $content) = PgHaTest::read_answer($sock);
kill 'CONT', $pg1_worker;
ok($written, 'POST /switchover to a replica writes the request');
is($status, 503, 'the request withdrawn: 503');
is($content, 'Switchover failed', '... "Switchover failed", as Patroni');
is(leader_key(), 'pg1', 'pg1 still leads');

# a scheduled switchover is still answered at once
my $r = $http->post("$pg1_api/switchover",
	{ headers => { %auth, 'Content-Type' => 'application/json' },
	  content => '{"leader":"pg1","candidate":"pg2","scheduled_at":"2099-01-01T10:00:00+00:00"}' });
is("$r->{status} $r->{content}", '202 Switchover scheduled', 'a scheduled switchover: 202 at once');
$consul->kv_delete('service/otus/failover');

# ---------------------------------------------------------------------
# pg_ha_ctl prints the outcome as patronictl does

ok(caught_up('pg2'), 'pg2 has caught up');
my ($ctl_rc, $ctl_out) = PgHaTest::ctl({ timeout => 90 }, 'switchover', 'otus',
	'--consul-url', $consul->http_url, '--candidate', 'pg2', '--force');
is($ctl_rc, 0, 'pg_ha_ctl switchover exits 0');
like($ctl_out, qr/${answer_line}Successfully switched over to "pg2"$/m,
	'pg_ha_ctl prints patronictl\'s line');
is(row(after_answer($ctl_out), 'pg2')->[2], 'Leader', 'and the table with pg2 as the leader');
ok(PgHaTest::poll_until('pg1 and pg3 follow pg2', 90, sub { PgHaTest::streaming($pg2) eq 'pg1,pg3' }),
	'pg1 and pg3 stream from pg2');

# a refused request: patronictl shows Patroni-style details
($ok, $out, my $err) = patronictl('switchover', 'otus', '--leader', 'pg2', '--candidate', 'pg2', '--force');
like($out . $err, qr/target and source are the same/, 'patronictl refuses a switchover to the leader itself');

# patronictl flush: DELETE /switchover deletes the scheduled request
# (116_patronictl_restart.pl checks its answers); a {} in the failover key,
# which patronictl writes when no member answers, is no request: the next
# request through REST or SQL replaces it, and pg_ha_ctl flush removes it
my $when = '2030-01-01T10:00+00:00';
($ok, $out) = patronictl('switchover', 'otus', '--leader', 'pg2', '--candidate', 'pg1',
	'--scheduled', $when, '--force');
ok($ok && defined $consul->kv_get('service/otus/failover'), 'patronictl schedules a switchover');
patronictl('flush', 'otus', 'switchover', '--force');
my $key = $consul->kv_get('service/otus/failover');
ok(!defined $key || $key =~ /^\{\s*\}$/, 'patronictl flush leaves no request (' . ($key // 'no key') . ')');
($ok, $out, $err) = patronictl('switchover', 'otus', '--leader', 'pg2', '--candidate', 'pg1',
	'--scheduled', $when, '--force');
like($consul->kv_get('service/otus/failover') // '', qr/"member":\s*"pg1"/,
	'after the flush, a switchover through REST is taken');
$consul->kv_put('service/otus/failover', '{}');
$pg2->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS pg_ha');
$pg2->safe_psql('postgres', "SELECT pg_ha_switchover('pg1', '$when')");
like($consul->kv_get('service/otus/failover') // '', qr/"member":\s*"pg1"/,
	'over {} a switchover through SQL is taken');
my (undef, $ctl_flush) = PgHaTest::ctl('flush', 'otus', 'switchover', '--force', '--consul-url', $consul->http_url);
like($ctl_flush, qr/Success: pending switchover deleted/, 'pg_ha_ctl flush deletes it');
$consul->kv_put('service/otus/failover', '{}');
(undef, $ctl_flush) = PgHaTest::ctl('flush', 'otus', 'switchover', '--force', '--consul-url', $consul->http_url);
like($ctl_flush, qr/No pending switchover \(removed the failover key/, 'and removes a {} left by patronictl');
ok(!defined $consul->kv_get('service/otus/failover'), 'no failover key left');
is(leader_key(), 'pg2', 'pg2 still leads');

# a stopped member (issue 13): pg_ha's leader keeps a record of it, which
# patronictl lists as it lists a stopped Patroni node
$pg3->stop;
ok( PgHaTest::poll_until('patronictl list shows pg3 stopped', 60,
		sub { ($ok, $out) = patronictl('list', 'otus');
			  (row($out, 'pg3')->[3] // '') eq 'stopped' }),
	'patronictl list: pg3 is stopped');
is(row($out, 'pg3')->[5], 'unknown', 'patronictl list: lag of the stopped pg3 is unknown');
is(row($out, 'pg3')->[4], '', 'patronictl list: and it has no timeline');
is(row($out, 'pg3')->[2], 'Replica', 'patronictl list: a stopped member is a replica');
is(row($out, 'pg3')->[1], '127.0.0.1:' . $pg3->port, 'patronictl list: with its host and port');
is(row($out, 'pg2')->[2], 'Leader', 'patronictl list: pg2 still leads');
($ok, $out) = patronictl('list', 'otus', '-f', 'json');
my $list = eval { require JSON::PP; JSON::PP->new->decode($out) } || [];
my ($pg3_json) = grep { $_->{Member} eq 'pg3' } @$list;
is($pg3_json && $pg3_json->{State}, 'stopped', 'patronictl list -f json: pg3 stopped');
is($pg3_json && $pg3_json->{'Lag in MB'}, 'unknown', 'patronictl list -f json: lag "unknown"');

$pg2->stop;
$pg1->stop;
done_testing();
