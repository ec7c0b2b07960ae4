# Callbacks (issue 13): pg_ha.on_start, on_stop, on_restart, on_reload and
# on_role_change run the operator's command detached with Patroni 3.0.2's
# three arguments (action, role, cluster; the leader's role is "master"),
# each time as Patroni fires them:
#
# 1. on_start once the server is up, with its role;
# 2. on_reload after pg_reload_conf(), which never kills a running callback
#    of another kind; a callback that cannot run is a WARNING, nothing more;
# 3. a switchover: on_role_change on both nodes, the new leader's killing
#    its still running on_start (and that one's child), Patroni's "one
#    callback at a time"; no on_stop and no on_start for the old leader's
#    restart as a replica;
# 4. a restart pg_ha performs (pg_ha_restart()): on_restart, not on_stop
#    and on_start;
# 5. a clean stop of the leader: on_stop; the replica that takes over:
#    on_role_change;
# 6. a failover after the leader was killed: on_role_change, and no
#    on_stop for a server that did not stop cleanly;
# and never the Consul token in a callback's environment, though the
# postmaster has it (started with it here, and `pg_ha_ctl rejoin` passes
# it to the server it starts).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my $ttl_s  = 6;
my %common = (cluster => 'otus', consul => $consul, ttl => "${ttl_s}s",
	loop_wait => '500ms', retry_timeout => '1s');
# Consul without ACLs ignores it: only a value to look for
my $token = 'c0ffee00-1111-4222-8333-444455556666';
my $dir   = PostgreSQL::Test::Utils::tempdir();

# The callback: "$1 $2 $3" appended to <node>.log, its environment in a
# file of its own; an on_start that finds <node>.hang stays (with a child)
# until killed, and says its and the child's PID in <node>.hung.
sub callback_script
{
	my ($name) = @_;
	my $script = "$dir/cb_$name.sh";
	open(my $fh, '>', $script) or die "$script: $!";
	print $fh <<"EOF";
#!/bin/sh
echo "\$1 \$2 \$3" >> '$dir/$name.log'
env > '$dir/$name.env.'"\$1.\$\$"
if [ "\$1" = on_start ] && [ -f '$dir/$name.hang' ]; then
	sleep 300 &
	echo "\$\$ \$!" > '$dir/$name.hung'
	wait
fi
EOF
	close($fh);
	chmod(0755, $script) or die "chmod $script: $!";
	return [ map { "pg_ha.$_ = '$script'" } qw(on_start on_stop on_restart on_reload on_role_change) ];
}

sub sql { my ($node, $q) = @_; return $node->safe_psql('postgres', $q) }
sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

# the lines a node's callbacks wrote
sub calls
{
	my ($name) = @_;
	return () unless -f "$dir/$name.log";
	return split /\n/, slurp_file("$dir/$name.log");
}
sub count_calls { my ($name, $line) = @_; return scalar(grep { $_ eq $line } calls($name)) }

# wait for one more $line from $name's callbacks than $before
sub wait_call
{
	my ($name, $line, $before, $seconds) = @_;
	return PgHaTest::poll_until("$name: $line", $seconds // 60,
		sub { count_calls($name, $line) > ($before // 0) });
}

sub postmaster_pid
{
	my ($node) = @_;
	my @pid = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
	return $pid[0];
}

sub environ_of
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/environ") or return '';
	local $/;
	my $env = <$fh>;
	close($fh);
	return $env // '';
}

# running, not a zombie
sub alive
{
	my ($pid) = @_;
	return 0 unless $pid && open(my $fh, '<', "/proc/$pid/stat");
	my $stat = <$fh> // '';
	close($fh);
	return $stat =~ /\) [^Z]/;
}

# ---------------------------------------------------------------------
# 1. on_start

my $pg1 = PgHaTest::new_node('pg1', %common,
	extra_conf => [ @{ callback_script('pg1') }, "pg_ha.consul_token = '$token'" ]);
{
	# as a service manager or `pg_ha_ctl rejoin` may start it
	local $ENV{PG_HA_CONSUL_TOKEN} = $token;
	local $ENV{CONSUL_HTTP_TOKEN}  = $token;
	local $ENV{MY_SERVICE_SECRET}  = $token;
	$pg1->start;
}
like(environ_of(postmaster_pid($pg1)), qr/PG_HA_CONSUL_TOKEN=\Q$token\E/,
	"premise: pg1's postmaster has the token in its environment");
ok(PgHaTest::poll_until('pg1 leads', 60, sub { $pg1->psql('postgres', 'SELECT 1') == 0 }),
	'pg1 is the leader');
ok(wait_call('pg1', 'on_start master otus'), 'pg1: on_start master otus');
ok($pg1->wait_for_log(qr/pg_ha: started callback pg_ha\.on_start with arguments on_start master otus \(session \d+\)/),
	'pg1 logs which callback ran with which arguments');
sql($pg1, 'CREATE EXTENSION pg_ha');

open(my $hang, '>', "$dir/pg2.hang") or die "pg2.hang: $!";
close($hang);
my $pg2 = PgHaTest::new_replica('pg2', $pg1, %common,
	extra_conf => [ @{ callback_script('pg2') }, "pg_ha.consul_token = '$token'" ]);
PgHaTest::start_node($pg2);
ok(PgHaTest::poll_until('pg2 streams', 60, sub { PgHaTest::streaming($pg1) eq 'pg2' }),
	'pg2 streams from pg1');
ok(wait_call('pg2', 'on_start replica otus'), 'pg2: on_start replica otus');
my $hung = PgHaTest::poll_until('pg2.hung', 30, sub { -s "$dir/pg2.hung" ? slurp_file("$dir/pg2.hung") : 0 });
my ($hung_sh, $hung_sleep) = split ' ', $hung || '';
ok($hung_sh && alive($hung_sh) && alive($hung_sleep),
	"pg2's on_start still runs (sh $hung_sh, its sleep $hung_sleep)");
unlink("$dir/pg2.hang");
is(count_calls('pg1', 'on_start master otus'), 1, 'on_start once per start');

# ---------------------------------------------------------------------
# 2. on_reload; a callback that cannot run

my $n = count_calls('pg1', 'on_reload master otus');
sql($pg1, 'SELECT pg_reload_conf()');
ok(wait_call('pg1', 'on_reload master otus', $n), 'pg1: on_reload master otus after pg_reload_conf()');
$n = count_calls('pg2', 'on_reload replica otus');
sql($pg2, 'SELECT pg_reload_conf()');
ok(wait_call('pg2', 'on_reload replica otus', $n), 'pg2: on_reload replica otus');
ok(alive($hung_sh) && alive($hung_sleep), 'an on_reload does not kill the running on_start');

my $log_at = -s $pg1->logfile;
sql($pg1, "ALTER SYSTEM SET pg_ha.on_reload = '$dir/no_such_callback'");
sql($pg1, 'SELECT pg_reload_conf()');
ok($pg1->wait_for_log(qr/WARNING:  pg_ha: could not run callback pg_ha\.on_reload: "\Q$dir\E\/no_such_callback" cannot be executed: No such file or directory/, $log_at),
	'a callback that cannot run: a WARNING');
sql($pg1, 'ALTER SYSTEM RESET pg_ha.on_reload');
sql($pg1, 'SELECT pg_reload_conf()');
is(sql($pg1, 'SELECT NOT fenced AND NOT pg_is_in_recovery() FROM pg_ha_node'), 't',
	'and nothing else: pg1 still leads');

# ---------------------------------------------------------------------
# 3. switchover pg1 -> pg2

my $pm1 = postmaster_pid($pg1);
ok(PgHaTest::poll_until('pg2 caught up', 60,
		sub { sql($pg1, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg2' AND replay_lsn = pg_current_wal_lsn()") eq '1' }),
	'pg2 has caught up');
my ($r, $o, $e) = $pg1->psql('postgres', "SELECT pg_ha_switchover('pg2'), pg_sleep(0.3)");
like($o, qr/switchover from "pg1" to "pg2" requested/, 'switchover requested') or diag($e);
ok(PgHaTest::poll_until('pg2 leads', 60, sub { leader_key() eq 'pg2' }), 'pg2 holds the leader key');
ok(wait_call('pg1', 'on_role_change replica otus'), 'pg1: on_role_change replica otus');
ok(wait_call('pg2', 'on_role_change master otus'), 'pg2: on_role_change master otus');
ok(PgHaTest::poll_until("pg2's on_start killed", 30, sub { !alive($hung_sh) && !alive($hung_sleep) }),
	"pg2's on_start, still running, was killed with its child when on_role_change started");
ok($pg2->wait_for_log(qr/pg_ha: killed callback pg_ha\.on_start \(session \d+\): it was still running when pg_ha\.on_role_change started/),
	'and pg2 says so');
ok(PgHaTest::poll_until('pg1 streams from pg2', 120, sub { PgHaTest::streaming($pg2) eq 'pg1' }),
	'pg1 was restarted as a replica of pg2');
my $pm1_new = postmaster_pid($pg1);
isnt($pm1_new, $pm1, 'by a new postmaster');
ok(PgHaTest::poll_until("pg1's start seen", 30,
		sub { slurp_file($pg1->data_dir . '/pg_ha.callbacks') =~ /^pg1 \S+ $pm1_new / }),
	"pg1's HA worker has seen its new server up");
is(count_calls('pg1', 'on_start master otus') + count_calls('pg1', 'on_start replica otus'), 1,
	'no on_start for the demotion: on_role_change said it (as Patroni)');
is(scalar(grep { /^on_stop / } calls('pg1')), 0, 'and no on_stop for its restart');
$pg1->_update_pid(1);
like(environ_of($pm1_new), qr/PG_HA_CONSUL_TOKEN=\Q$token\E/,
	"premise: the server pg_ha_ctl rejoin started has the token in its environment");
$n = count_calls('pg1', 'on_reload replica otus');
sql($pg1, 'SELECT pg_reload_conf()');
ok(wait_call('pg1', 'on_reload replica otus', $n), 'pg1: on_reload replica otus, from the new server');

# ---------------------------------------------------------------------
# 4. a restart pg_ha performs

my $pm2 = postmaster_pid($pg2);
my @before = calls('pg2');
($r, $o, $e) = $pg2->psql('postgres', "SELECT pg_ha_restart('pg2'), pg_sleep(0.3)");
like($o, qr/restart of member "pg2" requested/, 'restart of pg2 requested') or diag($e);
ok(wait_call('pg2', 'on_restart master otus'), 'pg2: on_restart master otus');
isnt(postmaster_pid($pg2), $pm2, 'pg2 runs a new postmaster');
$pg2->_update_pid(1);
my @all   = calls('pg2');
my @after = @all[ scalar(@before) .. $#all ];
is(join(',', grep { !/^on_reload / && !/^on_restart / } @after), '',
	'and nothing else: no on_stop, no on_start');
is(leader_key(), 'pg2', 'pg2 still leads');

# ---------------------------------------------------------------------
# 5. clean stop of the leader

ok(PgHaTest::poll_until('pg1 streams from pg2 again', 60, sub { PgHaTest::streaming($pg2) eq 'pg1' }),
	'pg1 streams from pg2');
$pg2->stop;
ok(wait_call('pg2', 'on_stop master otus'), 'pg2: on_stop master otus at a clean stop');
ok(PgHaTest::poll_until('pg1 leads', 60, sub { leader_key() eq 'pg1' }), 'pg1 took over');
ok(wait_call('pg1', 'on_role_change master otus'), 'pg1: on_role_change master otus');

# pg2 back: demoted (pg_ha_ctl rejoin), said once as a replica
PgHaTest::start_node($pg2);
ok(PgHaTest::poll_until('pg2 streams from pg1', 120, sub { PgHaTest::streaming($pg1) eq 'pg2' }),
	'pg2 came back as a replica of pg1');
$pg2->_update_pid(1);
ok(PgHaTest::poll_until('pg2 said replica', 30,
		sub { (grep { !/^on_reload / } calls('pg2'))[-1] =~ /^on_(start|role_change) replica otus$/ }),
	'pg2: its last role announced is replica')
  or diag(join("\n", calls('pg2')));

# ---------------------------------------------------------------------
# 6. failover: the leader killed

$pg1->stop('immediate');
ok(PgHaTest::poll_until('pg2 leads', 4 * $ttl_s + 30, sub { leader_key() eq 'pg2' }),
	'pg2 took over from the killed leader');
ok(wait_call('pg2', 'on_role_change master otus', 1), 'pg2: on_role_change master otus after the failover');
is(scalar(grep { /^on_stop / } calls('pg1')), 0, 'no on_stop for a server that did not stop cleanly');

# ---------------------------------------------------------------------
# the token: never in a callback's environment

my @envs = glob("$dir/*.env.*");
cmp_ok(scalar(@envs), '>=', 10, scalar(@envs) . ' callback environments written');
my @leaks = grep { index(slurp_file($_), $token) >= 0 } @envs;
is(join(',', @leaks), '', 'none holds the Consul token, under any name');

$pg2->stop;
ok(wait_call('pg2', 'on_stop master otus', 1), 'pg2: on_stop master otus');

note("$_, callbacks:\n" . join("\n", calls($_))) for qw(pg1 pg2);

done_testing();
