# pg_ha_ctl init bootstraps the first node and clones the second from the
# leader, refuses what it must refuse (a name in use, a directory that is
# not a data directory, a data directory of another database cluster, a
# cluster without a leader, an unreachable Consul), never lets the
# replication password out of its password file, clones and starts a node
# whatever PGPASSWORD, PGSERVICE or PGUSER the caller's environment holds,
# and pg_ha_ctl rejoin restarts a replica through pg_rewind keeping the
# node's own settings.
use strict;
use warnings;

use Fcntl qw(S_IMODE);
use File::Basename qw(basename);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul  = PgHaTest::Consul->start();
my $cluster = 'ctl';
my $prefix  = "service/$cluster";

my $base     = PostgreSQL::Test::Utils::tempdir('ctl');
my $sockdir  = PostgreSQL::Test::Utils::tempdir_short();
my $passfile = "$base/replication.pgpass";
my %port     = map { $_ => PostgreSQL::Test::Cluster::get_free_port() } qw(pg1 pg2 pg3);
my %api      = map { $_ => PostgreSQL::Test::Cluster::get_free_port() } qw(pg1 pg2 pg3);


# Run pg_ha_ctl; returns (exit code, stdout, stderr), all logged (PgHaTest::ctl).
sub ctl { return PgHaTest::ctl(@_) }

# The options of init for node $name (its own ports, the short timings).
sub init_args
{
	my ($name, %opts) = @_;
	return (
		'init', '-D', $opts{datadir} // "$base/$name",
		'--cluster', $cluster,
		'--node-name', $name,
		'--consul-url', $opts{consul_url} // $consul->http_url,
		'--connect-address', '127.0.0.1:' . ($port{$name} // PostgreSQL::Test::Cluster::get_free_port()),
		'--api-listen', '127.0.0.1:' . ($api{$name} // PostgreSQL::Test::Cluster::get_free_port()),
		'--passfile', $passfile,
		'--set', 'pg_ha.ttl=10s',
		'--set', 'pg_ha.loop_wait=1s',
		'--set', 'pg_ha.retry_timeout=2s',
		'--set', "unix_socket_directories=$sockdir");
}

# One query through the Unix socket as the bootstrap superuser; dies on error.
sub psql_at
{
	my ($name, $sql, $db) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			'psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
			'-h', $sockdir, '-p', $port{$name}, '-d', $db // 'postgres',
			'-c', $sql
		],
		'<', \undef, '>', \$out, '2>', \$err)
	  or die "psql on $name failed: $err";
	chomp $out;
	return $out;
}

sub streaming_replicas
{
	return psql_at('pg1',
		"SELECT string_agg(application_name, ',' ORDER BY application_name) "
		  . "FROM pg_stat_replication WHERE state = 'streaming'");
}

sub last_line
{
	my ($file) = @_;
	my @lines = grep { /\S/ } split /\n/, slurp_file($file);
	return $lines[-1];
}

# ---------------------------------------------------------------------
# 1. The first node bootstraps the cluster.

PgHaTest::stop_at_end("$base/pg1");
my ($rc, $out, $err) = ctl(init_args('pg1'));
is($rc, 0, 'init of pg1 succeeds');
like($out, qr/Node "pg1" bootstrapped cluster "ctl" and is its leader/,
	'init says it bootstrapped the cluster');
ok( PgHaTest::poll_until(
		'pg1 holds the leader key', 30,
		sub { ($consul->kv_get("$prefix/leader") // '') eq 'pg1' }),
	'pg1 becomes the leader');
psql_at('pg1', 'CREATE DATABASE pg2test');
is(psql_at('pg1', "SELECT count(*) FROM pg_database WHERE datname = 'pg2test'"),
	'1', 'the leader takes writes: CREATE DATABASE pg2test');
my $sysid = psql_at('pg1', 'SELECT system_identifier FROM pg_control_system()');
is($consul->kv_get("$prefix/initialize"), $sysid,
	'the initialize key holds the system identifier of pg1');

is(S_IMODE((stat $passfile)[2]), 0600, 'the password file has mode 0600');
my ($password) = slurp_file($passfile) =~ /^\*:\*:\*:replicator:(\S+)$/m;
ok(defined $password && length($password) >= 24,
	'the password file holds a random password of 24+ characters for replicator');
is(psql_at('pg1',
		"SELECT rolreplication AND rolcanlogin FROM pg_roles WHERE rolname = 'replicator'"),
	't', 'role replicator exists with REPLICATION LOGIN');
is(psql_at('pg1',
		"SELECT has_function_privilege('replicator', "
		  . "'pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)', 'EXECUTE')"),
	't', 'replicator may run what pg_rewind needs');
is(last_line("$base/pg1/postgresql.conf"), "include_if_exists = 'pg_ha.conf'",
	'postgresql.conf ends with the include of pg_ha.conf');

# ---------------------------------------------------------------------
# 2. The second node is cloned from the leader.

PgHaTest::stop_at_end("$base/pg2");
($rc, $out, $err) = ctl(init_args('pg2'));
is($rc, 0, 'init of pg2 succeeds');
like($out, qr/Node "pg2" joined cluster "ctl" as a replica of "pg1"/,
	'init says it cloned pg2 from pg1');
is(psql_at('pg2', 'SELECT pg_is_in_recovery()'), 't', 'pg2 is in recovery');
ok( PgHaTest::poll_until(
		'pg2 streams from pg1', 30, sub { streaming_replicas() eq 'pg2' }),
	'pg_stat_replication on pg1 shows pg2 streaming');
ok( PgHaTest::poll_until(
		'pg2test replayed on pg2', 30,
		sub { psql_at('pg2', "SELECT count(*) FROM pg_database WHERE datname = 'pg2test'") eq '1' }),
	'database pg2test exists on pg2');
is(psql_at('pg2', 'SHOW pg_ha.node_name'), 'pg2', 'pg2 runs under its own name');
is(psql_at('pg2', 'SHOW port'), $port{pg2}, 'pg2 runs on its own port');
like(slurp_file("$base/pg2/pg_ha.conf"), qr/^primary_slot_name = 'pg2'$/m,
	'pg_ha.conf of pg2 names its slot');
is(last_line("$base/pg2/postgresql.conf"), "include_if_exists = 'pg_ha.conf'",
	'the postgresql.conf of pg2 still ends with the include');
ok(!-e "$base/pg2/pg_ha.session"
	  || slurp_file("$base/pg2/pg_ha.session") =~ /\bpg2\s*$/,
	'the session file of pg1 was not kept');

($rc, $out, $err) = ctl('list', '--cluster', $cluster, '--consul-url', $consul->http_url);
like($out, qr/^\| pg1 +\| 127\.0\.0\.1:$port{pg1} +\| Leader /m, 'list shows pg1 as the leader');
like($out, qr/^\| pg2 +\| 127\.0\.0\.1:$port{pg2} +\| Replica /m, 'list shows pg2 as a replica');

# ---------------------------------------------------------------------
# 3. What init refuses.

mkdir "$base/twin" or die "mkdir: $!";
($rc, $out, $err) = ctl(init_args('pg2', datadir => "$base/twin"));
is($rc, 1, 'init with the name of a live member fails');
like($err, qr/node name "pg2" is already used in cluster "ctl"/,
	'... saying the name is in use');
my @left = glob("$base/twin/*");
is(scalar @left, 0, '... and leaves the directory empty');

mkdir "$base/junk" or die "mkdir: $!";
append_to_file("$base/junk/notes.txt", "not a database\n");
($rc, $out, $err) = ctl(init_args('pg3', datadir => "$base/junk"));
is($rc, 1, 'init into a non-empty directory that is no data directory fails');
like($err, qr/directory "\Q$base\E\/junk" exists but is not empty, and it is not a PostgreSQL data directory/,
	'... saying why');
@left = glob("$base/junk/*");
is_deeply(\@left, ["$base/junk/notes.txt"], '... and touches nothing there');

PostgreSQL::Test::Utils::system_or_bail('initdb', '-N', '-A', 'trust', '-D', "$base/other");
my ($controldata) = run_command([ 'pg_controldata', "$base/other" ]);
my ($other_sysid) = $controldata =~ /Database system identifier:\s+(\d+)/;
($rc, $out, $err) = ctl(init_args('pg3', datadir => "$base/other"));
is($rc, 1, 'init of the data directory of another database cluster fails');
like($err,
	qr/its system identifier is \Q$other_sysid\E, cluster "ctl" has system identifier \Q$sysid\E/,
	'... naming both system identifiers');
like($err, qr/hint: /, '... with a hint');
ok(!-e "$base/other/postmaster.pid", '... and does not start it');

$consul->kv_put('service/headless/initialize', '7000000000000000001');
($rc, $out, $err) = ctl(init_args('pg3', datadir => "$base/headless"),
	'--cluster', 'headless');
is($rc, 1, 'init into a cluster without a leader fails');
like($err, qr/cluster "headless" has no leader to clone from/, '... saying so');
ok(!-e "$base/headless", '... before creating anything');

($rc, $out, $err) = ctl(init_args('pg3', datadir => "$base/nopass"),
	'--passfile', "$base/missing.pgpass");
is($rc, 1, 'init of a clone without a password file fails');
like($err, qr/the password file "\Q$base\E\/missing\.pgpass" does not exist: it must hold the password of role "replicator"/,
	'... saying the file is missing');
like($err, qr/PGPASSWORD is not used/, '... and that PGPASSWORD is no way around it');
ok(!-e "$base/nopass", '... before creating anything');

my $nowhere = 'http://127.0.0.1:' . PostgreSQL::Test::Cluster::get_free_port();
($rc, $out, $err) = ctl(init_args('pg3', datadir => "$base/nowhere", consul_url => $nowhere));
is($rc, 1, 'init with an unreachable Consul fails');
like($err, qr/cannot reach Consul at \Q$nowhere\E/, '... naming the URL');

# ---------------------------------------------------------------------
# 4. rejoin: stop pg2, rewind it from pg1, start it with its own settings.

my $log2 = "$base/pg2.log";
# as a service manager might have started it: with options to keep
PostgreSQL::Test::Utils::system_or_bail('pg_ctl', '-D', "$base/pg2", '-l', $log2,
	'-m', 'fast', '-w', '-o', '-c work_mem=5MB --cluster-name=pg2', 'restart');
my $started = psql_at('pg2', 'SELECT pg_postmaster_start_time()');
my $source =
  "host=127.0.0.1 port=$port{pg1} user=replicator dbname=postgres passfile=$passfile";
print "# running: pg_ha_ctl rejoin -D $base/pg2 --source-conninfo '$source'\n";
# as the HA worker starts it: output to the server's log
IPC::Run::run([ 'pg_ha_ctl', 'rejoin', '-D', "$base/pg2", '--source-conninfo', $source ],
	'<', \undef, '>>', $log2, '2>>', $log2);
is($? >> 8, 0, 'rejoin of pg2 succeeds');
my $log = slurp_file($log2);
like($log, qr/^pg_ha_ctl rejoin: stopping the server/m, 'rejoin logs its steps to stderr');
like($log, qr/no rewind required/, 'pg_rewind ran and found nothing to rewind');
isnt(psql_at('pg2', 'SELECT pg_postmaster_start_time()'), $started, 'pg2 was restarted');
is(psql_at('pg2', 'SELECT pg_is_in_recovery()'), 't', 'pg2 is still in recovery');
is(psql_at('pg2', 'SHOW pg_ha.node_name'), 'pg2', 'pg2 still runs under its own name');
like(slurp_file("$base/pg2/postgresql.conf"), qr/^pg_ha\.node_name = 'pg2'$/m,
	'the postgresql.conf of pg2 still names pg2');
like(slurp_file("$base/pg2/postmaster.opts"), qr/"-D" "\Q$base\E\/pg2"/,
	'pg2 started with the same data directory');
is(psql_at('pg2', 'SHOW work_mem'), '5MB', 'pg2 started with the options it had');
psql_at('pg1', 'CREATE TABLE after_rejoin AS SELECT 1 AS x');
ok( PgHaTest::poll_until(
		'pg2 streams from pg1 again', 60,
		sub {
			streaming_replicas() eq 'pg2'
			  && psql_at('pg2', "SELECT count(*) FROM pg_class WHERE relname = 'after_rejoin'") eq '1';
		}),
	'pg2 streams from pg1 again and replays new writes');

# A second fault during the rejoin (issue 14): the source cannot be
# reached at first.  Here its password file appears only after the first
# attempt; the rejoin tries again and succeeds, not leaving pg2 stopped.
my $late_passfile = "$base/late.pgpass";
my $late_source =
  "host=127.0.0.1 port=$port{pg1} user=replicator dbname=postgres passfile=$late_passfile";
my $rejoin = IPC::Run::start(
	[ 'pg_ha_ctl', 'rejoin', '-D', "$base/pg2", '--source-conninfo', $late_source ],
	'<', \undef, '>>', $log2, '2>>', $log2, IPC::Run::timeout(180));
ok( PgHaTest::poll_until(
		'the first attempt of the rejoin fails', 60,
		sub { slurp_file($log2) =~ /pg_ha_ctl rejoin: attempt 1 failed: trying again/ }),
	'a rejoin that cannot reach its source says it tries again');
like(slurp_file($log2), qr/pg_rewind --dry-run .*: the data directory is untouched/,
	'... after a dry run that changed nothing');
PostgreSQL::Test::Utils::system_or_bail('cp', '-p', $passfile, $late_passfile);
$rejoin->finish;
is($? >> 8, 0, 'the rejoin succeeds once the source can be reached');
is(psql_at('pg2', 'SELECT pg_is_in_recovery()'), 't', 'pg2 runs, in recovery');
ok( PgHaTest::poll_until(
		'pg2 streams from pg1 after the retried rejoin', 60,
		sub { streaming_replicas() eq 'pg2' }),
	'pg2 streams from pg1 after the retried rejoin');

# A source that never answers: once --timeout is spent, the server starts
# as a standby with its data as it was, rather than staying stopped.
my $dead_port = PostgreSQL::Test::Cluster::get_free_port();
my $dead_source =
  "host=127.0.0.1 port=$dead_port user=replicator dbname=postgres passfile=$passfile";
my $before = psql_at('pg2', 'SELECT pg_postmaster_start_time()');
IPC::Run::run([ 'pg_ha_ctl', 'rejoin', '-D', "$base/pg2", '--timeout', '5',
		'--source-conninfo', $dead_source ],
	'<', \undef, '>>', $log2, '2>>', $log2, IPC::Run::timeout(180));
is($? >> 8, 0, 'a rejoin whose source never answers still starts the server');
like(slurp_file($log2), qr/no rewind within 5 s: the data directory is as it was, and the server starts as a standby without it/,
	'... saying it did not rewind');
isnt(psql_at('pg2', 'SELECT pg_postmaster_start_time()'), $before, 'pg2 was restarted');
is(psql_at('pg2', 'SELECT pg_is_in_recovery()'), 't', '... as a standby');
ok( PgHaTest::poll_until(
		'pg2 streams from pg1 again after the rejoin without rewind', 60,
		sub { streaming_replicas() eq 'pg2' }),
	'pg2, untouched, streams from pg1 again');

# rejoin --reinit: pg2 cloned again from pg1 (what a failed pg_rewind
# that had begun to write leads to, and what patronictl reinit asks for),
# keeping its own files.
PostgreSQL::Test::Utils::append_to_file("$base/pg2/not_from_the_leader", 'x');
psql_at('pg1', 'CREATE TABLE before_reinit AS SELECT 1 AS x');
$before = psql_at('pg2', 'SELECT pg_postmaster_start_time()');
IPC::Run::run([ 'pg_ha_ctl', 'rejoin', '-D', "$base/pg2", '--reinit',
		'--source-conninfo', $source ],
	'<', \undef, '>>', $log2, '2>>', $log2, IPC::Run::timeout(180));
is($? >> 8, 0, 'rejoin --reinit of pg2 succeeds');
$log = slurp_file($log2);
like($log, qr/pg_ha_ctl rejoin: cloning the source into "\Q$base\E\/pg2\.pg_ha_clone" with pg_basebackup/,
	'... cloning beside the data directory');
like($log, qr/pg_ha_ctl rejoin: removed the former data directory/, '... then removing the former one');
ok(!-e "$base/pg2/not_from_the_leader", 'the data directory of pg2 is a fresh clone');
ok(!glob("$base/pg2.pg_ha_*"), 'no clone or former directory left beside it');
isnt(psql_at('pg2', 'SELECT pg_postmaster_start_time()'), $before, 'pg2 was restarted');
is(psql_at('pg2', 'SELECT pg_is_in_recovery()'), 't', '... as a standby');
is(psql_at('pg2', 'SHOW pg_ha.node_name'), 'pg2', '... under its own name');
is(psql_at('pg2', 'SHOW work_mem'), '5MB', '... with the options it had');
ok( PgHaTest::poll_until(
		'pg2 streams from pg1 after its reinit', 60,
		sub {
			streaming_replicas() eq 'pg2'
			  && psql_at('pg2', "SELECT count(*) FROM pg_class WHERE relname = 'before_reinit'") eq '1';
		}),
	'pg2, cloned again, streams from pg1');

($rc, $out, $err) = ctl('rejoin', '-D', "$base/pg2", '--reinit');
is($rc, 1, 'rejoin --reinit without a source fails');
like($err, qr/--reinit needs --source-conninfo/, '... saying what it needs');

# ---------------------------------------------------------------------
# 5. init of a stopped node of the cluster just starts it.

PostgreSQL::Test::Utils::system_or_bail('pg_ctl', '-D', "$base/pg2", '-m', 'fast', '-w', 'stop');
ok( PgHaTest::poll_until(
		'the member record of pg2 is gone or says stopped', 30,
		sub { ($consul->kv_get("$prefix/members/pg2") // '"state":"stopped"') =~ /"state":\s*"stopped"/ }),
	'a stopped pg2 is no running member any more');
($rc, $out, $err) = ctl(init_args('pg2'));
is($rc, 0, 'init of the existing data directory of pg2 succeeds');
like($out, qr/belongs to cluster "ctl" \(system identifier $sysid\): starting it/,
	'... saying it starts the existing node');
is(psql_at('pg2', 'SELECT pg_is_in_recovery()'), 't', 'pg2 runs again, in recovery');
ok( PgHaTest::poll_until(
		'pg2 streams from pg1 after its restart', 60,
		sub { streaming_replicas() eq 'pg2' }),
	'pg2 streams from pg1 again');

# ---------------------------------------------------------------------
# 6. A DBA shell's libpq environment does not reach the clone: libpq
# prefers PGPASSWORD to the passfile= init names (issue 13), for
# pg_basebackup and for the walreceiver of the server init starts; a
# PGSERVICE missing here and a PGUSER of no role would break them too.

PgHaTest::stop_at_end("$base/pg3");
{
	local $ENV{PGPASSWORD} = 'not-the-replication-password';
	local $ENV{PGUSER}     = 'no_such_role';
	($rc, $out, $err) = ctl(init_args('pg3'));
}
is($rc, 0, 'init of pg3 succeeds with a wrong PGPASSWORD and PGUSER set');
like($out, qr/^Ignoring PGPASSWORD, PGUSER of the environment/m,
	'... saying it ignores them');
unlike($err, qr/password authentication failed/, '... without a refused password');
like($out, qr/Node "pg3" streams from the leader "pg1"/,
	'... and sees pg3 stream from pg1');
ok( PgHaTest::poll_until(
		'pg2 and pg3 stream from pg1', 30, sub { streaming_replicas() eq 'pg2,pg3' }),
	'pg_stat_replication on pg1 shows pg3 streaming');

# a password file that is not the cluster's: the hint says so
my $wrong_passfile = "$base/wrong.pgpass";
append_to_file($wrong_passfile, "*:*:*:replicator:not-the-replication-password\n");
chmod 0600, $wrong_passfile or die "chmod: $!";
($rc, $out, $err) = ctl(init_args('pg4', datadir => "$base/badpass"),
	'--passfile', $wrong_passfile);
is($rc, 1, 'init of a clone with a wrong password in its password file fails');
like($err,
	qr/hint: The leader at 127\.0\.0\.1:$port{pg1} refused the password of role "replicator" in "\Q$wrong_passfile\E"/,
	'... with a hint on the password, not on pg_hba.conf');

PostgreSQL::Test::Utils::system_or_bail('pg_ctl', '-D', "$base/pg3", '-m', 'fast', '-w', 'stop');
ok( PgHaTest::poll_until(
		'the member record of pg3 is gone or says stopped', 30,
		sub { ($consul->kv_get("$prefix/members/pg3") // '"state":"stopped"') =~ /"state":\s*"stopped"/ }),
	'a stopped pg3 is no running member any more');
{
	local $ENV{PGPASSWORD} = 'not-the-replication-password';
	local $ENV{PGSERVICE}  = 'no_such_service';
	($rc, $out, $err) = ctl(init_args('pg3'));
}
is($rc, 0, 'init starts pg3 again with a wrong PGPASSWORD and PGSERVICE set');
like($out, qr/^Ignoring PGPASSWORD, PGSERVICE of the environment/m,
	'... saying it ignores them');
ok( PgHaTest::poll_until(
		'pg3 streams from pg1 after its restart', 60,
		sub { streaming_replicas() eq 'pg2,pg3' }),
	'the server init started does not use them either: pg3 streams');

# ---------------------------------------------------------------------
# 7. The password never left the password file.

foreach my $file ("$base/pg1.log", "$base/pg2.log", "$base/pg3.log", $consul->log_file)
{
	unlike(slurp_file($file), qr/\Q$password\E/, "the password is not in " . basename($file));
}
my @keys = $consul->kv_keys('');
my @leaks = grep { (($consul->kv_get($_) // '') =~ /\Q$password\E/) } @keys;
is_deeply(\@leaks, [], 'the password is in no Consul key (' . scalar(@keys) . ' keys read)');

done_testing();
