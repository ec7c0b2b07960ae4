# The REST API, as HAProxy and patronictl see it: Patroni 3.0.2's status
# codes on a leader and a replica, the /patroni and /cluster documents,
# 404/405/400 answers, a worker that survives hostile clients (a huge
# header, garbage bytes, idle connections) without restarting, and answers
# that come from memory while Consul is down.
use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul);
my $http   = HTTP::Tiny->new(timeout => 5);
my $json   = JSON::PP->new->utf8;

# Each node's API on its own free port.
my %api_port;

sub api_conf
{
	my ($name) = @_;
	$api_port{$name} = PostgreSQL::Test::Cluster::get_free_port();
	return "pg_ha.api_listen = '127.0.0.1:$api_port{$name}'";
}

# ($status, $content, $headers) of one request to $node's API.
sub api
{
	my ($node, $method, $path, %opts) = @_;
	my $url = "http://127.0.0.1:$api_port{$node->name}$path";
	my $res = $http->request($method, $url, \%opts);
	return ($res->{status}, $res->{content} // '', $res->{headers} // {});
}

sub status_of { my @r = api(@_); return $r[0] }

sub get_json
{
	my ($node, $path) = @_;
	my ($status, $content) = api($node, 'GET', $path);
	my $doc = eval { $json->decode($content) };
	return ($status, $doc, $content);
}

sub streaming { return PgHaTest::streaming(@_) }

# Send raw bytes, half-close, and return what the server answered within
# $timeout seconds ('' when it closed without an answer).
sub raw_request
{
	my ($node, $bytes, $timeout) = @_;
	local $SIG{PIPE} = 'IGNORE';
	my $sock = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $api_port{ $node->name },
		Proto    => 'tcp',
		Timeout  => 5) or die "connect: $!";
	$sock->autoflush(1);
	# the server may answer and close before it has read everything
	eval { print {$sock} $bytes; };
	shutdown($sock, 1);
	my $sel      = IO::Select->new($sock);
	my $answer   = '';
	my $deadline = time + ($timeout // 15);
	while (time < $deadline)
	{
		last unless $sel->can_read($deadline - time);
		my $n = sysread($sock, my $buf, 65536);
		last if !$n;
		$answer .= $buf;
	}
	close $sock;
	return $answer;
}

# A 4xx (or, for an HTTP version it does not speak, 505), or a closed
# connection: anything but a crash or a success.
sub answered_4xx_or_closed
{
	my ($answer, $what) = @_;
	my ($line) = $answer =~ /\A([^\r\n]*)/;
	ok($answer eq '' || $answer =~ m{\AHTTP/1\.[01] (4\d\d|505) },
		"$what: answered with a 4xx or closed ("
		  . ($answer eq '' ? 'closed' : $line) . ')');
}

# ---------------------------------------------------------------------
# A leader and a streaming replica, each with its API.

# pg1 wants credentials for writes; pg2 takes them from loopback without
my $pg1 = PgHaTest::new_node('pg1', %common,
	extra_conf => [ api_conf('pg1'), "pg_ha.api_auth = 'admin:s3cret'" ]);
$pg1->start;
ok(PgHaTest::wait_writable($pg1), 'pg1 is the leader');

# (its postgresql.conf is pg1's copy: unset api_auth again)
my $pg2 = PgHaTest::new_replica('pg2', $pg1, %common,
	extra_conf => [ api_conf('pg2'), "pg_ha.api_auth = ''" ]);
$pg2->start;
ok(PgHaTest::poll_until('pg2 streams from pg1', 60, sub { streaming($pg1) eq 'pg2' }),
	'pg2 streams from pg1');

ok(PgHaTest::poll_until('pg1 API says primary', 30, sub { status_of($pg1, 'GET', '/primary') == 200 }),
	'the leader answers 200 on /primary');
ok(PgHaTest::poll_until('pg2 API says replica', 30, sub { status_of($pg2, 'GET', '/replica') == 200 }),
	'the replica answers 200 on /replica');

my ($api_pid) = slurp_file($pg1->logfile) =~ /REST API listening on "127\.0\.0\.1:\d+" \(pid (\d+)\)/;
ok(defined $api_pid, 'the REST API logged its address and pid');
like(slurp_file("/proc/$api_pid/cmdline"), qr/pg_ha HA worker/,
	'that pid is the pg_ha HA worker, which serves the REST API itself');
{
	# the postmaster's children that are pg_ha's (by their process title)
	my ($postmaster) = slurp_file($pg1->data_dir . '/postmaster.pid') =~ /\A(\d+)/;
	my @ours;
	for my $stat (glob '/proc/[0-9]*/stat')
	{
		my $line = eval { slurp_file($stat) } // next;
		next unless $line =~ /\) \S (\d+) / && $1 == $postmaster;
		(my $cmdline = eval { slurp_file($stat =~ s/stat$/cmdline/r) } // '') =~ s/\0/ /g;
		push @ours, $cmdline =~ s/\s+$//r if $cmdline =~ /pg_ha/;
	}
	is(scalar(@ours), 1, 'pg_ha runs one process: ' . join(', ', @ours));
	like($ours[0] // '', qr/pg_ha HA worker$/, '... its HA worker');
}

# ---------------------------------------------------------------------
# HAProxy's view: the reference table of Patroni 3.0.2.

my %expected = (
	pg1 => { '/master' => 200, '/primary' => 200, '/leader' => 200, '/replica' => 503,
			 '/read-only' => 200, '/health' => 200, '/liveness' => 200, '/readiness' => 200 },
	pg2 => { '/master' => 503, '/primary' => 503, '/leader' => 503, '/replica' => 200,
			 '/read-only' => 200, '/health' => 200, '/liveness' => 200, '/readiness' => 200 });
for my $node ($pg1, $pg2)
{
	my $name = $node->name;
	for my $path (sort keys %{ $expected{$name} })
	{
		is(status_of($node, 'GET', $path), $expected{$name}{$path}, "$name: GET $path");
	}
	my ($status, $content) = api($node, 'OPTIONS', '/master');
	is($status, $expected{$name}{'/master'}, "$name: OPTIONS /master (HAProxy's check)");
	is($content, '', "$name: OPTIONS answers without a body");
	($status, $content) = api($node, 'HEAD', '/primary');
	is($status, $expected{$name}{'/primary'}, "$name: HEAD /primary");
}
is(status_of($pg1, 'OPTIONS', '/primary'), 200, 'OPTIONS /primary: 200 on the leader');
is(status_of($pg2, 'OPTIONS', '/primary'), 503, 'OPTIONS /primary: 503 on the replica');
is(status_of($pg2, 'GET', '/replica?lag=1TB'), 200, 'GET /replica?lag=1TB on the replica');
is(status_of($pg2, 'GET', '/replica?lag=junk'), 400, 'a lag that is not a size: 400');
is(status_of($pg2, 'GET', '/replica?tag_nofailover=true'), 503,
	'a tag the node does not have: 503');

# ---------------------------------------------------------------------
# /patroni on the leader and on the replica.

my ($status, $doc, $raw) = get_json($pg1, '/patroni');
is($status, 200, 'GET /patroni on the leader');
like($raw, qr/\A\{"state": "running", "postmaster_start_time": "[^"]+", "role": "master", "server_version": \d+, "xlog": \{"location": \d+\}, "timeline": 1, "replication": \[/,
	'leader /patroni: Patroni\'s keys in Patroni\'s order');
is($doc->{server_version}, $pg1->safe_psql('postgres', 'SHOW server_version_num'),
	'server_version is server_version_num');
like($doc->{postmaster_start_time}, qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00$/,
	'postmaster_start_time in Patroni\'s format');
is(substr($doc->{postmaster_start_time}, 0, 19),
	$pg1->safe_psql('postgres',
		"SELECT to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"),
	'postmaster_start_time is pg_postmaster_start_time() in UTC');
cmp_ok($doc->{xlog}{location}, '>', 0, 'xlog.location of the leader');
my @rep = @{ $doc->{replication} // [] };
is(scalar(@rep), 1, 'one walsender in the replication list');
is($rep[0]{application_name}, 'pg2', 'replication: application_name');
is($rep[0]{state}, 'streaming', 'replication: state');
is($rep[0]{client_addr}, '127.0.0.1', 'replication: client_addr');
is($rep[0]{sync_state}, 'async', 'replication: sync_state');
is($rep[0]{sync_priority}, 0, 'replication: sync_priority');
ok(exists $rep[0]{usename}, 'replication: usename is there (null without catalog access)');
cmp_ok(abs($doc->{dcs_last_seen} - time), '<', 30, 'dcs_last_seen is recent epoch seconds');
is($doc->{database_system_identifier},
	$pg1->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()'),
	'database_system_identifier');
is($doc->{patroni}{scope}, 'otus', 'patroni.scope');
ok(defined $doc->{patroni}{version}, 'patroni.version');
ok(!exists $doc->{cluster_unlocked}, 'no cluster_unlocked while a leader holds the key');

my ($code, $primary_doc) = get_json($pg1, '/primary');
is($code, 200, 'GET /primary on the leader');
is_deeply([ sort keys %$primary_doc ], [ sort keys %$doc ],
	'the body of /primary is the /patroni document');

($status, $doc, $raw) = get_json($pg2, '/patroni');
is($status, 200, 'GET /patroni on the replica');
is($doc->{role}, 'replica', 'replica /patroni: role');
like($raw, qr/"xlog": \{"received_location": \d+, "replayed_location": \d+, "replayed_timestamp": [^,]+, "paused": false\}/,
	'replica /patroni: xlog as Patroni writes it');
is($doc->{timeline}, 1, 'replica /patroni: timeline');
ok(!exists $doc->{replication}, 'replica /patroni: no replication list');
my (undef, $body503) = api($pg2, 'GET', '/primary');
is(eval { $json->decode($body503)->{role} }, 'replica', 'a 503 health check carries the document too');

# ---------------------------------------------------------------------
# /cluster, /history, /config, /metrics.

ok( PgHaTest::poll_until('both members in /cluster', 30,
		sub { my (undef, $d) = get_json($pg1, '/cluster');
			  join(',', map { $_->{name} } @{ $d->{members} // [] }) eq 'pg1,pg2' }),
	'/cluster lists both members, sorted');
($status, $doc) = get_json($pg1, '/cluster');
is($status, 200, 'GET /cluster');
my %m = map { $_->{name} => $_ } @{ $doc->{members} };
is($m{pg1}{role}, 'leader', '/cluster: pg1 is the leader');
is($m{pg2}{role}, 'replica', '/cluster: pg2 is a replica');
is($m{pg1}{state}, 'running', '/cluster: state');
is($m{pg1}{host}, '127.0.0.1', '/cluster: host');
is($m{pg1}{port}, $pg1->port, '/cluster: port');
is($m{pg2}{port}, $pg2->port, '/cluster: port of the replica');
is($m{pg1}{api_url}, "http://127.0.0.1:$api_port{pg1}/patroni", '/cluster: api_url');
ok(!exists $m{pg1}{lag}, '/cluster: no lag on the leader');
like($m{pg2}{lag}, qr/^(\d+|unknown)$/, '/cluster: lag of the replica');

($status, my $content) = api($pg1, 'GET', '/history');
is($status, 200, 'GET /history');
is($content, '[]', '/history is empty for now');
ok(PgHaTest::poll_until('GET /config', 30, sub { status_of($pg1, 'GET', '/config') == 200 }),
	'GET /config: 200');
($status, $doc) = get_json($pg1, '/config');
is_deeply($doc, $consul->kv_get_json("$prefix/config"), 'GET /config answers the config key');

my $headers;
($status, $content, $headers) = api($pg1, 'GET', '/metrics');
is($status, 200, 'GET /metrics');
like($headers->{'content-type'}, qr{^text/plain}, '/metrics is text/plain');
like($content, qr/^# HELP patroni_primary .*\n# TYPE patroni_primary gauge\npatroni_primary\{scope="otus"\} 1$/m,
	'/metrics: patroni_primary 1 on the leader');
like($content, qr/^patroni_replica\{scope="otus"\} 0$/m, '/metrics: patroni_replica 0');
like($content, qr/^patroni_xlog_location\{scope="otus"\} [1-9]\d*$/m, '/metrics: patroni_xlog_location');
like($content, qr/^patroni_postgres_timeline\{scope="otus"\} 1$/m, '/metrics: timeline');
like($content, qr/^pg_ha_fenced\{scope="otus"\} 0$/m, '/metrics: pg_ha_fenced 0');
like($content, qr/^pg_ha_lease_remaining_seconds\{scope="otus"\} [1-9][\d.]*$/m,
	'/metrics: the leader has a lease');
(undef, $content) = api($pg2, 'GET', '/metrics');
like($content, qr/^patroni_primary\{scope="otus"\} 0$/m, '/metrics: patroni_primary 0 on the replica');
like($content, qr/^patroni_replica\{scope="otus"\} 1$/m, '/metrics: patroni_replica 1 on the replica');

# ---------------------------------------------------------------------
# Bad requests: 404, 405, 400.

is(status_of($pg1, 'GET', '/nope'), 404, 'GET /nope: 404');
is(status_of($pg1, 'GET', '/patroni/x'), 404, 'GET /patroni/x: 404');
($status, undef, $headers) = api($pg1, 'POST', '/primary', content => '{}');
is($status, 405, 'POST /primary: 405');
like($headers->{allow} // '', qr/GET/, '405 names the allowed methods');
is(status_of($pg1, 'DELETE', '/cluster'), 405, 'DELETE /cluster: 405');
like(raw_request($pg1, "GET /primary%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
	qr{\AHTTP/1\.[01] 400 }, 'a bad percent-escape: 400');
like(raw_request($pg1, "GET /replica?lag=%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
	qr{\AHTTP/1\.[01] 400 }, 'a NUL in the query string: 400');
like(raw_request($pg1, "GET primary HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
	qr{\AHTTP/1\.[01] 4\d\d }, 'a target without a slash: 4xx');

# ---------------------------------------------------------------------
# Hostile clients: the worker answers them with a 4xx or closes, and lives.

answered_4xx_or_closed(
	raw_request($pg1, "GET /primary HTTP/1.1\r\nHost: x\r\nX-Big: " . ('a' x 200_000) . "\r\n\r\n"),
	'a 200 kB header');
answered_4xx_or_closed(
	raw_request($pg1, "GET /" . ('a' x 20_000) . " HTTP/1.1\r\nHost: x\r\n\r\n"),
	'a 20 kB request line');
answered_4xx_or_closed(
	raw_request($pg1, join('', map { chr(int(rand(256))) } 1 .. 8192) . "\r\n\r\n"),
	'8 kB of random bytes');
answered_4xx_or_closed(raw_request($pg1, "\x00\x01\x02\x03\r\n\r\n"), 'binary junk');
answered_4xx_or_closed(
	raw_request($pg1, "GET /primary HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n"),
	'a header line without a colon');
answered_4xx_or_closed(
	raw_request($pg1, "GET /primary HTTP/9.9\r\nHost: x\r\n\r\n"),
	'an unknown HTTP version');
answered_4xx_or_closed(
	raw_request($pg1, "POST /primary HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc"),
	'a body that never comes');

# idle connections do not starve the checks
{
	my @idle = map {
		IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $api_port{pg1},
			Proto => 'tcp', Timeout => 5)
	} 1 .. 20;
	is(scalar(grep { defined } @idle), 20, '20 idle connections open');
	my $t0 = time;
	is(status_of($pg1, 'GET', '/health'), 200, 'the API answers beside 20 idle connections');
	cmp_ok(time - $t0, '<', 2, '... at once');
	close $_ for grep { defined } @idle;
}

# many quick requests
my $ok = 0;
$ok += (status_of($pg1, 'GET', '/primary') == 200) for 1 .. 200;
is($ok, 200, '200 requests in a row all answered 200');

# a reload: the worker re-reads its settings and stays
$pg1->reload;
ok(PgHaTest::poll_until('API answers after a reload', 10, sub { status_of($pg1, 'GET', '/health') == 200 }),
	'the API answers after a reload (SIGHUP)');

# a setting that needs a restart shows as pending_restart, as in Patroni
$pg2->append_conf('postgresql.conf', 'shared_buffers = 17MB');
$pg2->reload;
ok( PgHaTest::poll_until('pending_restart on pg2', 10,
		sub { my (undef, $d) = get_json($pg2, '/patroni'); $d->{pending_restart} }),
	'/patroni shows pending_restart after a change of shared_buffers');
(undef, $content) = api($pg2, 'GET', '/metrics');
like($content, qr/^patroni_pending_restart\{scope="otus"\} 1$/m, '/metrics: patroni_pending_restart 1');

is(status_of($pg1, 'GET', '/health'), 200, 'the API still answers after the hostile clients');
ok(kill(0, $api_pid), 'the same HA worker process is alive');
my $log = slurp_file($pg1->logfile);
my @starts = $log =~ /REST API listening on/g;
is(scalar(@starts), 1, 'the REST API never restarted');
unlike($log, qr/terminated by signal/, 'no process of pg1 died by a signal');
unlike($log, qr/pg_ha HA worker.*exited with exit code/, 'the HA worker did not exit');

# ---------------------------------------------------------------------
# Write endpoints: authentication, bad bodies, PATCH /config, switchover.

my %auth = (Authorization => 'Basic ' . encode_base64('admin:s3cret', ''));
my %bad_auth = (Authorization => 'Basic ' . encode_base64('admin:wrong', ''));
sub post
{
	my ($node, $path, $body, $hdrs, $method) = @_;
	return api($node, $method // 'POST', $path,
		headers => { 'Content-Type' => 'application/json', %{ $hdrs // {} } },
		defined $body ? (content => $body) : ());
}

($status, $content, $headers) = post($pg1, '/switchover', '{"leader":"pg1","candidate":"pg2"}');
is($status, 401, 'POST /switchover without credentials: 401 when pg_ha.api_auth is set');
like($headers->{'www-authenticate'} // '', qr/^Basic realm=/, '401 asks for basic auth');
is($content, 'no auth header received', '401 says why, as Patroni');
($status, $content) = post($pg1, '/switchover', '{"leader":"pg1","candidate":"pg2"}', \%bad_auth);
is($status, 401, 'wrong credentials: 401');
is(status_of($pg1, 'GET', '/cluster'), 200, 'reads need no credentials');
($status, $content) = post($pg1, '/reload', undef, \%auth);
is($status, 202, 'POST /reload with credentials: 202');
is($content, 'reload scheduled', '... "reload scheduled", as Patroni');
($status, $content) = post($pg2, '/reload');
is($status, 202, 'POST /reload from loopback without pg_ha.api_auth: no credentials needed');
ok(PgHaTest::poll_until('pg1 logs the reload', 10,
		sub { slurp_file($pg1->logfile) =~ /received SIGHUP, reloading configuration files/ }),
	'the reload reached the postmaster');
unlike(slurp_file($pg1->logfile), qr/s3cret/, 'the credentials never reach the log');

# bad bodies, on one kept-alive connection ($http keeps it): each answer
# comes from MHD's next run after the HA worker resumed the request, with
# no other event needed (they once waited for the next quiet second, 2 s)
my $bad_bodies_started = time;
for my $case (
	[ '/switchover', '',                                    400, qr/JSON object/,                 'an empty body' ],
	[ '/switchover', 'nope',                                400, qr/JSON object/,                 'not JSON' ],
	[ '/switchover', '{}',                                  400, qr/JSON object/,                 'an empty object' ],
	[ '/switchover', '{"leader": 1}',                       400, qr/must be a string/,            'a number as leader' ],
	[ '/switchover', '{"candidate":"pg2"}',                 400, qr/only from a specific leader/, 'no leader' ],
	[ '/failover',   '{"leader":"pg1"}',                    400, qr/only to a specific candidate/, 'a failover without candidate' ],
	[ '/switchover', '{"leader":"pg2","candidate":"pg1"}',  412, qr/^leader name does not match$/, 'the wrong leader' ],
	[ '/switchover', '{"leader":"pg1","candidate":"pg9"}',  412, qr/^candidate does not exists$/,  'an unknown candidate' ],
	[ '/switchover', '{"leader":"pg1","scheduled_at":"2001-01-01T00:00:00Z"}', 422, qr/in the past/, 'a time in the past' ],
	[ '/switchover', '{"leader":"pg1","scheduled_at":"2099-01-01T00:00:00"}', 400, qr/Timezone information is mandatory/, 'a time without zone' ],
	[ '/restart',    '{"bogus":1}',                         400, qr/Unknown filter/,              'an unknown restart filter' ],
	[ '/restart',    '{"restart_pending":"yes"}',           400, qr/true or false/,               'restart_pending not a boolean' ],
	[ '/config',     '{"postgresql":{"parameters":{"work_mem":"lots"}}}', 400, qr/invalid value for parameter "work_mem"/, 'a bad work_mem' ],
	[ '/config',     '{"postgresql":{"parameters":{"no_such_thing":"1"}}}', 400, qr/unrecognized configuration parameter/, 'an unknown parameter' ],
	[ '/config',     '{"postgresql":{"parameters":{"primary_conninfo":"x"}}}', 400, qr/cannot be set cluster-wide/, 'a parameter pg_ha owns' ],
	[ '/config',     '{"postgresql":[]}',                   400, qr/must be an object/,           'postgresql not an object' ])
{
	my ($path, $body, $code, $re, $what) = @$case;
	($status, $content) = post($pg1, $path, $body, \%auth, $path eq '/config' ? 'PATCH' : 'POST');
	is($status, $code, "$path, $what: $code");
	like($content, $re, "$path, $what: says why");
}
my $bad_bodies_took = time - $bad_bodies_started;
cmp_ok($bad_bodies_took, '<', 10,
	sprintf('the 16 bad requests on one connection took %.1f s, not a second or more each', $bad_bodies_took));
is($consul->kv_get("$prefix/failover"), undef, 'no bad request wrote a failover key');

# A burst of write requests that each read the cluster from Consul, more
# than the 200 connections Consul allows one client: carried out during
# the HA worker's blocking read, never by abandoning it (an abandoned
# blocking query holds its connection on Consul's side until its wait is
# over, and the worker's own renewals were then refused).
{
	my $burst_offset = -s $pg1->logfile;
	my %codes;
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $api_port{pg1},
		Proto => 'tcp', Timeout => 10) or die "connect: $!";
	for (1 .. 300)
	{
		my ($code) = PgHaTest::http_exchange($sock, 'POST', '/switchover',
			'{"leader":"pg1","candidate":"pg9"}', %auth, 'Content-Type' => 'application/json');
		$codes{$code}++;
	}
	close $sock;
	is(join(' ', map { "$_: $codes{$_}" } sort keys %codes), '412: 300',
		'300 write requests in a row: each read the cluster and was refused with 412');
	unlike(slurp_file($pg1->logfile, $burst_offset), qr/cannot reach Consul|Empty reply/,
		'... and the HA worker never lost its connection to Consul meanwhile');
	is(status_of($pg1, 'GET', '/primary'), 200, '... and still leads');
}
my $config_before = $consul->kv_get("$prefix/config");
ok($config_before !~ /work_mem|no_such_thing|primary_conninfo/, 'no bad request changed the config key');

# PATCH /config: written to Consul, applied on every node
($status, $content) = post($pg1, '/config',
	'{"postgresql":{"parameters":{"work_mem":"7MB"}},"loop_wait":null}', \%auth, 'PATCH');
is($status, 200, 'PATCH /config work_mem: 200');
$doc = eval { $json->decode($content) } // {};
is($doc->{postgresql}{parameters}{work_mem}, '7MB', 'PATCH /config answers the new configuration');
ok(!exists $doc->{loop_wait}, '... null removed loop_wait');
is($doc->{ttl}, 10, '... the rest is kept');
is_deeply($consul->kv_get_json("$prefix/config"), $doc, 'the config key holds it');
ok(PgHaTest::poll_until('work_mem on pg2', 30,
		sub { $pg2->safe_psql('postgres', 'SHOW work_mem') eq '7MB' }),
	'the replica applies work_mem = 7MB');
ok(PgHaTest::poll_until('GET /config', 30,
		sub { my ($st, $d) = get_json($pg2, '/config'); $st == 200 && ($d->{postgresql}{parameters}{work_mem} // '') eq '7MB' }),
	'GET /config answers the config key');
($status, $content) = post($pg2, '/config', '{"postgresql":{"parameters":{"work_mem":null}},"loop_wait":1}', undef, 'PATCH');
is($status, 200, 'PATCH /config removing work_mem: 200');
$doc = eval { $json->decode($content) } // {};
ok(!exists $doc->{postgresql}{parameters}{work_mem}, 'null removes work_mem');
ok(PgHaTest::poll_until('work_mem back on pg2', 30,
		sub { $pg2->safe_psql('postgres', 'SHOW work_mem') eq '4MB' }),
	'the replica goes back to its own work_mem');

# switchover through the API
ok( PgHaTest::poll_until('pg2 caught up in Consul', 30,
		sub { my (undef, $d) = get_json($pg1, '/cluster');
			  my ($r) = grep { $_->{name} eq 'pg2' } @{ $d->{members} // [] };
			  $r && ($r->{lag} // '') =~ /^\d+$/ && $r->{lag} < 1048576 && $r->{state} eq 'running' }),
	'pg2 is a running replica within the lag limit');
($status, $content) = post($pg1, '/switchover', '{"leader":"pg1","candidate":"pg2","scheduled_at":null}', \%auth);
is($status, 200, 'POST /switchover on the leader: 200');
is($content, 'Successfully switched over to "pg2"', '... answering with the outcome, as Patroni does');
ok(PgHaTest::poll_until('pg2 leads', 60, sub { status_of($pg2, 'GET', '/primary') == 200 }),
	'pg2 becomes the leader');
ok(PgHaTest::poll_until('pg1 streams from pg2', 90, sub { streaming($pg2) eq 'pg1' }),
	'pg1 follows pg2');
# and back, from loopback without credentials on pg2
ok( PgHaTest::poll_until('pg1 caught up', 30,
		sub { my ($st, $c) = post($pg2, '/switchover', '{"leader":"pg2","candidate":"pg1"}'); $st == 200 }),
	'POST /switchover back to pg1: 200');
ok(PgHaTest::poll_until('pg1 leads again', 60, sub { status_of($pg1, 'GET', '/primary') == 200 }),
	'pg1 is the leader again');
ok(PgHaTest::poll_until('pg2 streams from pg1 again', 90, sub { streaming($pg1) eq 'pg2' }),
	'pg2 follows pg1 again');

# ---------------------------------------------------------------------
# Consul hangs (SIGSTOP): the HA worker, which serves the API, waits for
# each Consul request up to retry_timeout (2 s); health checks are still
# answered at once, and so is a write request's wait for Consul.

my $log_offset = -s $pg1->logfile;
# a write request that will need Consul, sent before the hang, read after
my $writer = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $api_port{pg1},
	Proto => 'tcp', Timeout => 5) or die "connect: $!";
my $patch = '{"postgresql":{"parameters":{"work_mem":"7MB"}}}';
kill 'STOP', $consul->pid or die "SIGSTOP consul: $!";
$writer->autoflush(1);
print {$writer} "PATCH /config HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
  . "Authorization: $auth{Authorization}\r\nContent-Type: application/json\r\n"
  . 'Content-Length: ' . length($patch) . "\r\n\r\n$patch";
my ($slowest, $checks, $healthy) = (0, 0, 0);
my $until = time + 5;
while (time < $until)
{
	my $t = time;
	$healthy++ if status_of($pg1, 'GET', '/health') == 200;
	$checks++;
	$slowest = time - $t if time - $t > $slowest;
	Time::HiRes::sleep(0.05);
}
my $hung_log = slurp_file($pg1->logfile, $log_offset);
kill 'CONT', $consul->pid;
note(sprintf('%d health checks while Consul hung, slowest %.3f s', $checks, $slowest));
is($healthy, $checks, "every health check while Consul hangs answers 200 ($checks)");
cmp_ok($slowest, '<', 1, '... none waits for Consul (slowest under 1 s, retry_timeout is 2 s)');
like($hung_log, qr/Consul.*(timed out|Timeout was reached)/i,
	'... while the HA worker really waited for Consul until its timeout');
my $answer = '';
{
	my $sel = IO::Select->new($writer);
	my $deadline = time + 15;
	while (time < $deadline && $sel->can_read($deadline - time))
	{
		my $n = sysread($writer, my $buf, 65536);
		last if !$n;
		$answer .= $buf;
	}
	close $writer;
}
like($answer, qr{\AHTTP/1\.1 (200|503) },
	'the write request sent during the hang gets its answer (the HA worker carried it out)');
ok( PgHaTest::poll_until('pg1 leads after the hang', 30,
		sub { status_of($pg1, 'GET', '/primary') == 200 }),
	'pg1 is still the leader after the hang');

# ---------------------------------------------------------------------
# Consul down: the API still answers at once, from memory; the leader
# loses its lease and /primary says so.

$consul->stop;
my $t0 = time;
is(status_of($pg1, 'GET', '/health'), 200, 'with Consul down, /health answers');
cmp_ok(time - $t0, '<', 1, '... without waiting for Consul');
ok( PgHaTest::poll_until('pg1 fenced without Consul', 30,
		sub { status_of($pg1, 'GET', '/primary') == 503 }),
	'the leader answers 503 on /primary once its lease is gone');
(undef, $content) = api($pg1, 'GET', '/metrics');
like($content, qr/^pg_ha_fenced\{scope="otus"\} 1$/m, '/metrics: pg_ha_fenced 1');
is(status_of($pg1, 'GET', '/health'), 200, 'a fenced primary is still healthy PostgreSQL');
($status, $doc) = get_json($pg1, '/patroni');
is($status, 200, '/patroni answers without Consul');
is($doc->{role}, 'master', '... the node is still a primary, fenced');
is(status_of($pg2, 'GET', '/replica'), 200, 'the replica keeps streaming and answers 200');

$pg2->stop;
$pg1->stop;
unlike(slurp_file($pg1->logfile), qr/terminated by signal/, 'pg1 stopped cleanly');
done_testing();
