# pg_ha_ctl show-config, edit-config, restart and reload on a three-node
# cluster: the config as YAML; edit-config -p max_wal_senders=12 shows the
# unified diff and writes the config key (a number, as Patroni stores it);
# every member pending restart, restart --pending restarts them all,
# replicas first and the leader last, without a failover; parameters that
# pg_ha owns are refused with the config unchanged; edit-config through
# $EDITOR; a concurrent change is never overwritten; reload per member.
use strict;
use warnings;

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

# Run pg_ha_ctl, optionally with standard input and environment
# ({ stdin => "...", env => {...} } first); returns (exit code, stdout, stderr)
# (PgHaTest::ctl).
sub ctl { return PgHaTest::ctl(@_) }

sub config_state
{
	my $entry = $consul->kv_get_full("$prefix/config");
	return $entry ? "$entry->{ModifyIndex}:$entry->{Value}" : 'absent';
}

sub pending
{
	return join(',',
		map { my $r = $consul->kv_get_json("$prefix/members/$_"); "$_:" . ($r && $r->{pending_restart} ? 1 : 0) }
		  qw(pg1 pg2 pg3));
}

my $pg1 = PgHaTest::new_node('pg1', %common);
$pg1->start;
ok(PgHaTest::poll_until('pg1 leads', 60, sub { ($consul->kv_get("$prefix/leader") // '') eq 'pg1' }),
	'pg1 is the leader');
my $pg2 = PgHaTest::new_replica('pg2', $pg1, %common);
my $pg3 = PgHaTest::new_replica('pg3', $pg1, %common);
PgHaTest::start_node($_) for ($pg2, $pg3);
my %node = (pg1 => $pg1, pg2 => $pg2, pg3 => $pg3);
ok(PgHaTest::poll_until('both replicas stream', 60, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' }),
	'pg2 and pg3 stream from pg1');
ok(PgHaTest::poll_until('three member records', 30,
		sub { scalar(grep { $consul->kv_get_json("$prefix/members/$_") } qw(pg1 pg2 pg3)) == 3 }),
	'every member has published its record');
my $session = $consul->kv_session("$prefix/leader");

# ---------------------------------------------------------------------
# show-config

my ($rc, $out, $err) = ctl('show-config', 'otus');
is($rc, 0, 'show-config succeeds');
my $config = $consul->kv_get_json("$prefix/config");
my @top = ($out =~ /^([a-z_]+):/mg);
is_deeply(\@top, [ sort keys %$config ], 'top-level keys, sorted, as in the config key');
like($out, qr/^ttl: $config->{ttl}$/m, 'ttl as a number');
like($out, qr/^postgresql:\n(  \S.*\n)*  parameters: \{\}\n(  \S.*\n)*  use_pg_rewind: true$/m,
	'postgresql nested below, parameters empty, booleans as true');
($rc, $out, $err) = ctl('show-config', 'nosuch');
is($rc, 1, 'show-config of an unknown cluster fails');
like($err, qr/cluster "nosuch" is not known to Consul/, 'and says so');

# ---------------------------------------------------------------------
# edit-config -p: diff, applied, stored as a number

($rc, $out, $err) = ctl('edit-config', 'otus', '-p', 'max_wal_senders=12', '--force');
is($rc, 0, 'edit-config -p max_wal_senders=12 --force succeeds');
like($out, qr/^--- .*\n\+\+\+ .*\n\@\@ -\d+(,\d+)? \+\d+(,\d+)? \@\@$/m, 'a unified diff: headers and a hunk');
like($out, qr/^-  parameters: \{\}$/m, 'a "-" line: the old empty parameters');
like($out, qr/^\+    max_wal_senders: 12$/m, 'a "+" line: the new parameter');
unlike($out, qr/Apply these changes/, '--force asks nothing');
is($consul->kv_get_json("$prefix/config")->{postgresql}{parameters}{max_wal_senders}, 12,
	'the config key has max_wal_senders 12');
like($consul->kv_get("$prefix/config"), qr/"max_wal_senders":12[,}]/, 'as a JSON number');

($rc, $out, $err) = ctl('edit-config', 'otus', '-p', 'max_wal_senders=12', '--force');
is($rc, 0, 'the same change again succeeds');
is($out, "Not changed\n", 'and says "Not changed"');

# ---------------------------------------------------------------------
# refused: nothing written

my $before = config_state();
for my $bad (
	[ [ '-p', 'primary_conninfo=host=x' ], qr/parameter "primary_conninfo" cannot be set cluster-wide/ ],
	[ [ '-p', 'pg_ha.ttl=5s' ], qr/parameter "pg_ha.ttl" cannot be set cluster-wide/ ],
	[ [ '--set', 'postgresql.parameters.wal_level=minimal' ], qr/parameter "wal_level" cannot be set/ ],
	[ [ '--set', 'ttl=abc' ], qr/config: ttl is not a number of seconds/ ],
	[ [ '-p', 'novalue' ], qr/invalid -p "novalue": give NAME=VALUE/ ])
{
	my ($args, $re) = @$bad;
	($rc, $out, $err) = ctl('edit-config', 'otus', @$args, '--force');
	is($rc, 1, "refused: @$args");
	like($err, $re, "clear error: @$args");
}
is(config_state(), $before, 'the config key is unchanged');

# without --force: asked, "no" writes nothing
($rc, $out, $err) = ctl({ stdin => "n\n" }, 'edit-config', 'otus', '--set', 'maximum_lag_on_failover=2097152');
is($rc, 1, 'answering no fails');
like($out, qr/^\+maximum_lag_on_failover: 2097152\n.*Apply these changes\? \[y\/N\]: $/ms,
	'the diff, then the question');
is(config_state(), $before, 'nothing written');

# ---------------------------------------------------------------------
# restart --pending: replicas first, the leader last, no failover

ok(PgHaTest::poll_until('all pending', 30, sub { pending() eq 'pg1:1,pg2:1,pg3:1' }),
	'every member is pending restart');
my %started = map { $_ => PgHaTest::start_time($node{$_}) } qw(pg1 pg2 pg3);
($rc, $out, $err) = ctl('restart', 'otus', '--pending', '--force');
is($rc, 0, 'restart otus --pending --force succeeds');
my @order = ($out =~ /^Success: restart on member (\w+)$/mg);
is_deeply(\@order, [qw(pg2 pg3 pg1)], 'replicas first, the leader last, each finished before the next');
like($out, qr/Restarting member pg1 \(the leader\)/, 'the leader named as such');
like($out, qr/Success: restart on member pg1\n\+ Cluster: otus/, 'then the table');
$_->_update_pid(1) for values %node;
for my $n (qw(pg1 pg2 pg3))
{
	isnt(PgHaTest::start_time($node{$n}), $started{$n}, "$n was restarted");
	is($node{$n}->safe_psql('postgres', 'SHOW max_wal_senders'), '12', "$n runs with max_wal_senders 12");
}
cmp_ok(PgHaTest::start_time($pg1), '>', PgHaTest::start_time($_), 'pg1 restarted after ' . $_->name) for ($pg2, $pg3);
ok(PgHaTest::poll_until('none pending', 30, sub { pending() eq 'pg1:0,pg2:0,pg3:0' }),
	'no member is pending restart');
is($consul->kv_get("$prefix/leader"), 'pg1', 'pg1 is still the leader');
is($consul->kv_session("$prefix/leader"), $session, 'with the same session: no failover');
is_deeply([ $consul->kv_keys("$prefix/restart/") ], [], 'no restart key left');
ok(PgHaTest::poll_until('both replicas stream again', 60, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' }),
	'both replicas stream from pg1 again');

($rc, $out, $err) = ctl('restart', 'otus', '--pending', '--force');
is($rc, 0, 'restart --pending with nothing pending succeeds');
like($out, qr/No member of cluster otus is pending a restart: nothing to do/, 'and does nothing');

# the prompts, answered no
($rc, $out, $err) = ctl({ stdin => "\nn\n" }, 'restart', 'otus');
is($rc, 1, 'restart answered no fails');
like($out, qr/When should the restart take place \(e\.g\. \d{4}-\d\d-\d\dT\d\d:\d\d\)  \[now\]: Are you sure you want to restart members pg1, pg2, pg3\? \[y\/N\]: /,
	'asks when, then whether, as patronictl');
like($err, qr/aborting restart/, 'and aborts');

# a restart already pending
$consul->kv_put("$prefix/restart/pg3", '{"pending_only":false,"scheduled_at":"2099-01-01T00:00:00+00:00"}');
($rc, $out, $err) = ctl('restart', 'otus', 'pg3', '--force');
is($rc, 1, 'restart of a member with a pending restart fails');
like($err, qr/a restart of member pg3 is already pending/, 'and says so');
$consul->kv_delete("$prefix/restart/pg3");
($rc, $out, $err) = ctl('restart', 'otus', 'pg9', '--force');
is($rc, 1, 'restart of an unknown member fails');
like($err, qr/member "pg9" does not exist in cluster "otus"/, 'and says so');

# ---------------------------------------------------------------------
# edit-config in $EDITOR

my $dir = PostgreSQL::Test::Utils::tempdir();
my $editor = "$dir/editor.pl";
open(my $fh, '>', $editor) or die;
print $fh <<'EOF';
#!/usr/bin/perl
# add work_mem below parameters, change maximum_lag_on_failover
local $/;
open(my $in, '<', $ARGV[0]) or die;
my $t = <$in>;
close $in;
$t =~ s/^maximum_lag_on_failover: \d+$/maximum_lag_on_failover: 2097152/m or die;
$t =~ s/^(  parameters:\n)/$1    work_mem: 8MB  # reloadable\n/m or die;
if ($ENV{RACE_URL}) { # someone else writes the key meanwhile
	require HTTP::Tiny;
	my $h = HTTP::Tiny->new;
	my $v = $h->get($ENV{RACE_URL} . '?raw')->{content};
	# the same JSON, other bytes: Consul keeps the index of an identical value
	$h->request('PUT', $ENV{RACE_URL}, { content => "$v " });
}
open(my $out, '>', $ARGV[0]) or die;
print $out $t;
close $out;
EOF
close $fh;
chmod 0755, $editor;

$before = config_state();
($rc, $out, $err) = ctl({ env => { EDITOR => $editor, RACE_URL => $consul->http_url . "/v1/kv/$prefix/config" } },
	'edit-config', 'otus', '--force');
is($rc, 1, 'a concurrent change fails the edit');
like($err, qr/the configuration changed meanwhile; nothing was written/, 'and says so');
is($consul->kv_get_json("$prefix/config")->{maximum_lag_on_failover}, 1048576, 'the edit was not written');
isnt(config_state(), $before, 'the other change stays');

($rc, $out, $err) = ctl({ env => { EDITOR => $editor }, stdin => "y\n" }, 'edit-config', 'otus');
is($rc, 0, 'edit-config with EDITOR succeeds');
like($out, qr/^-maximum_lag_on_failover: 1048576\n\+maximum_lag_on_failover: 2097152$/m, 'the diff shows the edit');
like($out, qr/^\+    work_mem: 8MB$/m, 'and the new parameter');
like($out, qr/Apply these changes\? \[y\/N\]: Configuration changed/, 'asked, then written');
$config = $consul->kv_get_json("$prefix/config");
is($config->{maximum_lag_on_failover}, 2097152, 'the config key has the new maximum_lag_on_failover');
is($config->{postgresql}{parameters}{work_mem}, '8MB', 'and work_mem');
is($config->{postgresql}{parameters}{max_wal_senders}, 12, 'max_wal_senders kept');
ok(PgHaTest::poll_until('work_mem applied', 30, sub { $pg2->safe_psql('postgres', 'SHOW work_mem') eq '8MB' }),
	'pg2 applies work_mem');

($rc, $out, $err) = ctl({ env => { EDITOR => 'true' } }, 'edit-config', 'otus');
is($rc, 0, 'an editor that changes nothing');
is($out, "Not changed\n", 'gives "Not changed"');

# ---------------------------------------------------------------------
# reload: one line per member

($rc, $out, $err) = ctl('reload', 'otus', '--force');
my @lines = grep { /member pg\d/ } split /\n/, $out;
is(scalar(@lines), 3, 'reload reports every member');
like($lines[$_], qr/member pg@{[ $_ + 1 ]}\b/, "one line for pg@{[ $_ + 1 ]}") for 0 .. 2;
if ($out =~ /Failed/)
{
	note('the REST API has no POST /reload here');
	is($rc, 1, 'reload with a failure exits with 1');
}
else
{
	is($rc, 0, 'reload succeeds');
	like($out, qr/Reload request received for member pg1 and will be processed within \d+ seconds/,
		'as patronictl says it');
}
($rc, $out, $err) = ctl('reload', 'otus', 'pg9', '--force');
is($rc, 1, 'reload of an unknown member fails');

is($consul->kv_session("$prefix/leader"), $session, 'the leader kept its session throughout');

done_testing();
