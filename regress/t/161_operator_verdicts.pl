# The three-interface verdict: the same switchover and failover requests
# through SQL (pg_ha_switchover, pg_ha_failover), the REST API (POST
# /switchover, /failover) and pg_ha_ctl (switchover, failover) get the same
# verdict, refused or accepted, for the same reason: the three share one
# set of rules (src/common/operator_rules.c).  Each refusal writes nothing.
#
# Two real nodes (pg1 leads, pg2 replicates) and member records of
# Consul keys only, each exact for one rule: "down" (stopped), "notag"
# (nofailover), "behind" (lags), "nopos" (no position), "async" (caught
# up, never synchronous).  The requests go to pg2 (its SQL and its REST
# API), and pg_ha_ctl to Consul.  First with pg1 leading, then paused, then
# in synchronous mode, then without a leader; at the end, accepted
# requests: scheduled switchovers, forced failovers to "async" that nobody
# carries out, and a failover to pg2 that makes it the leader.
use strict;
use warnings;

use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
$ENV{PG_HA_CONSUL_URL} = $consul->http_url;
delete $ENV{$_} for qw(PG_HA_CLUSTER PG_HA_NAMESPACE PG_HA_CONSUL_TOKEN EDITOR VISUAL);
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul);
my $json = JSON::PP->new->utf8->canonical;
# an immediate request through the API waits twice max(10 s, loop_wait)
my $http = HTTP::Tiny->new(timeout => 90);
my $later = '2099-01-01T10:00:00+00:00';

sub sql { my ($node, $q) = @_; return $node->safe_psql('postgres', $q) }

# the failover key as it is: its ModifyIndex and value, or 'absent'
sub failover_state
{
	my $entry = $consul->kv_get_full("$prefix/failover");
	return 'absent' unless $entry;
	return "$entry->{ModifyIndex}:" . ($entry->{Value} // '');
}

# ---------------------------------------------------------------------
# The cluster.

my $pg1 = PgHaTest::new_node('pg1', %common);
$pg1->start;
ok( PgHaTest::poll_until('pg1 takes writes', 60,
		sub { $pg1->psql('postgres', 'SELECT 1') == 0 && sql($pg1, 'SELECT pg_is_in_recovery()') eq 'f' }),
	'pg1 is the leader');
sql($pg1, 'CREATE EXTENSION pg_ha');
my $pg2 = PgHaTest::new_replica('pg2', $pg1, %common);
$pg2->start;
ok(PgHaTest::poll_until('pg2 streams', 60, sub { PgHaTest::streaming($pg1) eq 'pg2' }),
	'pg2 streams from pg1');
ok( PgHaTest::poll_until('pg2 is listed as a running replica', 60,
		sub { sql($pg2, "SELECT count(*) FROM pg_ha_status WHERE member = 'pg2' AND state = 'running'") eq '1' }),
	'pg2 has published its record');
my $api = 'http://' . sql($pg2, 'SHOW pg_ha.api_listen');

# the member records of no server, held by a session of the test's own
my $session = $consul->session_create(Name => 'fake members', TTL => '3600s', LockDelay => '0s');
my $lsn = sql($pg1, "SELECT pg_current_wal_lsn() - '0/0'");
my %fake = (
	down   => { state => 'stopped', role => 'replica' },
	notag  => { state => 'running', role => 'replica', xlog_location => $lsn + 0, timeline => 1,
		tags => { nofailover => JSON::PP::true } },
	behind => { state => 'running', role => 'replica', xlog_location => 1, timeline => 1 },
	nopos  => { state => 'running', role => 'replica' },
	async  => { state => 'running', role => 'replica', xlog_location => $lsn + 0, timeline => 1 },
);
for my $name (sort keys %fake)
{
	my %r = (conn_url => 'postgres://127.0.0.1:1/postgres',
		api_url => 'http://127.0.0.1:1/patroni', version => '3.0.2', %{ $fake{$name} });
	$consul->kv_put("$prefix/members/$name", $json->encode(\%r), acquire => $session)
	  or die "could not write member $name";
}
ok( PgHaTest::poll_until('pg2 lists the fake members', 30,
		sub { sql($pg2, "SELECT string_agg(member, ',' ORDER BY member) FROM pg_ha_status")
			  eq 'async,behind,down,nopos,notag,pg1,pg2' }),
	'pg2 sees the real members and the fake ones');

# ---------------------------------------------------------------------
# The three interfaces: each returns { accepted, text } (text: the error,
# or the answer when accepted), and { status } for the REST API.

sub quote_or_null { my ($v) = @_; return defined $v ? "'$v'" : 'NULL' }

sub via_sql
{
	my ($c) = @_;
	my $q = $c->{action} eq 'switchover'
	  ? sprintf('SELECT pg_ha_switchover(%s, %s)', quote_or_null($c->{candidate}),
		$c->{scheduled} ? "'$later'" : 'NULL')
	  : sprintf('SELECT pg_ha_failover(%s, force => %s)', quote_or_null($c->{candidate}),
		$c->{force} ? 'true' : 'false');
	my ($rc, $out, $err) = $pg2->psql('postgres', $q);
	note("SQL: $q\n=> rc $rc, out: $out, err: $err");
	return { accepted => $rc == 0 && $out ne '', text => $rc == 0 ? $out : $err,
		warning => $err };
}

sub via_rest
{
	my ($c) = @_;
	my %body;
	# Patroni's protocol: a switchover names its leader (SQL and pg_ha_ctl take the current one)
	$body{leader} = $c->{leader} // ($c->{action} eq 'switchover' ? 'pg1' : undef);
	$body{candidate} = $c->{candidate};
	$body{scheduled_at} = $later if $c->{scheduled};
	$body{force} = JSON::PP::true if $c->{force};
	defined $body{$_} or delete $body{$_} for keys %body;
	my $res = $http->post("$api/$c->{action}",
		{ content => $json->encode(\%body), headers => { 'Content-Type' => 'application/json' } });
	note("REST: POST /$c->{action} " . $json->encode(\%body) . "\n=> $res->{status} $res->{content}");
	return { accepted => ($res->{status} =~ /^(?:200|202)$/ ? 1 : 0), status => $res->{status},
		text => $res->{content} };
}

sub via_ctl
{
	my ($c, @more) = @_;
	my @args = ($c->{action}, 'otus');
	push @args, '--candidate', $c->{candidate} if defined $c->{candidate};
	push @args, '--leader', $c->{leader} if defined $c->{leader};
	push @args, '--scheduled', $later if $c->{scheduled};
	# a switchover's --force only skips the prompts; a failover's also forces
	push @args, '--force' if $c->{action} eq 'switchover' || $c->{force};
	push @args, @more;
	my $in = "y\n";
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_ha_ctl', @args ], '<', \$in, '>', \$out, '2>', \$err);
	my $rc = $? >> 8;
	note("pg_ha_ctl @args\n=> exit $rc\nstdout: $out\nstderr: $err");
	return { accepted => $rc == 0, text => $rc == 0 ? $out : $err, warning => $err };
}

my %via = (sql => \&via_sql, rest => \&via_rest, ctl => \&via_ctl);

# What each interface says for each reason: SQL's error, the REST API's
# status and text (Patroni's where Patroni has one), pg_ha_ctl's error.
sub verdict
{
	my ($class, $c) = @_;
	my $n = quotemeta($c->{candidate} // '');
	my %v = (
		is_leader => {
			sql => qr/ERROR:  member "$n" is already the leader/,
			rest => [ 412, qr/^candidate "$n" is already the leader$/ ],
			ctl => qr/error: "$n" is already the leader of cluster "otus"/ },
		unknown => {
			sql => qr/ERROR:  cluster "otus" has no member "$n"/,
			rest => [ 412, qr/^candidate does not exists$/ ],
			ctl => qr/error: member "$n" does not exist in cluster "otus"/ },
		not_running => {
			sql => qr/ERROR:  member "$n" is not a running replica\nDETAIL:  Its state is "stopped"/,
			rest => [ 412, qr/^candidate "$n" is not a running replica$/ ],
			ctl => qr/error: candidate "$n" is not running \(state "stopped"\)/ },
		nofailover => {
			sql => qr/ERROR:  member "$n" is tagged nofailover/,
			rest => [ 412, qr/^candidate "$n" is tagged nofailover$/ ],
			ctl => qr/error: candidate "$n" is tagged nofailover/ },
		lags => {
			sql => qr/ERROR:  member "$n" lags \d+ bytes behind the leader/,
			rest => [ 412, qr/^candidate "$n" lags \d+ bytes behind the leader \(maximum_lag_on_failover is 1048576\)$/ ],
			ctl => qr/error: candidate "$n" lags \d+ bytes behind the leader/ },
		no_position => {
			sql => qr/ERROR:  member "$n" has not published its WAL position/,
			rest => [ 412, qr/^candidate "$n" has not published its WAL position$/ ],
			ctl => qr/error: candidate "$n" has not published its WAL position/ },
		leader_mismatch => {
			sql => undef,	# SQL names no leader: the current one
			rest => [ 412, qr/^leader name does not match$/ ],
			ctl => qr/error: "\Q$c->{leader}\E" is not the leader of cluster "otus"/ },
		no_leader => {
			sql => qr/ERROR:  cluster "otus" has no leader to switch over from/,
			rest => [ 412, qr/^leader name does not match$/ ],
			ctl => qr/error: cluster "otus" has no leader/ },
		failover_no_candidate => {
			sql => 'null',	# STRICT: NULL in, NULL out, nothing done
			rest => [ 400, qr/^Failover could be performed only to a specific candidate$/ ],
			ctl => qr/error: a failover needs a candidate/ },
		pending => {
			sql => qr/ERROR:  a switchover or failover of cluster "otus" is already pending/,
			rest => [ 412, qr/^a switchover or failover is already pending$/ ],
			ctl => qr/error: a switchover is already pending in cluster "otus"/ },
		paused_no_candidate => {
			sql => qr/ERROR:  cluster "otus": while the cluster is paused a switchover goes only to a named candidate/,
			rest => [ 400, qr/^Switchover is possible only to a specific candidate in a paused state$/ ],
			ctl => qr/error: cluster "otus" is paused: a switchover goes only to a named candidate/ },
		scheduled_paused => {
			sql => qr/ERROR:  cluster "otus": a switchover cannot be scheduled while the cluster is paused/,
			rest => [ 400, qr/^Can't schedule switchover in the paused state$/ ],
			ctl => qr/error: cannot schedule a switchover while cluster "otus" is paused/ },
		not_sync => {
			sql => qr/ERROR:  member "$n" is not the synchronous standby: in synchronous mode only the synchronous standby may take over from a running leader/,
			rest => [ 412, qr/^candidate name does not match with sync_standby$/ ],
			ctl => qr/error: candidate "$n" is not the synchronous standby: in synchronous mode only/ },
		not_sync_unforced => {
			sql => qr/ERROR:  member "$n" is not the synchronous standby: it may lack commits the last leader acknowledged/,
			rest => [ 412, qr/^candidate name does not match with sync_standby$/ ],
			ctl => qr/error: candidate "$n" is not the synchronous standby: it may lack commits/ },
		scheduled => {
			sql => qr/^switchover from "pg1" to "$n" requested for 2099-01-01T10:00:00/,
			rest => [ 202, qr/^Switchover scheduled$/ ],
			ctl => qr/Switchover scheduled at 2099-01-01T10:00:00\+00:00/ },
	);
	return $v{$class} // die "no verdict $class";
}

# Run one request through the three interfaces; a refusal leaves the
# failover key as it was, an accepted request is removed again.
sub same_verdict
{
	my ($c) = @_;
	my $v = verdict($c->{class}, $c);
	for my $if (qw(sql rest ctl))
	{
		my $what = "$if: $c->{what}";
		if (!defined $v->{$if})
		{
			note("$what: not expressible in $if");
			next;
		}
		my $before = failover_state();
		my $r = $via{$if}->($c);
		if ($c->{class} eq 'scheduled')
		{
			ok($r->{accepted}, "accepted by $what");
			like($r->{text}, $if eq 'rest' ? $v->{rest}[1] : $v->{$if}, "answer of $what");
			is($r->{status}, 202, "status of $what") if $if eq 'rest';
			like($consul->kv_get("$prefix/failover") // '',
				qr/^\{"leader":"pg1","member":"$c->{candidate}","scheduled_at":"2099-01-01T10:00:00[.0]*\+00:00"\}$/,
				"request written by $what");
			$consul->kv_delete("$prefix/failover");
			next;
		}
		ok(!$r->{accepted}, "refused by $what");
		if ($if eq 'sql' && $v->{sql} eq 'null')
		{
			is($r->{text}, '', "$what: NULL, nothing done");
		}
		elsif ($if eq 'rest')
		{
			is($r->{status}, $v->{rest}[0], "status of $what");
			like($r->{text}, $v->{rest}[1], "reason of $what");
		}
		else
		{
			like($r->{text}, $v->{$if}, "reason of $what");
		}
		is(failover_state(), $before, "nothing written by $what");
	}
}

# ---------------------------------------------------------------------
# pg1 leads.

same_verdict($_) for (
	{ what => 'switchover to the leader', action => 'switchover', candidate => 'pg1', class => 'is_leader' },
	{ what => 'failover to the leader', action => 'failover', candidate => 'pg1', class => 'is_leader' },
	{ what => 'switchover to an unknown member', action => 'switchover', candidate => 'ghost', class => 'unknown' },
	{ what => 'forced failover to an unknown member', action => 'failover', candidate => 'ghost', force => 1, class => 'unknown' },
	{ what => 'switchover to a stopped member', action => 'switchover', candidate => 'down', class => 'not_running' },
	{ what => 'failover to a stopped member', action => 'failover', candidate => 'down', class => 'not_running' },
	{ what => 'switchover to a member tagged nofailover', action => 'switchover', candidate => 'notag', class => 'nofailover' },
	{ what => 'forced failover to it', action => 'failover', candidate => 'notag', force => 1, class => 'nofailover' },
	{ what => 'switchover to a lagging member', action => 'switchover', candidate => 'behind', class => 'lags' },
	# the running leader would wait for it to catch up: refused, as patronictl's leader drops it
	{ what => 'failover to it while the leader runs', action => 'failover', candidate => 'behind', class => 'lags' },
	{ what => 'switchover to a member without a position', action => 'switchover', candidate => 'nopos', class => 'no_position' },
	{ what => 'failover to it while the leader runs', action => 'failover', candidate => 'nopos', class => 'no_position' },
	{ what => 'switchover from the wrong leader', action => 'switchover', leader => 'pg2', candidate => 'async', class => 'leader_mismatch' },
	# force: pg_ha_ctl would prompt for the candidate otherwise
	{ what => 'failover without a candidate', action => 'failover', force => 1, class => 'failover_no_candidate' });

# a pending request
$consul->kv_put("$prefix/failover", qq({"leader":"pg1","member":"pg2","scheduled_at":"$later"})) or die;
same_verdict({ what => 'switchover while one is pending', action => 'switchover', candidate => 'async', class => 'pending' });
same_verdict({ what => 'failover while one is pending', action => 'failover', candidate => 'async', class => 'pending' });
$consul->kv_delete("$prefix/failover") or die;

# paused: only to a named candidate, and not scheduled
like(sql($pg2, 'SELECT pg_ha_pause()'), qr/paused/, 'the cluster is paused');
same_verdict({ what => 'switchover to no particular member while paused', action => 'switchover', class => 'paused_no_candidate' });
same_verdict({ what => 'scheduled switchover while paused', action => 'switchover', candidate => 'async', scheduled => 1, class => 'scheduled_paused' });
like(sql($pg2, 'SELECT pg_ha_resume()'), qr/resumed/, 'the cluster runs again');

# accepted by all three: a switchover for later (it changes nothing now)
same_verdict({ what => 'scheduled switchover to a caught-up member', action => 'switchover', candidate => 'async', scheduled => 1, class => 'scheduled' });

# ---------------------------------------------------------------------
# Synchronous mode: pg2 is the synchronous standby, "async" is not.

like(sql($pg1, "SELECT pg_ha_set_config('synchronous_mode', 'on')"), qr/synchronous_mode = 'on' set/,
	'synchronous mode on');
ok( PgHaTest::poll_until('the sync key names pg2', 60,
		sub { ($consul->kv_get("$prefix/sync") // '') eq '{"leader":"pg1","sync_standby":"pg2"}' }),
	'the sync key names pg1 and pg2');
same_verdict($_) for (
	{ what => 'switchover to an asynchronous member', action => 'switchover', candidate => 'async', class => 'not_sync' },
	{ what => 'failover to it while the leader runs', action => 'failover', candidate => 'async', class => 'not_sync' },
	{ what => 'forced failover to it while the leader runs', action => 'failover', candidate => 'async', force => 1, class => 'not_sync' });

# ---------------------------------------------------------------------
# No leader: paused, so that pg2 does not take over; pg1 stops.

like(sql($pg2, 'SELECT pg_ha_pause()'), qr/paused/, 'the cluster is paused again');
$pg1->stop('fast');
ok( PgHaTest::poll_until('no session holds the leader key', 60,
		sub { !defined $consul->kv_session("$prefix/leader") }),
	'pg1 released the leader key');
is(sql($pg2, 'SELECT pg_is_in_recovery()'), 't', 'pg2 stays a replica: the cluster is paused');

same_verdict($_) for (
	{ what => 'switchover without a leader', action => 'switchover', candidate => 'pg2', class => 'no_leader' },
	{ what => 'failover to an asynchronous member without a leader, not forced', action => 'failover', candidate => 'async', class => 'not_sync_unforced' },
	{ what => 'failover without a leader to a stopped member', action => 'failover', candidate => 'down', force => 1, class => 'not_running' });

# Forced, all three accept it, with a warning: commits may be lost.  No
# server carries it out ("async" is no server): each request is removed.
my $forced = { action => 'failover', candidate => 'async', force => 1 };
my $r = via_sql($forced);
ok($r->{accepted}, 'SQL: a forced failover to the asynchronous member is accepted');
like($r->{warning}, qr/WARNING:  member "async" is not the synchronous standby: commits the last leader acknowledged may be lost/,
	'SQL: with a warning');
is($consul->kv_get("$prefix/failover"), '{"member":"async"}', 'SQL: the request names the member only');
$consul->kv_delete("$prefix/failover") or die;

$r = via_ctl($forced, '--wait-timeout', '1');
like($r->{warning}, qr/warning: candidate "async" is not the synchronous standby: commits the last leader acknowledged may be lost/,
	'pg_ha_ctl: a forced failover to it is accepted with a warning');
like($r->{warning}, qr/no new leader in cluster "otus" after 1 s; the failover request stays in Consul/,
	'pg_ha_ctl: written, then nobody took over');
is($consul->kv_get("$prefix/failover"), '{"member":"async"}', 'pg_ha_ctl: the request names the member only');
$consul->kv_delete("$prefix/failover") or die;

# the REST API waits for the outcome (twice 10 s), then says it is unknown
my $log_offset = -s $pg2->logfile;
$r = via_rest($forced);
is($r->{status}, 503, 'REST: a forced failover to it is accepted, then nobody takes over');
like($r->{text}, qr/^Failover status unknown/, 'REST: the outcome is unknown');
like(substr(slurp_file($pg2->logfile), $log_offset),
	qr/WARNING:  member "async" is not the synchronous standby: commits the last leader acknowledged may be lost/,
	'REST: with a warning in the server log');
is($consul->kv_get("$prefix/failover"), '{"member":"async"}', 'REST: the request names the member only');
$consul->kv_delete("$prefix/failover") or die;

# ---------------------------------------------------------------------
# Accepted and carried out: a failover to pg2, the synchronous standby.

$r = via_ctl({ action => 'failover', candidate => 'pg2' });
ok($r->{accepted}, 'pg_ha_ctl failover to pg2 without a leader succeeds');
like($r->{text}, qr/Successfully failed over to "pg2"/, 'and says so');
ok( PgHaTest::poll_until('pg2 takes writes', 60,
		sub { sql($pg2, 'SELECT pg_is_in_recovery()') eq 'f' }),
	'pg2 is promoted');
is($consul->kv_get("$prefix/leader"), 'pg2', 'pg2 holds the leader key');

$consul->session_destroy($session);
done_testing();
