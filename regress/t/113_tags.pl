# Patroni's tags on pg_ha nodes (issue 13): pg_ha.tags, pg_ha.clonefrom,
# pg_ha.noloadbalance and pg_ha.nosync reach the member records (so
# /cluster and patronictl list -e show them) and are honoured:
# noloadbalance makes GET /replica answer 503, ?tag_<name>=<value> filters
# the health checks, a malformed pg_ha.tags is refused with its reason,
# a nosync replica is never the synchronous standby, pg_ha_ctl init clones
# a new node from the replica tagged clonefrom, and after a kill -9 of the
# leader the higher pg_ha.failover_priority of two equally caught-up
# replicas takes over while a priority of 0 never does.
use strict;
use warnings;

use Fcntl qw(S_IRUSR S_IWUSR);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
delete $ENV{$_} for qw(PG_HA_CLUSTER PG_HA_NAMESPACE PG_HA_CONSUL_TOKEN PG_HA_CONSUL_URL);
my $prefix = 'service/tags';
my %common = (cluster => 'tags', consul => $consul);

sub sql { my ($node, $q) = @_; return $node->safe_psql('postgres', $q) }

sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

# The member record of $name, decoded ({} when absent or unreadable).
sub record
{
	my ($name) = @_;
	my $v = $consul->kv_get("$prefix/members/$name");
	return {} unless defined $v;
	return eval { decode_json($v) } // {};
}

sub tags_of { return record($_[0])->{tags} // {} }

sub api { return PgHaTest::api_get(@_) }

# Settings of one node, appended to its postgresql.conf, then a reload.
sub set_conf
{
	my ($node, @lines) = @_;
	$node->append_conf('postgresql.conf', join("\n", @lines) . "\n");
	$node->reload;
}

# The sync key as "leader:standby" ('' when absent).
sub sync_key
{
	my $v = $consul->kv_get("$prefix/sync");
	return '' unless defined $v;
	my $doc = eval { decode_json($v) } or return "bad:$v";
	return ($doc->{leader} // '') . ':' . ($doc->{sync_standby} // '');
}

# ---------------------------------------------------------------------
# Three nodes: pg1 leads, pg2 and pg3 stream from it.

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \%common, writable => 1,
	stream_test => 'both replicas stream from pg1');
is_deeply(tags_of('pg2'), {}, 'no tags in the member record by default');

# ---------------------------------------------------------------------
# The tags reach the member records, /cluster and patronictl list -e.

set_conf($pg2, q{pg_ha.tags = '{"dc": "eu-1", "rack": 3}'}, 'pg_ha.clonefrom = on');
set_conf($pg3, 'pg_ha.noloadbalance = on', 'pg_ha.nosync = on');
ok( PgHaTest::poll_until('the records carry the tags', 30,
		sub {
			my ($t2, $t3) = (tags_of('pg2'), tags_of('pg3'));
			($t2->{dc} // '') eq 'eu-1' && ($t2->{rack} // 0) == 3
			  && ($t2->{clonefrom} // 0) && ($t3->{noloadbalance} // 0) && ($t3->{nosync} // 0);
		}),
	'pg2 and pg3 publish their tags');
is_deeply(tags_of('pg2'), { clonefrom => JSON::PP::true, dc => 'eu-1', rack => 3 },
	'the record of pg2: "tags": {"clonefrom": true, "dc": "eu-1", "rack": 3}');
is_deeply(tags_of('pg3'), { noloadbalance => JSON::PP::true, nosync => JSON::PP::true },
	'the record of pg3: "tags": {"noloadbalance": true, "nosync": true}');

my ($status, $body);
ok( PgHaTest::poll_until('/cluster on pg1 shows the tags', 30,
		sub {
			($status, $body) = api($pg1, '/cluster');
			return 0 unless $status == 200;
			my %m = map { ($_->{name} => $_) } @{ decode_json($body)->{members} };
			($m{pg2}{tags}{dc} // '') eq 'eu-1' && ($m{pg3}{tags}{nosync} // 0);
		}),
	'GET /cluster shows each member\'s tags');
($status, $body) = api($pg2, '/patroni');
is(decode_json($body)->{tags}{dc}, 'eu-1', 'GET /patroni on pg2 shows its tags');

SKIP:
{
	skip 'patronictl not installed (apt-get install patroni)', 2
	  unless defined PgHaTest::patronictl_binary();
	my (undef, $out) = PgHaTest::Patronictl->new(consul => $consul, scope => 'tags', timeout => 60)
	  ->run('list', 'tags', '-e', '-f', 'json');
	my $list = eval { decode_json($out) } // [];
	my %rows = map { ($_->{Member} => $_) } @$list;
	is_deeply($rows{pg2}{Tags}, { clonefrom => JSON::PP::true, dc => 'eu-1', rack => 3 },
		'patronictl list -e shows the tags of pg2');
	is_deeply($rows{pg3}{Tags}, { noloadbalance => JSON::PP::true, nosync => JSON::PP::true },
		'patronictl list -e shows the tags of pg3');
}

# ---------------------------------------------------------------------
# noloadbalance and the tag filters of the health checks.

ok(PgHaTest::poll_until('GET /replica on pg3 answers 503', 30, sub { api($pg3, '/replica') == 503 }),
	'noloadbalance: GET /replica on pg3 answers 503');
is(api($pg2, '/replica'), 200, 'GET /replica on pg2 answers 200');
is(api($pg3, '/read-only'), 503, 'GET /read-only on pg3 answers 503 too');
is(api($pg3, '/health'), 200, 'GET /health on pg3 still answers 200');
is(api($pg2, '/replica?tag_dc=eu-1'), 200, 'GET /replica?tag_dc=eu-1 on pg2: 200');
is(api($pg2, '/replica?tag_dc=us-1'), 503, 'GET /replica?tag_dc=us-1 on pg2: 503');
is(api($pg2, '/replica?tag_dc=eu-1&tag_rack=3'), 200, 'two filters that match: 200');
is(api($pg2, '/replica?tag_clonefrom=true'), 200, 'a built-in tag as a filter: 200');
is(api($pg2, '/replica?tag_nosync=true'), 503, 'a tag pg2 does not have: 503');
is(api($pg3, '/health?tag_dc=eu-1'), 503, 'GET /health?tag_dc=eu-1 on pg3 (no dc tag): 503');
is(api($pg1, '/primary?tag_dc=eu-1'), 200, 'the leader\'s checks ignore the filters');

# ---------------------------------------------------------------------
# A malformed pg_ha.tags is refused with its reason; nothing changes.

my ($rc, $out, $err) = $pg1->psql('postgres', q|ALTER SYSTEM SET pg_ha.tags = '{"dc": '|);
like($err, qr/invalid value for parameter "pg_ha.tags"/, 'ALTER SYSTEM refuses JSON that does not parse');
like($err, qr/DETAIL:  pg_ha.tags is not valid JSON/, '... saying why');
($rc, $out, $err) = $pg1->psql('postgres', q{ALTER SYSTEM SET pg_ha.tags = '["eu-1"]'});
like($err, qr/DETAIL:  pg_ha.tags must be a JSON object/, 'a JSON array is refused');
($rc, $out, $err) = $pg1->psql('postgres', q{ALTER SYSTEM SET pg_ha.tags = '{"nosync": true}'});
like($err, qr/DETAIL:  tag "nosync" has a setting of its own: use pg_ha.nosync instead/,
	'a tag with a setting of its own is refused');
($rc, $out, $err) = $pg1->psql('postgres', q{ALTER SYSTEM SET pg_ha.tags = '{"dc": [1]}'});
like($err, qr/DETAIL:  tag "dc" must be a string, a number or a boolean/, 'a list as a value is refused');
my $log_offset = -s $pg2->logfile;
set_conf($pg2, q{pg_ha.tags = '{"dc": eu-1}'});
ok($pg2->wait_for_log(qr/invalid value for parameter "pg_ha.tags"/, $log_offset),
	'a reload with a malformed pg_ha.tags in postgresql.conf logs the refusal');
is(sql($pg2, 'SHOW pg_ha.tags'), '{"dc": "eu-1", "rack": 3}', '... and the old value stays in force');
is(tags_of('pg2')->{dc}, 'eu-1', '... and in the member record');
set_conf($pg2, q{pg_ha.tags = '{"dc": "eu-1", "rack": 3}'});

# ---------------------------------------------------------------------
# nosync: with synchronous mode on, pg3 is never the synchronous standby.

my %seen;    # every name the sync key or synchronous_standby_names held

sub sync_state
{
	my $k = sync_key();
	my $ssn = sql($pg1, 'SHOW synchronous_standby_names');
	$seen{$_}++ for grep { $_ ne '' } (split(/[:,]/, $k =~ s/^[^:]*://r), $ssn =~ /([a-z0-9_]+)/g);
	return "$k $ssn";
}

sql($pg1, "SELECT pg_ha_set_config('synchronous_mode', 'on')");
ok(PgHaTest::poll_until('the sync key names pg2', 30, sub { sync_state() eq 'pg1:pg2 "pg2"' }),
	'synchronous mode: pg2 is the synchronous standby');
$pg2->stop('fast');
ok( PgHaTest::poll_until('the sync key names nobody', 30,
		sub { sync_state() eq 'pg1: ' && PgHaTest::streaming($pg1) eq 'pg3' }),
	'pg2 stopped: no synchronous standby, though pg3 streams');
my $t0 = sql($pg1, 'SELECT now()');
ok( PgHaTest::poll_until('five more seconds of rounds on pg1', 30,
		sub {
			sync_state();
			sql($pg1, "SELECT last_consul_contact > '$t0'::timestamptz + interval '5 s' FROM pg_ha_node") eq 't';
		}),
	'the leader goes on for rounds');
is(sync_state(), 'pg1: ', '... and still names no synchronous standby');
$pg2->start;
ok(PgHaTest::poll_until('the sync key names pg2 again', 60, sub { sync_state() eq 'pg1:pg2 "pg2"' }),
	'pg2 back: it is the synchronous standby again');
ok(!$seen{pg3}, 'the nosync replica pg3 was never in the sync key or synchronous_standby_names');
sql($pg1, "SELECT pg_ha_set_config('synchronous_mode', 'off')");
ok(PgHaTest::poll_until('synchronous mode off', 30,
		sub { sql($pg1, 'SHOW synchronous_standby_names') eq '' }),
	'synchronous mode off again');

# ---------------------------------------------------------------------
# clonefrom: pg_ha_ctl init clones pg4 from pg2, not from the leader.

my $base = PostgreSQL::Test::Utils::tempdir('tags');
my $sockdir = PostgreSQL::Test::Utils::tempdir_short();
my $passfile = "$base/pgpass";
my $osuser = getpwuid($<);
# the test clusters trust loopback: the password is never asked for
PostgreSQL::Test::Utils::append_to_file($passfile, "*:*:*:$osuser:unused\n");
chmod(S_IRUSR | S_IWUSR, $passfile);
my $port4 = PostgreSQL::Test::Cluster::get_free_port();
my $api4 = PostgreSQL::Test::Cluster::get_free_port();

END
{
	local $?;
	system('pg_ctl', '-D', "$base/pg4", '-m', 'immediate', '-w', 'stop')
	  if defined $base && -e "$base/pg4/postmaster.pid";
}

ok(PgHaTest::poll_until('pg2 streams again', 60, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' }),
	'pg2 streams again before the clone');
($rc, $out, $err) = PgHaTest::ctl({ timeout => 180 },
	'init', '-D', "$base/pg4", '--cluster', 'tags', '--node-name', 'pg4',
	'--consul-url', $consul->http_url,
	'--connect-address', "127.0.0.1:$port4", '--api-listen', "127.0.0.1:$api4",
	'--passfile', $passfile, '--replication-user', $osuser,
	'--set', 'pg_ha.ttl=10s', '--set', 'pg_ha.loop_wait=1s', '--set', 'pg_ha.retry_timeout=2s',
	'--set', "unix_socket_directories=$sockdir");
is($rc, 0, 'pg_ha_ctl init of pg4 succeeds');
like($out, qr/^Cloning node "pg4" from replica "pg2" \(tagged clonefrom\) of cluster "tags" at 127\.0\.0\.1:\d+$/m,
	'init clones pg4 from pg2, the replica tagged clonefrom');
unlike($out, qr/^Cloning node "pg4" from the leader/m, '... not from the leader');
like($out, qr/Node "pg4" joined cluster "tags" as a replica of "pg1"/, 'pg4 joins as a replica of pg1');
ok(PgHaTest::poll_until('pg4 streams from pg1', 60, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3,pg4' }),
	'pg4 streams from the leader');
is(sql($pg1, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pg4'"), '1',
	'its slot is on the leader');
my ($show) = ('');
IPC::Run::run([ 'psql', '-X', '-A', '-t', '-h', $sockdir, '-p', $port4, '-d', 'postgres',
		'-c', 'SHOW pg_ha.clonefrom' ], '<', \undef, '>', \$show, '2>', \$err);
chomp $show;
is($show, 'off', 'the clone does not inherit the clonefrom tag of its source');
PostgreSQL::Test::Utils::system_or_bail('pg_ctl', '-D', "$base/pg4", '-m', 'fast', '-w', 'stop');
ok(PgHaTest::poll_until('pg4 is no running member any more', 30,
		sub { (record('pg4')->{state} // 'stopped') eq 'stopped' }),
	'pg4 stopped again');

# ---------------------------------------------------------------------
# failover_priority: pg2 (2) and pg3 (1), equally caught up, no writes in
# flight; kill -9 of the leader: pg2 takes over.

set_conf($pg2, 'pg_ha.failover_priority = 2');
ok(PgHaTest::poll_until('pg2 publishes its priority', 30, sub { (tags_of('pg2')->{failover_priority} // 0) == 2 }),
	'the record of pg2 carries "failover_priority": 2');
sql($pg1, 'CREATE TABLE t (x int); INSERT INTO t VALUES (1)');
ok( PgHaTest::poll_until('pg2 and pg3 equally caught up, in WAL and in their records', 60,
		sub {
			my $lsn = sql($pg1, "SELECT pg_current_wal_lsn() - '0/0'");
			my $replay = sql($pg1,
				"SELECT string_agg(application_name || ':' || (replay_lsn - '0/0')::text, ',' ORDER BY application_name) "
				  . "FROM pg_stat_replication WHERE state = 'streaming'");
			$replay eq "pg2:$lsn,pg3:$lsn"
			  && (record('pg2')->{xlog_location} // -1) == $lsn
			  && (record('pg3')->{xlog_location} // -1) == $lsn;
		}),
	'both replicas have replayed everything, and their records say so');

$log_offset = -s $pg3->logfile;
$pg1->kill9;
ok(PgHaTest::poll_until('a new leader', 60, sub { leader_key() =~ /^pg[23]$/ }), 'a replica takes over');
is(leader_key(), 'pg2', 'the replica with the higher failover_priority took over');
my $pg3_log = slurp_file($pg3->logfile, $log_offset);
unlike($pg3_log, qr/acquire leader key|took the leader key first/, 'pg3, of lower priority, never tried');
note('pg3 said: ' . join(' | ', $pg3_log =~ /pg_ha: (nothing: no leader;[^\n]*)/g));
my $new = leader_key() eq 'pg2' ? $pg2 : $pg3;
my $other = leader_key() eq 'pg2' ? $pg3 : $pg2;
ok(PgHaTest::wait_writable($new), 'the new leader takes writes');
ok(PgHaTest::poll_until('the other replica follows it', 60, sub { PgHaTest::streaming($new) eq $other->name }),
	'the other replica streams from the new leader');

# ---------------------------------------------------------------------
# failover_priority 0: never a candidate, as nofailover.

set_conf($other, 'pg_ha.failover_priority = 0');
ok( PgHaTest::poll_until('its record says nofailover', 30,
		sub {
			my $t = tags_of($other->name);
			($t->{nofailover} // 0) && defined $t->{failover_priority} && $t->{failover_priority} == 0;
		}),
	'priority 0 is published as "nofailover": true, "failover_priority": 0');
$log_offset = -s $other->logfile;
$new->kill9;
ok($other->wait_for_log(qr/no leader; this node has failover_priority 0: it never takes over/, $log_offset),
	'the leader is gone: the replica of priority 0 says it never takes over');
$t0 = sql($other, 'SELECT now()');
ok( PgHaTest::poll_until('five more seconds of rounds', 30,
		sub { sql($other, "SELECT last_consul_contact > '$t0'::timestamptz + interval '5 s' FROM pg_ha_node") eq 't' }),
	'its HA worker goes on for rounds');
is(leader_key(), '', 'nobody took the leader key');
is(sql($other, 'SELECT pg_is_in_recovery()'), 't', 'the replica of priority 0 is still a replica');
like(sql($other, 'SELECT last_reason FROM pg_ha_node'), qr/failover_priority 0/,
	'pg_ha_node.last_reason says why');

done_testing();
