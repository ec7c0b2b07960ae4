
# Copyright (c) pg_ha contributors

# Smoke test of the shared TAP harness (PgHaTest.pm): a real Consul agent,
# its KV and session API, stop / start_again / kill9 on the same ports,
# automatic clean-up when a test dies or is killed, and new_node()'s
# configuration.  No pg_ha server is started here.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use HTTP::Tiny;
use JSON::PP;
use IO::Socket::INET;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();

use FindBin;
use lib $FindBin::RealBin;
use PgHaTest;

# ---------------------------------------------------------------------------
# Helpers that need no server.

my $consul_bin = PgHaTest::consul_binary();
ok(-f $consul_bin && -x $consul_bin, "consul binary is executable ($consul_bin)");
my $haproxy_bin = PgHaTest::haproxy_binary();
ok(!defined $haproxy_bin || -x $haproxy_bin,
	'haproxy_binary: ' . (defined $haproxy_bin ? $haproxy_bin : 'none'));

{
	my $n = 0;
	my $t0 = PgHaTest::_now();
	is(PgHaTest::poll_until('counter reaches 3', 5, sub { ++$n >= 3 ? "done" : 0 }),
		'done', 'poll_until returns the true value');
	is($n, 3, 'poll_until retried until true');
	cmp_ok(PgHaTest::_now() - $t0, '<', 2, 'poll_until polls quickly');

	$n = 0;
	ok(PgHaTest::poll_until('dies twice', 5, sub { die "not yet\n" if ++$n < 3; 1 }),
		'poll_until treats die as not yet');

	$t0 = PgHaTest::_now();
	is(PgHaTest::poll_until('never (expected to time out)', 0.5, sub { 0 }),
		0, 'poll_until returns false on timeout');
	my $elapsed = PgHaTest::_now() - $t0;
	ok($elapsed >= 0.5 && $elapsed < 3, "poll_until honours its deadline ($elapsed s)");
}

# ---------------------------------------------------------------------------
# A Consul agent in dev mode.

my $consul = PgHaTest::Consul->start();
ok($consul->is_running, 'consul started');
diag(sprintf('consul -dev ready in %.2fs', $consul->startup_seconds));
my $port = $consul->http_port;
is($consul->http_url, "http://127.0.0.1:$port", 'http_url');
like($consul->leader, qr/^127\.0\.0\.1:\d+$/, 'consul has a leader on loopback');
ok(-s $consul->log_file, 'consul log file written: ' . $consul->log_file);

# KV
ok($consul->kv_put('pg_ha/smoke/hello', 'world'), 'kv_put');
is($consul->kv_get('pg_ha/smoke/hello'), 'world', 'kv_get returns the value');
is($consul->kv_get('pg_ha/smoke/missing'), undef, 'kv_get of a missing key is undef');
ok($consul->kv_put('pg_ha/smoke/json', { a => 1, b => [ 'x', 'y' ] }), 'kv_put of a ref');
is_deeply($consul->kv_get_json('pg_ha/smoke/json'), { a => 1, b => [ 'x', 'y' ] },
	'kv_get_json decodes');
is($consul->kv_get('pg_ha/smoke/json'), '{"a":1,"b":["x","y"]}', 'refs are sent as JSON');
ok($consul->kv_put('pg_ha/smoke/odd key&=?', 'v'), 'kv_put of a key needing escapes');
is($consul->kv_get('pg_ha/smoke/odd key&=?'), 'v', 'kv_get of a key needing escapes');
is_deeply([ $consul->kv_keys('pg_ha/smoke/') ],
	[ 'pg_ha/smoke/hello', 'pg_ha/smoke/json', 'pg_ha/smoke/odd key&=?' ],
	'kv_keys lists the keys');
is(scalar($consul->kv_keys('pg_ha/nothing/')), 0, 'kv_keys of an empty prefix');

my $entry = $consul->kv_get_full('pg_ha/smoke/hello');
is($entry->{Value}, 'world', 'kv_get_full decodes Value');
ok(!$consul->kv_put('pg_ha/smoke/hello', 'cas-bad', cas => $entry->{ModifyIndex} + 1000),
	'kv_put with a wrong cas index is false');
ok($consul->kv_put('pg_ha/smoke/hello', 'cas-ok', cas => $entry->{ModifyIndex}),
	'kv_put with the right cas index is true');
is($consul->kv_get('pg_ha/smoke/hello'), 'cas-ok', 'cas put took effect');

ok($consul->kv_delete('pg_ha/smoke/odd key&=?'), 'kv_delete of one key');
is($consul->kv_get('pg_ha/smoke/odd key&=?'), undef, 'deleted key is gone');

# Sessions
is(scalar($consul->session_list), 0, 'no sessions at first');

my $http = HTTP::Tiny->new(timeout => 5);
my $res = $http->put($consul->http_url . '/v1/session/create',
	{ content => encode_json({ TTL => '10s', Name => 'smoke' }) });
is($res->{status}, 200, 'PUT /v1/session/create succeeded')
  or diag("$res->{status} $res->{content}");
my $session = decode_json($res->{content})->{ID};
like($session, qr/^[0-9a-f-]{36}$/, "session created: $session");

my @sessions = $consul->session_list;
is(scalar(@sessions), 1, 'session_list has one session');
is($sessions[0]{ID},  $session, 'session_list shows our session');
is($sessions[0]{TTL}, '10s',    'session TTL');

ok($consul->kv_put('pg_ha/smoke/leader', 'me', acquire => $session), 'acquire with the session');
is($consul->kv_session('pg_ha/smoke/leader'), $session, 'kv_session names the holder');
is($consul->kv_session('pg_ha/smoke/hello'), undef, 'kv_session of an unlocked key is undef');
is($consul->kv_session('pg_ha/smoke/missing'), undef, 'kv_session of a missing key is undef');

my $other = $consul->session_create(TTL => '10s', Name => 'other');
ok(!$consul->kv_put('pg_ha/smoke/leader', 'other', acquire => $other),
	'another session cannot acquire a held key');
is($consul->kv_get('pg_ha/smoke/leader'), 'me', 'the held key is unchanged');
ok($consul->kv_put('pg_ha/smoke/leader', 'me', release => $session), 'release');
is($consul->kv_session('pg_ha/smoke/leader'), undef, 'released key has no session');
ok($consul->session_destroy($other), 'session_destroy');
is($consul->session_info($other), undef, 'destroyed session is gone');
is($consul->session_info($session)->{Name}, 'smoke', 'session_info');

ok($consul->kv_delete('pg_ha/smoke', recurse => 1), 'kv_delete recurse');
is(scalar($consul->kv_keys('pg_ha/')), 0, 'recursive delete removed everything');

# Stop, the port refuses, start again on the same port.
my $old_pid = $consul->pid;
ok($consul->stop, 'stop');
ok(!$consul->is_running, 'consul is not running after stop');
ok(!kill(0, $old_pid), 'consul process is gone');
$res = $http->get($consul->http_url . '/v1/status/leader');
is($res->{status}, 599, 'HTTP request fails after stop');
like($res->{content}, qr/refused/i, 'connection refused after stop');
ok(!$consul->accepts_connections, 'HTTP port refuses connections');
is($consul->leader, undef, 'leader is undef while stopped');
ok(!eval { $consul->kv_get('x'); 1 }, 'kv_get dies while consul is down');

$consul->start_again;
is($consul->http_port, $port, 'start_again keeps the HTTP port');
ok($consul->accepts_connections, 'HTTP port accepts connections again');
$res = $http->get($consul->http_url . '/v1/status/leader');
is($res->{status}, 200, 'HTTP answers again after start_again');
like($consul->leader, qr/^127\.0\.0\.1:\d+$/, 'leader after start_again');
is(scalar($consul->session_list), 0, 'dev mode: no sessions after restart');
ok($consul->kv_put('pg_ha/smoke/again', 'yes'), 'kv_put after start_again');
is($consul->kv_get('pg_ha/smoke/again'), 'yes', 'kv_get after start_again');

$consul->kill9;
ok(!$consul->is_running && !$consul->accepts_connections, 'kill9 stops consul');
$consul->start_again;
is($consul->kv_get('pg_ha/smoke/again'), undef, 'dev mode: empty KV after kill9 and start_again');

# ---------------------------------------------------------------------------
# A persistent single-server agent keeps its state across restarts.

my $pconsul = PgHaTest::Consul->start(name => 'consul_persistent', persistent => 1);
diag(sprintf('persistent consul ready in %.2fs', $pconsul->startup_seconds));
isnt($pconsul->http_port, $consul->http_port, 'second agent has its own port');
ok($pconsul->kv_put('pg_ha/p/kept', 'still here'), 'persistent: kv_put');
$pconsul->kill9;
$pconsul->start_again;
is($pconsul->kv_get('pg_ha/p/kept'), 'still here', 'persistent: KV survives kill9 + start_again');
$pconsul->stop;
$pconsul->start_again;
is($pconsul->kv_get('pg_ha/p/kept'), 'still here', 'persistent: KV survives stop + start_again');
diag(sprintf('persistent consul restart ready in %.2fs', $pconsul->startup_seconds));
$pconsul->stop;

# ---------------------------------------------------------------------------
# Agents are stopped when a test dies, or is killed with SIGTERM.

{
	my $dir    = PostgreSQL::Test::Utils::tempdir('child');
	my $script = "$dir/001_consul_harness_child.pl";
	open my $fh, '>', $script or die "$script: $!";
	print $fh <<'EOS';
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use PgHaTest;
my ($mode, $out) = @ARGV;
my $c = PgHaTest::Consul->start(name => "child_$mode");
open my $fh, '>', "$out.tmp" or die;
print $fh $c->pid, ' ', $c->http_port, "\n";
close $fh;
rename "$out.tmp", $out or die;
die "child dies on purpose\n" if $mode eq 'die';
sleep 1 while 1;
EOS
	close $fh;

	my @perl = ($^X, map({ ('-I', $_) } @INC), $script);
	foreach my $mode (qw(die term))
	{
		my $out = "$dir/$mode.out";
		my ($stdout, $stderr) = ('', '');
		# The child's tmp_check (its logs and temporary directories, kept
		# because it fails) goes inside $dir, removed if this test passes;
		# it shares our port reservations.
		local $ENV{TESTDIR}          = $dir;
		local $ENV{PG_TEST_PORT_DIR} = $PostgreSQL::Test::Cluster::portdir;
		my $h = IPC::Run::start([ @perl, $mode, $out ], '>', \$stdout, '2>', \$stderr);
		ok(PgHaTest::poll_until("child ($mode) started consul", 60, sub { -s $out }),
			"child ($mode) started consul")
		  or diag("child stdout: $stdout\nchild stderr: $stderr");
		my ($cpid, $cport) = split ' ', PostgreSQL::Test::Utils::slurp_file($out);
		$h->signal('TERM') if $mode eq 'term';
		$h->finish;
		isnt($h->result(0), 0, "child ($mode) exited with failure");
		ok(PgHaTest::poll_until("child ($mode) consul pid $cpid is gone", 10,
				sub { !kill(0, $cpid) }),
			"child ($mode): its consul process is gone");
		my $sock = IO::Socket::INET->new(
			PeerAddr => '127.0.0.1',
			PeerPort => $cport,
			Proto    => 'tcp',
			Timeout  => 2);
		ok(!$sock, "child ($mode): its consul port $cport refuses connections");
	}
}

# ---------------------------------------------------------------------------
# new_node() writes pg_ha's configuration (the node is not started: the
# extension may not be built yet).

my $node = PgHaTest::new_node(
	'node1',
	cluster    => 'smoke',
	consul     => $consul,
	extra_conf => [ 'pg_ha.extra_test_setting = 42', "log_min_messages = 'debug1'" ]);
isa_ok($node, 'PostgreSQL::Test::Cluster');
ok(!defined $node->{_pid}, 'node is not started');
my $conf = PostgreSQL::Test::Utils::slurp_file($node->data_dir . '/postgresql.conf');
my $node_port = $node->port;
my $url = $consul->http_url;
foreach my $line (
	"shared_preload_libraries = 'pg_ha'",
	"pg_ha.cluster = 'smoke'",
	"pg_ha.node_name = 'node1'",
	"pg_ha.consul_url = '$url'",
	"pg_ha.ttl = '10s'",
	"pg_ha.loop_wait = '1s'",
	"pg_ha.retry_timeout = '2s'",
	"pg_ha.connect_address = '127.0.0.1:$node_port'",
	"listen_addresses = '127.0.0.1'",
	'wal_level = replica',
	'pg_ha.extra_test_setting = 42',
	"log_min_messages = 'debug1'")
{
	like($conf, qr/^\Q$line\E$/m, "postgresql.conf has: $line");
}

my $node2 = PgHaTest::new_node('node2', cluster => 'smoke', consul => $consul,
	ttl => '20s', loop_wait => '2s', retry_timeout => '5s', extra_conf => 'port = 1');
$conf = PostgreSQL::Test::Utils::slurp_file($node2->data_dir . '/postgresql.conf');
like($conf, qr/^pg_ha\.ttl = '20s'$/m,          'ttl option');
like($conf, qr/^pg_ha\.loop_wait = '2s'$/m,     'loop_wait option');
like($conf, qr/^pg_ha\.retry_timeout = '5s'$/m, 'retry_timeout option');
like($conf, qr/^pg_ha\.node_name = 'node2'$/m, 'second node name');

# $consul is left running on purpose: the END block stops it.
done_testing();
