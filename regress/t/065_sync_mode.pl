# Synchronous mode (Patroni's synchronous_mode and synchronous_mode_strict)
# on three nodes: the leader names one replica in synchronous_standby_names
# and in the sync key, and waits for it; when it stops, the other replica
# takes its place; a kill -9 of the leader promotes the synchronous standby
# and loses no acknowledged write; in strict mode a leader without standby
# blocks commits until one returns; turning the mode off makes replication
# asynchronous again.
use strict;
use warnings;

use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use PgHaTest;

my $consul = PgHaTest::Consul->start();
$ENV{PG_HA_CONSUL_URL} = $consul->http_url;
delete $ENV{$_} for qw(PG_HA_CLUSTER PG_HA_NAMESPACE PG_HA_CONSUL_TOKEN EDITOR VISUAL);
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul);
my $ttl_s = 10;
my $http = HTTP::Tiny->new(timeout => 5);

sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

# The sync key as "leader:standby" ("leader:" when it names none, '' absent).
sub sync_key
{
	my $v = $consul->kv_get("$prefix/sync");
	return '' unless defined $v;
	my $doc = eval { decode_json($v) } or return "bad:$v";
	return ($doc->{leader} // '') . ':' . ($doc->{sync_standby} // '');
}

sub sql { my ($node, $q) = @_; return $node->safe_psql('postgres', $q) }

sub sync_names { return sql($_[0], 'SHOW synchronous_standby_names') }

# pg_stat_replication on the leader: "name:sync_state,..."
sub sync_states
{
	my ($leader) = @_;
	my $out = '';
	$leader->psql('postgres',
		"SELECT string_agg(application_name || ':' || sync_state, ',' ORDER BY application_name) "
		  . "FROM pg_stat_replication WHERE state = 'streaming'",
		stdout => \$out);
	return $out;
}

# A write in the background through its own connection (application_name
# $tag), to watch it wait for synchronous replication.
sub start_write
{
	my ($node, $tag, $sql) = @_;
	my %w = (out => '', err => '', tag => $tag, node => $node);
	$w{h} = IPC::Run::start(
		[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d',
		  $node->connstr('postgres') . " application_name=$tag", '-c', $sql ],
		'>', \$w{out}, '2>', \$w{err});
	return \%w;
}

sub waits_for_sync
{
	my ($w) = @_;
	return PgHaTest::poll_until("write $w->{tag} waits for synchronous replication", 30,
		sub { sql($w->{node}, "SELECT wait_event FROM pg_stat_activity WHERE application_name = '$w->{tag}'")
			  eq 'SyncRep' });
}

# true when the background write has finished (and reaped)
sub write_done
{
	my ($w) = @_;
	$w->{h}->pump_nb if $w->{h}->pumpable;
	return 0 if $w->{h}->pumpable;
	# finish() is true when psql exited with 0
	$w->{ok} = $w->{h}->finish ? 1 : 0;
	return 1;
}

# ---------------------------------------------------------------------
# Three nodes, asynchronous at first.

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \%common, writable => 1,
	sql => 'CREATE EXTENSION pg_ha; CREATE TABLE acks (id int PRIMARY KEY)',
	stream_test => 'both replicas stream from pg1');
my %node = (pg1 => $pg1, pg2 => $pg2, pg3 => $pg3);
is(sync_key(), '', 'no sync key while synchronous mode is off');
is(sync_states($pg1), 'pg2:async,pg3:async', 'replication is asynchronous');
is(PgHaTest::api_get($pg2, '/sync'), 503, 'GET /sync on a replica: 503 while the mode is off');
is(PgHaTest::api_get($pg2, '/async'), 200, 'GET /async on a replica: 200');

# ---------------------------------------------------------------------
# synchronous_mode on (pg_ha_set_config): one replica becomes synchronous.

my ($rc, $out, $err) = $pg1->psql('postgres', "SELECT pg_ha_set_config('synchronous_mode', 'maybe')");
like($err, qr/invalid value for "synchronous_mode"/, 'a bad value is refused');
like(sql($pg1, "SELECT pg_ha_set_config('synchronous_mode', 'on')"),
	qr/synchronous_mode = 'on' set for cluster "otus"/, 'pg_ha_set_config turns synchronous_mode on');
is(decode_json($consul->kv_get("$prefix/config"))->{synchronous_mode}, JSON::PP::true,
	'the config key holds "synchronous_mode": true');

# PATCH /config, as patronictl edit-config sends it: checked first
my $listen1 = sql($pg1, 'SHOW pg_ha.api_listen');
my $res = $http->request('PATCH', "http://$listen1/config", { content => '{"synchronous_mode": "maybe"}' });
is($res->{status}, 400, 'PATCH /config with a synchronous_mode that is no boolean: 400');
is(decode_json($consul->kv_get("$prefix/config"))->{synchronous_mode}, JSON::PP::true, 'and nothing written');
$res = $http->request('PATCH', "http://$listen1/config", { content => '{"synchronous_node_count": 1}' });
is($res->{status}, 200, 'PATCH /config {"synchronous_node_count": 1}: 200');

ok(PgHaTest::poll_until('the sync key names a replica', 30, sub { sync_key() =~ /^pg1:pg[23]$/ }),
	'the leader names a synchronous standby in the sync key');
my ($sync_name) = sync_key() =~ /^pg1:(pg[23])$/;
my $async_name = $sync_name eq 'pg2' ? 'pg3' : 'pg2';
my ($sync, $async) = ($node{$sync_name}, $node{$async_name});
note("synchronous standby: $sync_name");
like($consul->kv_get("$prefix/sync"), qr/^\{"leader":"pg1","sync_standby":"$sync_name"\}$/,
	"the sync key in Patroni's format");
is(sync_names($pg1), "\"$sync_name\"", 'synchronous_standby_names on the leader names it');
like(slurp_file($pg1->data_dir . '/pg_ha.conf'),
	qr/^synchronous_standby_names = '"$sync_name"'$/m, 'in the managed file pg_ha.conf');
is(sync_states($pg1), join(',', sort("$sync_name:sync", "$async_name:async")),
	'pg_stat_replication: the named standby is sync, the other async');
ok(PgHaTest::poll_until('pg_ha_status shows the sync standby', 30,
		sub { sql($pg1, "SELECT string_agg(member || ':' || role, ',' ORDER BY member) FROM pg_ha_status")
			  eq join(',', map { "$_:" . ($_ eq 'pg1' ? 'Leader' : $_ eq $sync_name ? 'Sync Standby' : 'Replica') } qw(pg1 pg2 pg3)) }),
	'pg_ha_status shows the role "Sync Standby"');
($rc, $out, $err) = PgHaTest::ctl('list', 'otus');
like($out, qr/\|\s*$sync_name\s*\|[^\n]*\|\s*Sync Standby\s*\|/, 'pg_ha_ctl list shows "Sync Standby"');
ok(PgHaTest::poll_until('REST /sync on the sync standby', 30, sub { PgHaTest::api_get($sync, '/sync') == 200 }),
	'GET /sync: 200 on the synchronous standby');
is(PgHaTest::api_get($async, '/sync'), 503, 'GET /sync: 503 on the asynchronous one');
is(PgHaTest::api_get($async, '/async'), 200, 'GET /async: 200 on the asynchronous one');
is(PgHaTest::api_get($sync, '/async'), 503, 'GET /async: 503 on the synchronous standby');
is(PgHaTest::api_get($pg1, '/read-only-sync'), 200, 'GET /read-only-sync: 200 on the leader');
my ($st, $body) = PgHaTest::api_get($sync, '/patroni');
is(decode_json($body)->{sync_standby}, JSON::PP::true, '/patroni says "sync_standby": true');

# the leader waits for the synchronous standby: a commit is there at once
sql($pg1, 'SET synchronous_commit = remote_apply; INSERT INTO acks VALUES (1)');
is(sql($sync, 'SELECT count(*) FROM acks WHERE id = 1'), '1',
	'a write acknowledged with remote_apply is visible on the sync standby right after commit');
# ... and only for it: with its replay paused, the commit waits
sql($sync, 'SELECT pg_wal_replay_pause()');
my $w = start_write($pg1, 'paused_sync', 'SET synchronous_commit = remote_apply; INSERT INTO acks VALUES (2)');
ok(waits_for_sync($w), 'with the sync standby paused, a remote_apply commit waits for it');
sql($sync, 'SELECT pg_wal_replay_resume()');
ok(PgHaTest::poll_until('the write completes', 30, sub { write_done($w) }) && $w->{ok},
	'and completes once it replays again');
sql($async, 'SELECT pg_wal_replay_pause()');
sql($pg1, 'SET synchronous_commit = remote_apply; INSERT INTO acks VALUES (3)');
pass('with the async standby paused, a remote_apply commit does not wait');
sql($async, 'SELECT pg_wal_replay_resume()');

# a switchover goes only to the synchronous standby
($rc, $out, $err) = $pg1->psql('postgres', "SELECT pg_ha_switchover('$async_name')");
like($err, qr/member "$async_name" is not the synchronous standby/,
	'pg_ha_switchover to the asynchronous replica is refused');
($rc, $out, $err) = $pg1->psql('postgres', "SELECT pg_ha_failover('$async_name', force => true)");
like($err, qr/member "$async_name" is not the synchronous standby/,
	'pg_ha_failover to it is refused while the leader runs, even forced');
($rc, $out, $err) = PgHaTest::ctl('switchover', 'otus', '--candidate', $async_name, '--force');
like($err, qr/candidate "$async_name" is not the synchronous standby/,
	'pg_ha_ctl switchover to it is refused');
is($consul->kv_get("$prefix/failover"), undef, 'and no request was written');

# ---------------------------------------------------------------------
# The synchronous standby stops: the other replica takes its place.

$sync->stop('fast');
ok(PgHaTest::poll_until('the other replica becomes synchronous', 30, sub { sync_key() eq "pg1:$async_name" }),
	"the sync key names $async_name once $sync_name is gone");
is(sync_names($pg1), "\"$async_name\"", 'synchronous_standby_names names it');
is(sync_states($pg1), "$async_name:sync", 'pg_stat_replication: it is sync');
sql($pg1, 'INSERT INTO acks VALUES (4)');
pass('writes go on');
PgHaTest::start_node($sync);
ok(PgHaTest::poll_until('the old sync standby streams again', 60,
		sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' }), "$sync_name streams again");
is(sync_key(), "pg1:$async_name", 'the current synchronous standby is kept: no needless change');
# from now on: $async_name is the synchronous standby
($sync, $async, $sync_name, $async_name) = ($async, $sync, $async_name, $sync_name);

# ---------------------------------------------------------------------
# kill -9 of the leader while a checker writes: the synchronous standby
# takes over with every acknowledged write.

my $ackfile = "$PostgreSQL::Test::Utils::tmp_check/acks.txt";
my $stopfile = "$PostgreSQL::Test::Utils::tmp_check/acks.stop";
unlink $ackfile, $stopfile;
my $connstr = $pg1->connstr('postgres');
my $checker = fork();
die "fork: $!" unless defined $checker;
if ($checker == 0)
{
	# the child: never run the parent's END blocks
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>', '/dev/null');
	open(my $fh, '>>', $ackfile) or POSIX::_exit(1);
	$fh->autoflush(1);
	for (my $i = 1000; !-e $stopfile; $i++)
	{
		print $fh "$i\n"
		  if system('psql', '-X', '-q', '-d', $connstr, '-c', "INSERT INTO acks VALUES ($i)") == 0;
	}
	POSIX::_exit(0);
}
sub acked { open(my $fh, '<', $ackfile) or return (); chomp(my @l = <$fh>); return @l }
ok(PgHaTest::poll_until('the checker writes', 60, sub { scalar(acked()) >= 30 }),
	'the checker has writes acknowledged');
my $sync_before = sync_key();
is($sync_before, "pg1:$sync_name", 'the sync key before the kill');
my $pg1_pid = $pg1->{_pid};
$pg1->kill9;
ok(PgHaTest::poll_until('a new leader', 3 * $ttl_s, sub { leader_key() =~ /^pg[23]$/ }),
	'a replica takes over after kill -9 of the leader');
is(leader_key(), $sync_name, 'the promoted node is the synchronous standby');
ok(PgHaTest::wait_writable($sync), "$sync_name takes writes");
if (open(my $sf, '>', $stopfile)) { close($sf) }
waitpid($checker, 0);
my @acked = acked();
cmp_ok(scalar(@acked), '>=', 30, scalar(@acked) . ' writes acknowledged by the old leader');
my %present = map { $_ => 1 } split /\n/, sql($sync, 'SELECT id FROM acks');
my @lost = grep { !$present{$_} } @acked;
is(scalar(@lost), 0, 'every acknowledged write is on the new leader')
  or diag('lost: ' . join(',', @lost[0 .. ($#lost < 9 ? $#lost : 9)]));
is($async->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', "$async_name stays a replica");
ok(PgHaTest::poll_until('the new leader names its synchronous standby', 60,
		sub { sync_key() eq "$sync_name:$async_name" }),
	"the new leader's sync key names $async_name");
is(sync_names($sync), "\"$async_name\"", 'and its synchronous_standby_names');
ok(PgHaTest::poll_until('old postmaster reaped', 30, sub { !kill(0, $pg1_pid) }),
	'the killed postmaster is gone');
my ($leader, $replica) = ($sync, $async);

# ---------------------------------------------------------------------
# Strict mode (pg_ha_ctl edit-config --set): no standby, no commit.

($rc, $out, $err) = PgHaTest::ctl('edit-config', 'otus', '--set', 'synchronous_mode_strict=true', '--force');
is($rc, 0, 'pg_ha_ctl edit-config --set synchronous_mode_strict=true');
is(decode_json($consul->kv_get("$prefix/config"))->{synchronous_mode_strict}, JSON::PP::true,
	'the config key holds "synchronous_mode_strict": true');
$replica->stop('fast');
ok(PgHaTest::poll_until('strict: synchronous_standby_names = *', 30,
		sub { sync_names($leader) eq '*' && sync_key() eq $leader->name . ':' }),
	"strict mode without standby: synchronous_standby_names = '*', the sync key names none");
$w = start_write($leader, 'strict_write', 'INSERT INTO acks VALUES (5)');
ok(waits_for_sync($w), 'a write blocks: no standby acknowledges it');
ok(!write_done($w), 'it has not returned');
is(sql($leader, 'SELECT count(*) FROM acks WHERE id = 5'), '0', 'and it is not visible');
PgHaTest::start_node($replica);
ok(PgHaTest::poll_until('the blocked write completes once a replica is back', 60, sub { write_done($w) }),
	'the blocked write completes once a replica returns');
ok($w->{ok}, 'it was acknowledged') or diag($w->{err});
unlike($w->{err}, qr/canceling wait/, 'without being cancelled');
ok(PgHaTest::poll_until('the returning replica becomes synchronous', 60,
		sub { sync_key() eq $leader->name . ':' . $replica->name }),
	'the returning replica becomes the synchronous standby');

# ---------------------------------------------------------------------
# A switchover without candidate goes to the synchronous standby; the new
# leader (strict mode: '*' from its promotion on) names the old one.

my $old_leader_name = $leader->name;
like(sql($replica, 'SELECT pg_ha_switchover()'),
	qr/switchover from "$old_leader_name" to the healthiest replica requested/,
	'pg_ha_switchover() without candidate');
ok(PgHaTest::poll_until('the sync standby leads', 60, sub { leader_key() eq $replica->name }),
	'the synchronous standby takes over');
ok(PgHaTest::wait_writable($replica), $replica->name . ' takes writes');
like(slurp_file($replica->logfile),
	qr/the sync key names leader "@{[ $replica->name ]}" and no synchronous standby before the promotion/,
	'it named itself in the sync key before promoting');
ok(PgHaTest::poll_until('the old leader rejoins as synchronous standby', 90,
		sub { sync_key() eq $replica->name . ":$old_leader_name" }),
	'the old leader rejoins and becomes the synchronous standby');
is(sql($replica, 'SELECT count(*) FROM acks WHERE id = 5'), '1', 'the new leader has the strict-mode write');
($leader, $replica) = ($replica, $leader);

# ---------------------------------------------------------------------
# Off again: asynchronous replication, no sync key.

like(sql($leader, "SELECT pg_ha_set_config('synchronous_mode', 'off')"),
	qr/synchronous_mode = 'off' set/, 'pg_ha_set_config turns synchronous_mode off');
ok(PgHaTest::poll_until('asynchronous again', 30,
		sub { sync_key() eq '' && sync_names($leader) eq '' &&
			  sync_states($leader) eq $replica->name . ':async' }),
	'synchronous_standby_names is empty, the sync key gone, replication async');
unlike(slurp_file($leader->data_dir . '/pg_ha.conf'), qr/synchronous_standby_names/,
	'pg_ha.conf sets no synchronous_standby_names');
is(sql($leader, "SELECT string_agg(role, ',' ORDER BY member) FROM pg_ha_status WHERE state <> 'stopped'"),
	$leader->name eq 'pg2' ? 'Leader,Replica' : 'Replica,Leader', 'roles: Leader and Replica');
$replica->stop('fast');
sql($leader, 'INSERT INTO acks VALUES (6)');
pass('without standby, writes go on');

done_testing();
