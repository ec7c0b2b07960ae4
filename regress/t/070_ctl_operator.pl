# The operator's commands of pg_ha_ctl, patronictl-style: list, topology
# and history in their table, JSON and YAML forms; switchover and failover
# requests written to the failover key as Patroni writes them, every bad
# request refused with a clear error and nothing written, the interactive
# prompts, flush, pause and resume; then, on a real three-node cluster, a
# switchover to pg2 and a failover to pg3 (the exercise's step 4).
#
# The first part runs against a cluster made of Consul keys only ("fake"),
# so that every case (a stopped member, a lagging one, one tagged
# nofailover, no leader) is exact; the second against real nodes.
use strict;
use warnings;

use CPAN::Meta::YAML;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use PgHaTest;

# scheduled times without an offset are local: make local time UTC
$ENV{TZ} = 'UTC';

my $consul = PgHaTest::Consul->start();
$ENV{PG_HA_CONSUL_URL} = $consul->http_url;
delete $ENV{$_} for qw(PG_HA_CLUSTER PG_HA_NAMESPACE PG_HA_CONSUL_TOKEN);

my $json = JSON::PP->new->utf8->canonical;

# Run pg_ha_ctl, optionally with standard input ({ stdin => "..." } first);
# returns (exit code, stdout, stderr), all logged (PgHaTest::ctl).
sub ctl { return PgHaTest::ctl(@_) }

# The failover key as it is: its ModifyIndex and value, or 'absent'.
sub failover_state
{
	my ($cluster) = @_;
	my $entry = $consul->kv_get_full("service/$cluster/failover");
	return 'absent' unless $entry;
	return "$entry->{ModifyIndex}:" . ($entry->{Value} // '');
}

# A command that must fail: exit code 1, the message, the key untouched.
sub refused
{
	my ($what, $cluster, $re, @args) = @_;
	my $before = failover_state($cluster);
	my ($rc, $out, $err) = ctl(@args);
	is($rc, 1, "refused with exit code 1: $what");
	like($err, $re, "clear error: $what");
	is(failover_state($cluster), $before, "failover key unchanged: $what");
	return $err;
}

# ---------------------------------------------------------------------
# Part 1: a cluster of Consul keys only.

my $fake = 'service/fake';
my $session = $consul->session_create(Name => 'fake', TTL => '3600s',
	LockDelay => '0s');
my $pos = 100_000_000;
my %record = (
	pg1 => { state => 'running', role => 'master', xlog_location => $pos, timeline => 1 },
	pg2 => { state => 'running', role => 'replica', xlog_location => $pos, timeline => 1,
		pending_restart => JSON::PP::true },
	pg3 => { state => 'stopped', role => 'replica' },
	pg4 => { state => 'running', role => 'replica', xlog_location => $pos, timeline => 1,
		tags => { nofailover => JSON::PP::true } },
	pg5 => { state => 'running', role => 'replica', xlog_location => $pos - 2 * 1048576,
		timeline => 1 },
);
my $n = 0;
foreach my $name (sort keys %record)
{
	$n++;
	my %r = (conn_url => "postgres://127.0.0.1:543$n/postgres",
		api_url => "http://127.0.0.1:800$n/patroni", version => '3.0.2',
		%{ $record{$name} });
	$consul->kv_put("$fake/members/$name", $json->encode(\%r), acquire => $session)
	  or die "could not write member $name";
}
my $fake_config = '{"ttl":30,"loop_wait":1,"retry_timeout":10,"maximum_lag_on_failover":1048576,'
  . '"postgresql":{"parameters":{"checkpoint_completion_target":0.9,"max_wal_senders":10}}}';
$consul->kv_put("$fake/initialize", '7000000000000000001') or die;
$consul->kv_put("$fake/config", $fake_config) or die;
$consul->kv_put("$fake/leader", 'pg1', acquire => $session) or die;

# --- list, in its three forms

my ($rc, $out, $err) = ctl('list', 'fake');
is($rc, 0, 'list succeeds');
is($out, <<'EOT', 'list draws patronictl\'s table, Pending restart included');
+ Cluster: fake (7000000000000000001) --------+----+-----------+-----------------+
| Member | Host           | Role    | State   | TL | Lag in MB | Pending restart |
+--------+----------------+---------+---------+----+-----------+-----------------+
| pg1    | 127.0.0.1:5431 | Leader  | running |  1 |           |                 |
| pg2    | 127.0.0.1:5432 | Replica | running |  1 |         0 | *               |
| pg3    | 127.0.0.1:5433 | Replica | stopped |    |   unknown |                 |
| pg4    | 127.0.0.1:5434 | Replica | running |  1 |         0 |                 |
| pg5    | 127.0.0.1:5435 | Replica | running |  1 |         2 |                 |
+--------+----------------+---------+---------+----+-----------+-----------------+
EOT
my ($rc2, $out2) = ctl('list', '--cluster', 'fake');
is($out2, $out, 'list --cluster fake is list fake');

($rc, $out, $err) = ctl('list', 'fake', '--format', 'json');
is($rc, 0, 'list --format json succeeds');
my $list = eval { decode_json($out) };
is(ref $list, 'ARRAY', 'list --format json is a JSON list') or diag($@);
is_deeply(
	$list->[0],
	{ Cluster => 'fake', Member => 'pg1', Host => '127.0.0.1:5431', Role => 'Leader',
	  State => 'running', TL => 1 },
	'the leader in JSON: no lag, TL a number');
is_deeply(
	$list->[1],
	{ Cluster => 'fake', Member => 'pg2', Host => '127.0.0.1:5432', Role => 'Replica',
	  State => 'running', TL => 1, 'Lag in MB' => 0, 'Pending restart' => '*' },
	'a replica in JSON: lag in MB, pending restart');
is($list->[2]{'Lag in MB'}, 'unknown', 'a stopped member has lag "unknown"');
ok(!exists $list->[2]{TL}, 'and no timeline');
is($list->[4]{'Lag in MB'}, 2, 'a lagging member: 2 MB');
like($out, qr/^\[\{"Cluster": "fake", "Member": "pg1", "Host"/,
	'JSON in column order, as patronictl writes it');

($rc, $out, $err) = ctl('list', 'fake', '--format', 'yaml');
is($rc, 0, 'list --format yaml succeeds');
my $yaml = CPAN::Meta::YAML->read_string($out);
ok($yaml, 'list --format yaml parses') or diag(CPAN::Meta::YAML->errstr);
is_deeply($yaml->[0], [ map { my %h = %$_; $_ = "$_" for values %h; \%h } @$list ],
	'the YAML form holds what the JSON form holds');
like($out, qr/^- Cluster: fake\n  Host: 127\.0\.0\.1:5431\n  Member: pg1\n/,
	'YAML with sorted keys, as safe_dump writes it');

($rc, $out, $err) = ctl('topology', 'fake');
is($rc, 0, 'topology succeeds');
my @members = map { /^\| (\S+(?: \S+)?)\s+\|/ ? $1 : () } grep { /^\| / } split /\n/, $out;
is_deeply(\@members, [ 'Member', 'pg1', '+ pg2', '+ pg3', '+ pg4', '+ pg5' ],
	'topology: the leader first, the replicas indented below it');

# --- history

($rc, $out, $err) = ctl('history', 'fake');
is($rc, 0, 'history succeeds without a history key');
is($out, <<'EOT', 'an empty history table');
+----+-----+--------+-----------+------------+
| TL | LSN | Reason | Timestamp | New Leader |
+----+-----+--------+-----------+------------+
+----+-----+--------+-----------+------------+
EOT
($rc, $out) = ctl('history', 'fake', '--format', 'json');
is($out, "[]\n", 'an empty history in JSON');

$consul->kv_put("$fake/history",
	'[[1,25165984,"no recovery target specified","2026-11-25T17:21:22.394218+00:00","pg2"],'
	  . '[2,25166200,"no recovery target specified"]]') or die;
($rc, $out, $err) = ctl('history', 'fake');
is($out, <<'EOT', 'history: TL | LSN | Reason | Timestamp | New Leader');
+----+----------+------------------------------+----------------------------------+------------+
| TL |      LSN | Reason                       | Timestamp                        | New Leader |
+----+----------+------------------------------+----------------------------------+------------+
|  1 | 25165984 | no recovery target specified | 2026-11-25T17:21:22.394218+00:00 | pg2        |
|  2 | 25166200 | no recovery target specified |                                  |            |
+----+----------+------------------------------+----------------------------------+------------+
EOT
($rc, $out) = ctl('history', 'fake', '--format', 'json');
is_deeply(decode_json($out),
	[
		{ TL => 1, LSN => 25165984, Reason => 'no recovery target specified',
		  Timestamp => '2026-11-25T17:21:22.394218+00:00', 'New Leader' => 'pg2' },
		{ TL => 2, LSN => 25166200, Reason => 'no recovery target specified',
		  Timestamp => '', 'New Leader' => '' }
	],
	'history in JSON');
($rc, $out) = ctl('history', 'fake', '--format', 'yaml');
$yaml = CPAN::Meta::YAML->read_string($out);
is($yaml && $yaml->[0][0]{Timestamp}, '2026-11-25T17:21:22.394218+00:00',
	'history in YAML: the timestamp stays a string');

# --- watch

IPC::Run::run([ 'timeout', '-s', 'INT', '2', 'pg_ha_ctl', 'list', 'fake', '-w', '0.5' ],
	'<', \undef, '>', \$out, '2>', \$err);
my $stamps = () = $out =~ /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/mg;
my $titles = () = $out =~ /^\+ Cluster: fake /mg;
cmp_ok($stamps, '>=', 3, "list -w 0.5 redraws ($stamps times in 2 s)");
is($titles, $stamps, 'a timestamp line before each table');

IPC::Run::run([ 'timeout', '-s', 'INT', '1', 'pg_ha_ctl', 'list', 'fake', '-W' ],
	'<', \undef, '>', \$out, '2>', \$err);
like($out, qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n\+ Cluster: fake /, 'list -W draws at once');

# outside data with quotes, backslashes and a line break: escaped in JSON
# and YAML, harmless in the table
my $odd_state = "odd \"state\"\\\nnext line";
$consul->kv_put('service/odd/members/m1',
	$json->encode({ conn_url => 'postgres://127.0.0.1:5432/postgres', state => $odd_state,
		role => 'replica' })) or die;
($rc, $out) = ctl('list', 'odd', '--format', 'json');
is(eval { decode_json($out)->[0]{State} }, $odd_state, 'JSON escapes outside data');
($rc, $out) = ctl('list', 'odd', '--format', 'yaml');
$yaml = CPAN::Meta::YAML->read_string($out);
is($yaml && $yaml->[0][0]{State}, $odd_state, 'so does YAML');
($rc, $out) = ctl('list', 'odd');
like($out, qr/^\| m1     \| 127\.0\.0\.1 \| Replica \| odd "state"\\\?next line \|/m,
	'the table shows a control character as "?"');
is(scalar(split /\n/, $out), 5, 'and keeps one line per member');

# --- bad requests: a clear error each, nothing written

refused('unknown candidate', 'fake', qr/member "pg9" does not exist in cluster "fake"/,
	'switchover', 'fake', '--candidate', 'pg9', '--force');
refused('the leader as candidate', 'fake', qr/"pg1" is already the leader of cluster "fake"/,
	'switchover', 'fake', '--candidate', 'pg1', '--force');
refused('a candidate not running', 'fake', qr/candidate "pg3" is not running \(state "stopped"\)/,
	'switchover', 'fake', '--candidate', 'pg3', '--force');
refused('a candidate tagged nofailover', 'fake', qr/candidate "pg4" is tagged nofailover/,
	'switchover', 'fake', '--candidate', 'pg4', '--force');
refused('a lagging candidate', 'fake',
	qr/candidate "pg5" lags 2097152 bytes behind the leader, more than maximum_lag_on_failover \(1048576\)/,
	'switchover', 'fake', '--candidate', 'pg5', '--force');
refused('a lagging failover candidate', 'fake', qr/candidate "pg5" lags/,
	'failover', 'fake', '--candidate', 'pg5', '--force');
refused('a time in the past', 'fake', qr/the scheduled time "2020-01-01T10:00" is in the past/,
	'switchover', 'fake', '--candidate', 'pg2', '--scheduled', '2020-01-01T10:00', '--force');
refused('an unparsable time', 'fake', qr/could not parse the scheduled time "tomorrow".*\n.*hint: .*ISO 8601/,
	'switchover', 'fake', '--candidate', 'pg2', '--scheduled', 'tomorrow', '--force');
refused('--leader not the leader', 'fake', qr/"pg2" is not the leader of cluster "fake"\n.*hint: The leader is "pg1"/,
	'switchover', 'fake', '--leader', 'pg2', '--candidate', 'pg3', '--force');
refused('an unknown cluster', 'nosuch', qr/cluster "nosuch" is not known to Consul/,
	'switchover', 'nosuch', '--force');
ok(!defined $consul->kv_get("$fake/failover"), 'no failover key after all these');

# --- a scheduled switchover, pending, flushed

($rc, $out, $err) = ctl('switchover', 'fake', '--candidate', 'pg2',
	'--scheduled', '2099-01-01T10:00', '--force');
is($rc, 0, 'a scheduled switchover is accepted');
like($out, qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{5} Switchover scheduled at 2099-01-01T10:00:00\+00:00$/m,
	'it says so, with a timestamp as patronictl prints it');
is($consul->kv_get("$fake/failover"),
	'{"leader":"pg1","member":"pg2","scheduled_at":"2099-01-01T10:00:00+00:00"}',
	'the failover key holds Patroni\'s request: leader, member, scheduled_at');
($rc, $out) = ctl('list', 'fake');
like($out, qr/^ Switchover scheduled at: 2099-01-01T10:00:00\+00:00\n {20}from: pg1\n {22}to: pg2\n\z/m,
	'list shows the scheduled switchover below the table');

my $pending = failover_state('fake');
$err = refused('a switchover already pending', 'fake', qr/a switchover is already pending in cluster "fake"/,
	'switchover', 'fake', '--candidate', 'pg2', '--force');
like($err, qr/hint: .*pg_ha_ctl flush fake switchover/, 'the hint tells how to cancel it');
refused('a failover while a switchover is pending', 'fake', qr/already pending/,
	'failover', 'fake', '--candidate', 'pg2', '--force');
is(failover_state('fake'), $pending, 'the pending request is untouched');

($rc, $out, $err) = ctl('flush', 'fake');
is($rc, 1, 'flush without a target fails');
like($err, qr/flush needs a target/, 'and says what is missing');
($rc, $out, $err) = ctl('flush', 'fake', 'switchover');
is($rc, 0, 'flush fake switchover succeeds');
like($out, qr/^Success: pending switchover deleted/, 'and says so');
ok(!defined $consul->kv_get("$fake/failover"), 'the failover key is gone');
($rc, $out, $err) = ctl('flush', 'switchover', '--cluster', 'fake');
is($rc, 0, 'flush with nothing pending succeeds');
like($out, qr/^No pending switchover$/m, 'and says there was nothing');

# Patroni leaves {} in the key when it is done: that is no request
$consul->kv_put("$fake/failover", '{}') or die;
($rc, $out, $err) = ctl('switchover', 'fake', '--scheduled', '2099-01-01T10:00', '--force');
is($rc, 0, 'a request replaces an empty {} in the failover key');
is($consul->kv_get("$fake/failover"),
	'{"leader":"pg1","scheduled_at":"2099-01-01T10:00:00+00:00"}',
	'without a candidate only the leader is named');
ctl('flush', 'fake', 'switchover');

# maximum_lag_on_failover comes from the config key
$consul->kv_put("$fake/config", $fake_config =~ s/1048576/4194304/r) or die;
($rc, $out, $err) = ctl('switchover', 'fake', '--candidate', 'pg5', '--scheduled',
	'2099-01-01T10:00+02:00', '--force');
is($rc, 0, 'a candidate within the configured maximum_lag_on_failover is accepted');
like($consul->kv_get("$fake/failover") // '', qr/"scheduled_at":"2099-01-01T08:00:00\+00:00"/,
	'a time with an offset is written in UTC');
ctl('flush', 'fake', 'switchover');
$consul->kv_put("$fake/config", $fake_config) or die;

# --- the prompts

($rc, $out, $err) = ctl({ stdin => "\npg2\n2099-01-01T10:00\ny\n" }, 'switchover', 'fake');
is($rc, 0, 'an interactive switchover');
like($out,
	qr/^Primary \[pg1\]: Candidate \['pg2', 'pg3', 'pg5'\] \[\]: When should the switchover take place \(e\.g\. \d{4}-\d\d-\d\dT\d\d:\d\d \)  \[now\]: Current cluster topology\n\+ Cluster: fake /,
	'prompts as patronictl\'s: primary, candidates (no leader, no nofailover), when');
like($out,
	qr/^Are you sure you want to schedule switchover of cluster fake at 2099-01-01T10:00:00\+00:00, demoting current leader pg1\? \[y\/N\]: /m,
	'then the confirmation');
is($consul->kv_get("$fake/failover"),
	'{"leader":"pg1","member":"pg2","scheduled_at":"2099-01-01T10:00:00+00:00"}',
	'the answers are written');
ctl('flush', 'fake', 'switchover');

($rc, $out, $err) = ctl({ stdin => "pg1\npg2\nnow\nn\n" }, 'switchover', 'fake');
is($rc, 1, 'answering no aborts');
like($out, qr/Are you sure you want to switchover cluster fake, demoting current leader pg1\? \[y\/N\]: /,
	'the question of an immediate switchover');
like($err, qr/aborting switchover/, 'aborting is said');
ok(!defined $consul->kv_get("$fake/failover"), 'nothing written when aborted');
($rc, $out, $err) = ctl({ stdin => '' }, 'switchover', 'fake');
is($rc, 1, 'no answer at all aborts too');
ok(!defined $consul->kv_get("$fake/failover"), 'nothing written without an answer');
($rc, $out, $err) = ctl({ stdin => "pg2\nn\n" }, 'failover', 'fake');
like($out, qr/^Candidate \['pg2', 'pg3', 'pg5'\] \[\]: Current cluster topology\n/,
	'failover asks for the candidate only');
like($out, qr/Are you sure you want to failover cluster fake, demoting current leader pg1\? \[y\/N\]: /,
	'and confirms the failover');
($rc, $out, $err) = ctl({ stdin => "pg3\n" }, 'failover', 'fake');
like($err, qr/candidate "pg3" is not running/, 'an answer is checked like an option');

# --- pause and resume

($rc, $out, $err) = ctl('pause', 'fake');
is($rc, 0, 'pause succeeds');
like($out, qr/^Success: cluster management is paused$/m, 'pause says so');
is($consul->kv_get("$fake/config"), substr($fake_config, 0, -1) . ',"pause":true}',
	'the config key gets "pause": true, the rest kept as it was (0.9 stays 0.9)');
($rc, $out) = ctl('list', 'fake');
like($out, qr/^ Maintenance mode: on$/m, 'list shows the maintenance mode');
refused('a scheduled switchover while paused', 'fake', qr/cannot schedule a switchover while cluster "fake" is paused/,
	'switchover', 'fake', '--candidate', 'pg2', '--scheduled', '2099-01-01T10:00', '--force');
($rc, $out, $err) = ctl('pause', 'fake');
is($rc, 1, 'pausing twice fails');
like($err, qr/cluster "fake" is already paused/, 'and says the cluster is already paused');
($rc, $out, $err) = ctl('resume', 'fake');
is($rc, 0, 'resume succeeds');
like($out, qr/^Success: cluster management is resumed$/m, 'resume says so');
is($consul->kv_get("$fake/config"), $fake_config, 'the config key is as it was');
($rc, $out, $err) = ctl('resume', 'fake');
is($rc, 1, 'resuming twice fails');
like($err, qr/cluster "fake" is not paused/, 'and says the cluster is not paused');

# --- no leader: switchover refused, failover names the member only

$consul->kv_delete("$fake/leader") or die;
refused('a switchover without a leader', 'fake',
	qr/cluster "fake" has no leader\n.*hint: .*pg_ha_ctl failover fake --candidate NAME/,
	'switchover', 'fake', '--candidate', 'pg2', '--force');
refused('a failover without a candidate', 'fake', qr/a failover needs a candidate/,
	'failover', 'fake', '--force');
($rc, $out, $err) = ctl('failover', 'fake', '--candidate', 'pg2', '--force', '--wait-timeout', '2');
is($rc, 1, 'a failover that no member carries out times out');
like($err, qr/no new leader in cluster "fake" after 2 s; the failover request stays in Consul/,
	'and says so');
is($consul->kv_get("$fake/failover"), '{"member":"pg2"}',
	'without a leader only the member is written, and the request stays');
ctl('flush', 'fake', 'switchover');

# the wait, with the fake candidate taking over while pg_ha_ctl waits
my ($h_out, $h_err) = ('', '');
my $h = IPC::Run::start(
	[ 'pg_ha_ctl', 'failover', 'fake', '--candidate', 'pg2', '--force' ],
	'<', \undef, '>', \$h_out, '2>', \$h_err);
ok( PgHaTest::poll_until('the request is written', 10,
		sub { ($consul->kv_get("$fake/failover") // '') eq '{"member":"pg2"}' }),
	'failover writes its request');
$consul->kv_put("$fake/leader", 'pg2', acquire => $session) or die;
$consul->kv_delete("$fake/failover") or die;
$h->finish;
is($? >> 8, 0, 'pg_ha_ctl failover succeeds once the candidate leads');
like($h_out, qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{5} Successfully failed over to "pg2"\n\+ Cluster: fake /m,
	'and says so, then shows the table');
like($h_out, qr/^\| pg2 +\| [^|]+\| Leader /m, 'with pg2 as the leader');

# a request withdrawn while the old leader stays: said at once, not after 60 s
$record{pg1} = { state => 'running', role => 'replica', xlog_location => $pos, timeline => 1 };
$consul->kv_put("$fake/members/pg1",
	$json->encode({ conn_url => 'postgres://127.0.0.1:5431/postgres',
		api_url => 'http://127.0.0.1:8001/patroni', %{ $record{pg1} } }),
	acquire => $session) or die;
my $started = time;
$h = IPC::Run::start([ 'pg_ha_ctl', 'switchover', 'fake', '--candidate', 'pg1', '--force' ],
	'<', \undef, '>', \$h_out, '2>', \$h_err);
ok( PgHaTest::poll_until('the request is written', 10,
		sub { ($consul->kv_get("$fake/failover") // '') eq '{"leader":"pg2","member":"pg1"}' }),
	'switchover writes leader and member');
$consul->kv_delete("$fake/failover") or die;
$h->finish;
is($? >> 8, 1, 'a withdrawn request fails');
like($h_err, qr/the switchover request was withdrawn and "pg2" is still the leader/,
	'and says the request was withdrawn');
cmp_ok(time - $started, '<', 30, 'well before the wait timeout');

# --- usage errors

($rc, $out, $err) = ctl('list', 'fake', '--format', 'xml');
is($rc, 1, 'an unknown format fails');
like($err, qr/unknown format "xml"/, 'and is named');
($rc, $out, $err) = ctl('list', 'fake', '--cluster', 'other');
is($rc, 1, 'two cluster names fail');
($rc, $out, $err) = ctl('list', 'fake', 'other');
like($err, qr/too many command-line arguments/, 'one cluster name only');

# ---------------------------------------------------------------------
# Part 2: three real nodes.

my %common = (cluster => 'otus', consul => $consul);
my $prefix = 'service/otus';

sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

sub list_json
{
	my ($r, $o) = ctl('list', 'otus', '--format', 'json');
	return $r == 0 ? decode_json($o) : [];
}

sub streaming { return PgHaTest::streaming(@_) }

my $pg1 = PgHaTest::new_node('pg1', %common);
$pg1->start;
ok(PgHaTest::poll_until('pg1 leads', 60, sub { leader_key() eq 'pg1' }), 'pg1 is the leader');
my $pg2 = PgHaTest::new_replica('pg2', $pg1, %common);
my $pg3 = PgHaTest::new_replica('pg3', $pg1, %common);
$_->start for ($pg2, $pg3);
ok(PgHaTest::poll_until('both replicas stream', 60, sub { streaming($pg1) eq 'pg2,pg3' }),
	'pg2 and pg3 stream from pg1');
# Wait until list --format json shows $leader leading and the two others
# running with no lag: their positions in Consul are refreshed every
# loop_wait, and a switchover refuses a candidate that lags in Consul.
sub caught_up
{
	my ($leader) = @_;
	my $want = join(',',
		map { $_ eq $leader ? "$_:Leader:running:" : "$_:Replica:running:0" } qw(pg1 pg2 pg3));
	return PgHaTest::poll_until("$leader leads, the others caught up in Consul", 90,
		sub {
			my $l = list_json();
			join(',', map { "$_->{Member}:$_->{Role}:$_->{State}:" . ($_->{'Lag in MB'} // '') } @$l)
			  eq $want;
		});
}

ok(caught_up('pg1'), 'list --format json: pg1 leads, pg2 and pg3 replicate with no lag');

($rc, $out, $err) = ctl('list', 'otus');
is($rc, 0, 'list otus succeeds');
my @lines = split /\n/, $out;
like($lines[0], qr/^\+ Cluster: otus \(\d+\) -*\+(?:-+\+)+$/, 'the title lies over the top rule');
like($lines[1], qr/^\| Member \| Host +\| Role +\| State +\| TL \| Lag in MB \|$/,
	'the columns of patronictl');
like($lines[3], qr/^\| pg1 +\| 127\.0\.0\.1:\d+ \| Leader  \| running \|  1 \| +\|$/, 'pg1 leads on timeline 1');
like($lines[4], qr/^\| pg2 +\| 127\.0\.0\.1:\d+ \| Replica \| running \|  1 \| +0 \|$/, 'pg2 replicates');
like($lines[5], qr/^\| pg3 +\| 127\.0\.0\.1:\d+ \| Replica \| running \|  1 \| +0 \|$/, 'pg3 replicates');
is(scalar(@lines), 7, 'three members between the rules, nothing below');
is(scalar(grep { length($_) != length($lines[0]) } @lines), 0, 'every line as wide as the frame');
unlike($out, qr/Pending restart|Maintenance/, 'no pending restart column, no maintenance mode');

($rc, $out, $err) = ctl('topology', 'otus');
like($out, qr/^\| pg1 .*\n\| \+ pg2 .*\n\| \+ pg3 /m, 'topology of the real cluster');

# --- pause and resume on the real cluster

my $config = $consul->kv_get_json("$prefix/config");
($rc, $out, $err) = ctl('pause', 'otus');
is($rc, 0, 'pause otus');
is_deeply($consul->kv_get_json("$prefix/config"), { %$config, pause => JSON::PP::true },
	'the config key: pause true, nothing else changed');
($rc, $out) = ctl('list', 'otus');
like($out, qr/^ Maintenance mode: on$/m, 'list says: Maintenance mode: on');
($rc, $out, $err) = ctl('resume', 'otus');
is($rc, 0, 'resume otus');
is_deeply($consul->kv_get_json("$prefix/config"), $config, 'the config key as before');
($rc, $out) = ctl('list', 'otus');
unlike($out, qr/Maintenance mode/, 'no maintenance mode any more');

($rc, $out, $err) = ctl('pause', 'otus', '--wait');
is($rc, 0, 'pause --wait: every member publishes "pause": true');
ok($consul->kv_get_json("$prefix/config")->{pause}, 'pause --wait wrote the config key anyway');
($rc, $out, $err) = ctl('resume', 'otus', '--wait');
is($rc, 0, 'resume --wait: no member shows "pause" any more');
like($out, qr/^'resume' request sent, waiting until it is recognized by all nodes\nSuccess: cluster management is resumed$/m,
	'resume --wait says what it waits for, then succeeds');

# --- switchover to pg2, then failover to pg3 (the exercise's step 4)

$pg1->safe_psql('postgres', 'CREATE DATABASE pg2test');
# CREATE DATABASE writes the template to WAL: megabytes the replicas
# must have replayed, and published, before they may take over
ok(caught_up('pg1'), 'the replicas have caught up after CREATE DATABASE');

my $request = '';
my $index = $consul->http('GET', "/v1/kv/$prefix/failover")->{headers}{'x-consul-index'} // 0;
($h_out, $h_err) = ('', '');
$h = IPC::Run::start([ 'pg_ha_ctl', 'switchover', 'otus', '--candidate', 'pg2', '--force' ],
	'<', \undef, '>', \$h_out, '2>', \$h_err);
# The request lives only until the candidate has taken over, tens of
# milliseconds: blocking queries from an index taken before the command
# see it appear (other KV writes wake them too: ask again).
PgHaTest::poll_until('the switchover request', 20,
	sub {
		my $res = $consul->http('GET', "/v1/kv/$prefix/failover?raw&wait=5s&index=$index");
		$index = $res->{headers}{'x-consul-index'} // $index;
		$request = $res->{content} if $res->{status} == 200;
		return $request ne '';
	});
is($request, '{"leader":"pg1","member":"pg2"}',
	'switchover writes the failover key with leader and member');
$h->finish;
my $switch_rc = $? >> 8;
note("pg_ha_ctl switchover exited with $switch_rc\nstdout:\n$h_out\nstderr:\n$h_err");

is($switch_rc, 0, 'pg_ha_ctl switchover succeeds');
like($h_out, qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{5} Successfully switched over to "pg2"$/m,
	'and says so');
ok(PgHaTest::poll_until('pg2 leads', 60, sub { leader_key() eq 'pg2' }),
	'pg2 holds the leader key');
ok( PgHaTest::poll_until('pg1 and pg3 follow pg2', 90,
		sub { streaming($pg2) eq 'pg1,pg3' }),
	'pg1 and pg3 stream from pg2');
ok(!defined $consul->kv_get("$prefix/failover"), 'the request is gone');
ok(caught_up('pg2'), 'pg1 and pg3 have caught up with pg2 in Consul');

($rc, $out, $err) = ctl({ stdin => "pg3\ny\n" }, 'failover', 'otus');
is($rc, 0, 'an interactive failover to pg3');
like($out, qr/Are you sure you want to failover cluster otus, demoting current leader pg2\? \[y\/N\]: /,
	'asks before demoting pg2');
like($out, qr/Successfully failed over to "pg3"/, 'and pg3 takes over');
ok(PgHaTest::poll_until('pg3 leads', 60, sub { leader_key() eq 'pg3' }),
	'pg3 holds the leader key');
ok( PgHaTest::poll_until('pg1 and pg2 follow pg3 on timeline 3', 90,
		sub {
			my $l = list_json();
			join(',', map { "$_->{Member}:$_->{Role}:" . ($_->{TL} // '') } @$l)
			  eq 'pg1:Replica:3,pg2:Replica:3,pg3:Leader:3';
		}),
	'list: pg3 leads on timeline 3, pg1 and pg2 follow it');
ok( PgHaTest::poll_until('pg2test on pg3', 30,
		sub { $pg3->safe_psql('postgres',
				"SELECT count(*) FROM pg_database WHERE datname = 'pg2test'") eq '1' }),
	'the database created on pg1 is on pg3');
ok(!defined $consul->kv_get("$prefix/failover"), 'no request is left');

($rc, $out, $err) = ctl('history', 'otus', '--format', 'json');
my $history = $rc == 0 ? decode_json($out) : [];
is(join(',', map { "$_->{TL}:$_->{'New Leader'}" } @$history), '1:pg2,2:pg3',
	'history: the switchover to pg2 on timeline 1, the failover to pg3 on timeline 2');

done_testing();
