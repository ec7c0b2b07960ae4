# The SQL functions that talk to Consul can be cancelled.  With the Consul
# agent hanging (SIGSTOP), each request would wait retry_timeout (20 s
# here, several of them per call); statement_timeout, pg_cancel_backend()
# and pg_terminate_backend() end the call within a few seconds instead,
# with PostgreSQL's usual errors.  The HA worker, which shares the code, is
# left as it was.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use PgHaTest;

my $consul = PgHaTest::Consul->start();
# a long lease: the node stays leader (its sessions open) while Consul hangs
my $pg1 = PgHaTest::new_node('pg1', cluster => 'cancel', consul => $consul,
	ttl => '60s', loop_wait => '1s', retry_timeout => '20s');
$pg1->start;
ok( PgHaTest::poll_until(
		'pg1 accepts connections', 60,
		sub { $pg1->psql('postgres', 'SELECT 1') == 0 }),
	'pg1 leads and accepts connections');
$pg1->safe_psql('postgres', 'CREATE EXTENSION pg_ha');
like($pg1->safe_psql('postgres', "SELECT pg_ha_set_config('work_mem', '8MB')"),
	qr/work_mem = '8MB' set/, 'pg_ha_set_config works while Consul answers');
my $worker = $pg1->safe_psql('postgres', 'SELECT worker_pid FROM pg_ha_node');

my $hung = 0;
END { kill 'CONT', $consul->pid if $hung && defined $consul->pid; }
kill 'STOP', $consul->pid or die "SIGSTOP of Consul: $!";
$hung = 1;

# ---------------------------------------------------------------------
# 1. statement_timeout

my $t0 = time;
my ($ret, $out, $err) = $pg1->psql('postgres',
	"SET statement_timeout = '1s'; SELECT pg_ha_set_config('work_mem', '16MB')");
my $took = time - $t0;
like($err, qr/ERROR:  canceling statement due to statement timeout/,
	'statement_timeout ends pg_ha_set_config while Consul hangs');
cmp_ok($took, '<', 5, sprintf('... after %.1f s, not after retry_timeout (20 s)', $took));

# ---------------------------------------------------------------------
# 2. pg_cancel_backend() and pg_terminate_backend() from another session

# Starts $sql in a psql of its own; returns (handle, \stdout, \stderr) once
# its backend is running it.
sub start_call
{
	my ($name, $sql) = @_;
	my ($stdout, $stderr) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-A', '-t', '-d',
			$pg1->connstr('postgres') . " application_name=$name", '-c', $sql ],
		'>', \$stdout, '2>', \$stderr,
		IPC::Run::timeout(60));
	ok( PgHaTest::poll_until(
			"$name is running", 10,
			sub {
				$pg1->safe_psql('postgres',
					"SELECT count(*) FROM pg_stat_activity WHERE application_name = '$name' AND state = 'active'"
				) == 1;
			}),
		"$name waits for Consul");
	# let it get into its request
	Time::HiRes::sleep(0.5);
	return ($h, \$stdout, \$stderr);
}

sub signal_call
{
	my ($name, $function) = @_;
	return $pg1->safe_psql('postgres',
		"SELECT $function(pid) FROM pg_stat_activity WHERE application_name = '$name'");
}

my ($h, $stdout, $stderr) = start_call('cancelled', 'SELECT pg_ha_switchover()');
$t0 = time;
is(signal_call('cancelled', 'pg_cancel_backend'), 't', 'pg_cancel_backend sent');
eval { $h->finish };
$took = time - $t0;
like($$stderr, qr/ERROR:  canceling statement due to user request/,
	'pg_cancel_backend ends pg_ha_switchover while Consul hangs');
cmp_ok($took, '<', 5, sprintf('... after %.1f s', $took));

($h, $stdout, $stderr) = start_call('terminated', 'SELECT pg_ha_pause()');
$t0 = time;
is(signal_call('terminated', 'pg_terminate_backend'), 't', 'pg_terminate_backend sent');
eval { $h->finish };
$took = time - $t0;
like($$stderr, qr/FATAL:  terminating connection due to administrator command/,
	'pg_terminate_backend ends pg_ha_pause while Consul hangs');
cmp_ok($took, '<', 5, sprintf('... after %.1f s', $took));

# ---------------------------------------------------------------------
# 3. Consul back: the same session works again, the HA worker never left

kill 'CONT', $consul->pid;
$hung = 0;
ok( PgHaTest::poll_until(
		'pg_ha_set_config works again', 60,
		sub {
			$pg1->psql('postgres', "SELECT pg_ha_set_config('work_mem', '16MB')") == 0;
		}),
	'pg_ha_set_config works again once Consul answers');
is($pg1->safe_psql('postgres', "SELECT pg_ha_config()->'postgresql'->'parameters'->>'work_mem'"),
	'16MB', 'and its change is in the config key');
is($pg1->safe_psql('postgres', 'SELECT role, worker_pid FROM pg_ha_node'),
	"leader|$worker", 'the HA worker is the same process, still leader');
unlike(slurp_file($pg1->logfile), qr/terminated by signal|server process .* exited with exit code/,
	'no process crashed');

$pg1->stop('fast');
done_testing();
