# No secret leaks: a three-node cluster made by pg_ha_ctl init with a
# replication password (in the password file), REST API credentials
# (pg_ha.api_auth) and a Consul ACL token (pg_ha.consul_token) goes through
# the main operations (bootstrap and clones, switchover, config change,
# restart, reloads with new secrets, REST calls with good and bad
# credentials, a failover by kill -9 and the old leader's rewind), then
# every place an operator or another user can read is searched for each
# secret: the server logs, Consul's log and KV store, the pg_ha views and
# functions, pg_settings, pg_stat_wal_receiver, every REST endpoint,
# pg_ha_ctl's outputs, and the world-readable files of the data
# directories; the managed primary_conninfo names the password file.
use strict;
use warnings;

use Fcntl qw(S_IMODE);
use File::Find;
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Copy ();

use PgHaTest;

my $consul  = PgHaTest::Consul->start(acl => 1);
my $json    = JSON::PP->new->utf8->canonical;
my $cluster = 'otus';
my $prefix  = "service/$cluster";

$consul->http('PUT', '/v1/acl/policy', { Name => 'pg_ha', Rules => PgHaTest::consul_acl_rules() })
  ->{status} == 200 or die 'could not create the policy';
my $res = $consul->http('PUT', '/v1/acl/token', { Policies => [ { Name => 'pg_ha' } ] });
die "token: $res->{content}" unless $res->{status} == 200;
my $token = $json->decode($res->{content})->{SecretID};

sub random_word { return join('', map { ('a' .. 'z', 'A' .. 'Z', 0 .. 9)[ rand 62 ] } 1 .. 20) }
my $api_secret  = 'api' . random_word();
my $api_secret2 = 'api' . random_word();
my %secret = (
	'the Consul token'          => $token,
	'the Consul master token'   => $consul->master_token,
	'the API password'          => $api_secret,
	'the second API password'   => $api_secret2);

my $base     = PostgreSQL::Test::Utils::tempdir('secrets');
my $sockdir  = PostgreSQL::Test::Utils::tempdir_short();
my $passfile = "$base/replication.pgpass";

# the servers' logs also where the harness keeps its own: test.sh shows
# them when a test fails (the temporary directory is gone by then)
END
{
	for my $name (qw(pg1 pg2 pg3))
	{
		my $log = "$base/$name.log";
		File::Copy::copy($log, "$PostgreSQL::Test::Utils::log_path/160_secrets_$name.log")
		  if defined $base && -f $log;
	}
}
my @names    = qw(pg1 pg2 pg3);
my %port     = map { $_ => PostgreSQL::Test::Cluster::get_free_port() } @names;
my %api      = map { $_ => PostgreSQL::Test::Cluster::get_free_port() } @names;
my $http     = HTTP::Tiny->new(timeout => 10);

END
{
	local $?;
	foreach my $name (@names)
	{
		next unless -e "$base/$name/postmaster.pid";
		system('pg_ctl', '-D', "$base/$name", '-m', 'immediate', '-w', 'stop');
	}
}

# Everything an operator gets to read, by place, to search at the end.
my %seen;
sub keep { my ($place, $text) = @_; $seen{$place} .= ($text // '') . "\n"; return; }

# pg_ha_ctl with the token in its environment; the outputs are kept.
sub ctl
{
	my ($env, @args) = @_;
	my ($rc, $out, $err) = PgHaTest::ctl(
		{ env => { PG_HA_CONSUL_URL => $consul->http_url,
				PG_HA_CONSUL_TOKEN => $token, PG_HA_API_AUTH => "admin:$api_secret", %$env } },
		@args);
	keep("pg_ha_ctl $args[0]", "$out$err");
	return ($rc, $out, $err);
}

sub psql_at
{
	my ($name, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
			'-h', $sockdir, '-p', $port{$name}, '-d', 'postgres', '-c', $sql ],
		'<', \undef, '>', \$out, '2>', \$err)
	  or die "psql on $name failed: $err";
	chomp $out;
	return $out;
}

sub leader { return $consul->kv_get("$prefix/leader") // '' }

sub streaming
{
	my ($on) = @_;
	return eval {
		psql_at($on, "SELECT string_agg(application_name, ',' ORDER BY application_name) "
			  . "FROM pg_stat_replication WHERE state = 'streaming'");
	} // '';
}

sub init_node
{
	my ($name) = @_;
	return ctl({}, 'init', '-D', "$base/$name", '--cluster', $cluster, '--node-name', $name,
		'--connect-address', "127.0.0.1:$port{$name}",
		'--api-listen', "127.0.0.1:$api{$name}", '--passfile', $passfile,
		'--set', 'pg_ha.ttl=10s', '--set', 'pg_ha.loop_wait=1s',
		'--set', 'pg_ha.retry_timeout=2s', '--set', "unix_socket_directories=$sockdir",
		'--set', "pg_ha.consul_token=$token", '--set', "pg_ha.api_auth=admin:$api_secret");
}

sub api
{
	my ($name, $method, $path, %opts) = @_;
	my $r = $http->request($method, "http://127.0.0.1:$api{$name}$path", \%opts);
	keep("REST $method $path", $r->{content});
	return $r;
}

# ---------------------------------------------------------------------
# 1. Bootstrap and clones.

my ($rc, $out, $err) = init_node('pg1');
is($rc, 0, 'pg_ha_ctl init bootstraps pg1');
my ($password) = slurp_file($passfile) =~ /^\*:\*:\*:replicator:(\S+)$/m;
ok(defined $password && length $password >= 24, 'the password file holds the replication password');
$secret{'the replication password'} = $password;
ok(PgHaTest::poll_until('pg1 leads', 60, sub { leader() eq 'pg1' }), 'pg1 is the leader');
psql_at('pg1', 'CREATE EXTENSION pg_ha');
for my $name (qw(pg2 pg3))
{
	($rc) = init_node($name);
	is($rc, 0, "pg_ha_ctl init clones $name");
}
ok(PgHaTest::poll_until('pg2 and pg3 stream', 60, sub { streaming('pg1') eq 'pg2,pg3' }),
	'pg2 and pg3 stream from pg1 as replicator, with the password from the file');

# ---------------------------------------------------------------------
# 2. Operations.

ok(PgHaTest::poll_until('pg2 publishes its WAL position', 30,
		sub { defined(($consul->kv_get_json("$prefix/members/pg2") // {})->{xlog_location}) }),
	'pg2 publishes its WAL position');
($rc) = ctl({}, 'switchover', $cluster, '--candidate', 'pg2', '--force');
is($rc, 0, 'switchover to pg2');
ok(PgHaTest::poll_until('pg2 leads', 60, sub { leader() eq 'pg2' }), 'pg2 is the leader');
ok(PgHaTest::poll_until('pg1 and pg3 stream from pg2', 90, sub { streaming('pg2') eq 'pg1,pg3' }),
	'pg1 (rewound) and pg3 stream from pg2');

($rc) = ctl({}, 'edit-config', $cluster, '-p', 'work_mem=8MB', '--force');
is($rc, 0, 'edit-config sets work_mem cluster-wide');
ok(PgHaTest::poll_until('work_mem on pg3', 30, sub { psql_at('pg3', 'SHOW work_mem') eq '8MB' }),
	'pg3 took it');

my $start3 = psql_at('pg3', 'SELECT pg_postmaster_start_time()');
($rc) = ctl({}, 'restart', $cluster, 'pg3', '--force');
is($rc, 0, 'restart of pg3');
ok(PgHaTest::poll_until('pg3 restarted', 90,
		sub { (eval { psql_at('pg3', 'SELECT pg_postmaster_start_time()') } // $start3) ne $start3 }),
	'pg3 runs with a new postmaster');

($rc) = ctl({}, 'reload', $cluster, '--force');
is($rc, 0, 'reload of every member through the REST API with PG_HA_API_AUTH');
($rc, $out) = ctl({ PG_HA_API_AUTH => 'admin:wrong' }, 'reload', $cluster, '--force');
is($rc, 1, 'reload with a wrong password fails');
like($out, qr/status code=401/, '... with 401');

# REST calls, with good, bad and missing credentials
my $basic = sub { return { Authorization => 'Basic ' . encode_base64($_[0], '') } };
is(api('pg2', 'POST', '/reload', headers => $basic->("admin:$api_secret"))->{status}, 202,
	'POST /reload with the credentials: 202');
is(api('pg2', 'POST', '/reload', headers => $basic->('admin:guess'))->{status}, 401,
	'POST /reload with a wrong password: 401');
is(api('pg2', 'POST', '/reload', headers => $basic->("admin:${api_secret}x"))->{status}, 401,
	'POST /reload with the password and one more character: 401');
is(api('pg2', 'POST', '/restart', headers => { 'Content-Type' => 'application/json' },
		content => '{}')->{status}, 401, 'POST /restart without credentials: 401');
is(api('pg2', 'PATCH', '/config', headers => { %{ $basic->("admin:$api_secret") },
		'Content-Type' => 'application/json' },
		content => '{"postgresql":{"parameters":{"work_mem":"9MB"}}}')->{status}, 200,
	'PATCH /config with the credentials: 200');

# new secrets by reload: the log names the settings, never the values
my $off1 = -s "$base/pg1.log";
open(my $fh, '>>', "$base/pg1/postgresql.conf") or die;
print $fh "pg_ha.api_auth = 'admin:$api_secret2'\n";
close $fh;
psql_at('pg1', 'SELECT pg_reload_conf()');
ok(PgHaTest::poll_until('the reload is logged', 30,
		sub { slurp_file("$base/pg1.log", $off1) =~ /parameter "pg_ha.api_auth" changed \(value not shown\)/ }),
	'a changed pg_ha.api_auth is logged without its value');
ok(PgHaTest::poll_until('pg1 takes the new password', 30,
		sub { api('pg1', 'POST', '/reload', headers => $basic->("admin:$api_secret2"))->{status} == 202 }),
	'pg1 takes the new API password');
is(api('pg1', 'POST', '/reload', headers => $basic->("admin:$api_secret"))->{status}, 401,
	'... and refuses the old one');

# failover: kill -9 of the leader pg2, then its return (pg_rewind)
my ($pid2) = slurp_file("$base/pg2/postmaster.pid") =~ /\A(\d+)/;
kill 'KILL', $pid2;
my $new;
ok(PgHaTest::poll_until('a new leader', 90,
		sub { ($new) = grep { leader() eq $_ } qw(pg1 pg3); defined $new }),
	'after kill -9 of pg2 a replica takes over');
# its orphans need a moment to notice and exit: until then start fails
ok(PgHaTest::poll_until('pg2 starts again', 60,
		sub { system('pg_ctl', '-D', "$base/pg2", '-l', "$base/pg2.log", '-w', 'start') == 0 }),
	'pg2 starts again');
my $other = $new eq 'pg1' ? 'pg3' : 'pg1';
ok(PgHaTest::poll_until('pg2 back as a replica', 120,
		sub { streaming($new) eq join(',', sort('pg2', $other)) }),
	"pg2 returns as a replica of $new (rewound with the password from the file)");

# ---------------------------------------------------------------------
# 3. Collect everything readable.

for my $name (@names)
{
	keep("pg_ha_node on $name",   psql_at($name, 'SELECT t::text FROM pg_ha_node t'));
	keep("pg_ha_status on $name", psql_at($name, 'SELECT t::text FROM pg_ha_status t'));
	keep("pg_ha_history on $name", psql_at($name, 'SELECT t::text FROM pg_ha_history t'));
	keep("pg_ha_config() on $name", psql_at($name, 'SELECT pg_ha_config()::text'));
	keep("pg_settings on $name", psql_at($name, 'SELECT string_agg(name || \'=\' || setting, \' \') FROM pg_settings'));
	keep("SHOW ALL on $name", psql_at($name, 'SELECT string_agg(name || \'=\' || setting, \' \') FROM pg_show_all_settings()'));
	keep("SHOW secrets on $name", psql_at($name,
			"SELECT current_setting('pg_ha.consul_token') || ' ' || current_setting('pg_ha.api_auth')"));
	keep("pg_stat_wal_receiver on $name", psql_at($name, 'SELECT conninfo FROM pg_stat_wal_receiver'));
	keep("pg_stat_activity on $name", psql_at($name, 'SELECT string_agg(coalesce(query, \'\'), \' \') FROM pg_stat_activity'));
	for my $path (qw(/patroni /cluster /config /history /health /liveness /readiness
		/primary /leader /replica /read-only /sync /async /metrics /nonexistent))
	{
		api($name, 'GET', $path);
	}
	keep("server log of $name", slurp_file("$base/$name.log"));

	# the managed file: the password file, never the password
	my $managed = slurp_file("$base/$name/pg_ha.conf");
	keep("pg_ha.conf of $name", $managed);
}
my $conninfo_file = slurp_file("$base/pg2/pg_ha.conf");
like($conninfo_file, qr/^primary_conninfo = '.*passfile=''?\Q$passfile\E/m,
	'the primary_conninfo of pg2 names the password file');
unlike($conninfo_file, qr/password=/, '... and holds no password');
is(S_IMODE((stat $passfile)[2]), 0600, 'the password file is for its owner only');

# every world-readable file in and around the data directories
my $readable = 0;
find({ no_chdir => 1, wanted => sub {
			return unless -f $_ && (S_IMODE((stat $_)[2]) & 0004);
			$readable++;
			keep("world-readable $_", slurp_file($_));
		} }, $base);
note("$readable world-readable files searched");

for my $format (qw(table json))
{
	ctl({}, 'list', $cluster, '--format', $format);
	ctl({}, 'history', $cluster, '--format', $format);
}
ctl({}, 'topology', $cluster, '--format', 'json');
ctl({}, 'show-config', $cluster);

my $kv = $consul->http('GET', '/v1/kv/?recurse');
keep('Consul KV', join("\n", map { ($_->{Key}, decode_base64($_->{Value} // '')) }
		@{ $json->decode($kv->{content}) }));
like($seen{'Consul KV'}, qr{\Q$prefix\E/members/pg1}, 'the KV dump has the member records');
keep("Consul's log", slurp_file($consul->log_file));
keep('sessions', $consul->http('GET', '/v1/session/list')->{content});

# ---------------------------------------------------------------------
# 4. Search.

my @leaks;
for my $place (sort keys %seen)
{
	for my $what (sort keys %secret)
	{
		push @leaks, "$what in $place" if index($seen{$place}, $secret{$what}) >= 0;
	}
}
is_deeply(\@leaks, [],
	'no secret in any of ' . scalar(keys %seen) . ' places ('
	  . length(join('', values %seen)) . ' bytes searched)');
# the search finds what it looks for
ok(index(slurp_file($passfile), $password) >= 0, 'the search finds the password where it is');

done_testing();
