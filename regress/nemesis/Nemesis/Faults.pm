# Copyright (c) pg_ha contributors

=pod

=head1 NAME

Nemesis::Faults - injecting and healing each kind of fault

=head1 DESCRIPTION

inject($cluster, $fault) carries out one scheduled fault (see
Nemesis::Schedule for the kinds and their parameters) and returns a
record: the nodes it hit, whether it was really injected (a signal
delivered to live processes, a link set down, a key deleted...), a
detail line, and a heal sub.  heal($record) undoes it.  heal_all() is
the safety net at the end: every link up, every block off, every stopped
process continued, every agent and Consul server started.

=cut

package Nemesis::Faults;

use strict;
use warnings;

use Carp;
use Test::More;
use Time::HiRes ();

use PgHaTest;
use Nemesis::Agent;

# The node a role and a pick in [0, 1) name now.  Leader-targeted
# faults wait a little for a leader (the cluster may be between
# leaders); without one, they take any node (said in the record).
sub target
{
	my ($c, $f) = @_;
	my ($role, $pick) = ($f->{role}, $f->{pick});
	return ($f->{node}, '') if $role eq 'fixed';
	my $leader;
	if ($role eq 'leader')
	{
		$leader = PgHaTest::poll_until('a leader to hit', 3 * $c->{ttl}, sub { $c->leader }) || undef;
		return ($leader, '') if $leader;
		my @cand = sort $c->nodes;
		if ($f->{kind} =~ /^(crash_pg|freeze_worker)$/)
		{
			my @running = grep { $c->postmaster_pid($_) } @cand;
			@cand = @running if @running;
		}
		return ($cand[ int($pick * @cand) ], ' (no leader: any node)');
	}
	# a fault on a node's server processes needs a running server: wait
	# a little for one (a server may be restarting)
	my @cand;
	PgHaTest::poll_until("a $role with a running server", 3 * $c->{ttl},
		sub {
			my $l = $c->leader // '';
			@cand = grep { $_ ne $l } sort $c->nodes;
			return 1 unless $f->{kind} =~ /^(crash_pg|freeze_worker)$/;
			my @running = grep { $c->postmaster_pid($_) } @cand;
			return 0 unless @running;
			@cand = @running;
			return 1;
		});
	return ($cand[ int($pick * @cand) ], '');
}

sub _rec
{
	my ($f, %r) = @_;
	return { kind => $f->{kind}, fault => $f, nodes => [], injected => 0, detail => '',
		heal => sub { 1 }, %r };
}

# ---------------------------------------------------------------------

my %inject = (
	crash_pg => sub {
		my ($c, $f) = @_;
		my ($n, $why) = target($c, $f);
		my @pids = $c->kill_all(sub { $c->pg_pids($n) }, "crash_pg $n");
		# the heal restarts a server only if this fault killed one
		return _rec($f, nodes => [$n], injected => scalar(@pids) > 0,
			detail => "kill -9 of ${n}'s " . scalar(@pids) . " processes (stopped first)$why",
			heal => sub { @pids ? $c->start_pg($n) : 1 });
	},
	crash_host => sub {
		my ($c, $f) = @_;
		my ($n, $why) = target($c, $f);
		my $agent = $c->agent($n);
		my $had_agent = $agent->is_running;
		my $agent_pid = $agent->pid // -1;
		my @pids = $c->kill_all(sub { $c->lab->pids($n) }, "crash_host $n");
		# a server (or a pg_ha_ctl restarting it) ran: the host's service
		# manager starts it again
		my $had_pg = grep { $_ != $agent_pid } @pids;
		$agent->is_running;    # forget its pid
		return _rec($f, nodes => [$n], injected => scalar(@pids) > 0 && $had_agent,
			detail => "kill -9 of all " . scalar(@pids) . " processes of host $n, its agent included"
			  . ($had_pg ? '' : ' (no server ran)') . $why,
			heal => sub { _start_agent($c, $n); $had_pg ? $c->start_pg($n) : 1 });
	},
	freeze_node => sub {
		my ($c, $f) = @_;
		my ($n, $why) = target($c, $f);
		my @pids = $c->stop_all(sub { $c->lab->pids($n) });
		return _rec($f, nodes => [$n], injected => scalar(@pids) > 0,
			detail => "SIGSTOP of all " . scalar(@pids) . " processes of $n, its agent included$why",
			heal => sub { kill 'CONT', @pids; 1 });
	},
	freeze_worker => sub {
		my ($c, $f) = @_;
		my ($n, $why) = target($c, $f);
		my $pid = PgHaTest::poll_until("$n: an HA worker", 10, sub { $c->ha_worker_pid($n) });
		return _rec($f, nodes => [$n], detail => "$n has no HA worker$why") unless $pid;
		kill 'STOP', $pid;
		return _rec($f, nodes => [$n], injected => 1,
			detail => "SIGSTOP of ${n}'s HA worker (pid $pid)$why",
			heal => sub { kill 'CONT', $pid; 1 });
	},
	agent_restart => sub {
		my ($c, $f) = @_;
		my ($n, $why) = target($c, $f);
		my $a = $c->agent($n);
		my $was = $a->is_running;
		$a->stop(10);
		_start_agent($c, $n);
		return _rec($f, nodes => [$n], injected => $was && $a->is_running,
			detail => "restart (SIGTERM, start) of ${n}'s Consul agent$why");
	},
	agent_leave => sub {
		my ($c, $f) = @_;
		my ($n, $why) = target($c, $f);
		my $left = $c->agent($n)->leave;
		return _rec($f, nodes => [$n], injected => $left,
			detail => "graceful leave of ${n}'s Consul agent$why",
			heal => sub { _start_agent($c, $n) });
	},
	agent_kill => sub {
		my ($c, $f) = @_;
		my ($n, $why) = target($c, $f);
		my $a = $c->agent($n);
		my $was = $a->is_running;
		$a->kill9;
		return _rec($f, nodes => [$n], injected => $was,
			detail => "kill -9 of ${n}'s Consul agent$why",
			heal => sub { _start_agent($c, $n) });
	},
	server_kill => sub {
		my ($c, $f) = @_;
		my $s = $f->{which} eq 'raft_leader' ? $c->dcs->raft_leader : undef;
		my @up = grep { $_->is_running } $c->dcs->servers;
		$s //= $up[ int($f->{pick} * @up) ] if @up;
		return _rec($f, detail => 'no Consul server running') unless $s;
		$s->kill9;
		return _rec($f, injected => 1, detail => 'kill -9 of Consul server ' . $s->name
			  . ($f->{which} eq 'raft_leader' ? ' (the Raft leader)' : ''),
			heal => sub { _start_servers($c) });
	},
	quorum_loss => sub {
		my ($c, $f) = @_;
		my @up = grep { $_->is_running } $c->dcs->servers;
		my $first = int($f->{pick} * 3);
		my @victims = map { ($c->dcs->servers)[ ($first + $_) % 3 ] } 0 .. $f->{count} - 1;
		$_->kill9 for @victims;
		return _rec($f, injected => @up == 3,
			detail => 'kill -9 of Consul servers ' . join(',', map { $_->name } @victims)
			  . ': no quorum',
			heal => sub { _start_servers($c) });
	},
	cut_dcs => sub {
		my ($c, $f) = @_;
		my ($n, $why) = target($c, $f);
		$c->lab->link($n, 'dcs', 'down');
		return _rec($f, nodes => [$n], injected => 1,
			detail => "$n (and its agent) cut from the Consul servers$why",
			heal => sub { $c->lab->link($n, 'dcs', 'up') });
	},
	cut_peers => sub {
		my ($c, $f) = @_;
		my ($n, $why) = target($c, $f);
		_peers($c, $n, 'on');
		return _rec($f, nodes => [$n], injected => 1,
			detail => "$n cut from its peers (data network)$why",
			heal => sub { _peers($c, $n, 'off') });
	},
	cut_clients => sub {
		my ($c, $f) = @_;
		my ($n, $why) = target($c, $f);
		_clients($c, $n, 'on');
		return _rec($f, nodes => [$n], injected => 1,
			detail => "$n cut from its clients$why",
			heal => sub { _clients($c, $n, 'off') });
	},
	cut_all => sub {
		my ($c, $f) = @_;
		my ($n, $why) = target($c, $f);
		$c->lab->link($n, $_, 'down') for qw(dcs data);
		return _rec($f, nodes => [$n], injected => 1,
			detail => "$n cut from everything$why",
			heal => sub { $c->lab->link($n, $_, 'up') for qw(dcs data); 1 });
	},
	delete_leader_key => sub {
		my ($c, $f) = @_;
		my $l = PgHaTest::poll_until('a leader key', 3 * $c->{ttl}, sub { $c->leader });
		my $s = $c->server;
		my $ok = $l && $s && eval { $s->kv_delete($c->prefix . '/leader') };
		return _rec($f, nodes => [ $l || () ], injected => $ok ? 1 : 0,
			detail => 'leader key deleted' . ($l ? " (held by $l)" : ' (no leader)'));
	},
	destroy_session => sub {
		my ($c, $f) = @_;
		my $l = PgHaTest::poll_until('a leader key', 3 * $c->{ttl}, sub { $c->leader });
		my $e = $l ? $c->kv_full('leader') : undef;
		my $s = $c->server;
		my $ok = $e && $e->{Session} && $s && eval { $s->session_destroy($e->{Session}) };
		return _rec($f, nodes => [ $l || () ], injected => $ok ? 1 : 0,
			detail => 'leader session destroyed' . ($l ? " (${l}'s)" : ' (no leader)'));
	},
	garbage_config => sub {
		my ($c, $f) = @_;
		my $s = $c->server;
		my $saved = $c->kv_get('config');
		my $ok = defined $saved && $s && eval { $s->kv_put($c->prefix . '/config', $f->{garbage}) };
		return _rec($f, injected => $ok ? 1 : 0,
			detail => 'config key replaced by ' . length($f->{garbage}) . ' bytes of garbage',
			heal => sub {
				return 1 unless defined $saved;
				PgHaTest::poll_until('config restored', 30,
					sub { my $s = $c->server; $s && $s->kv_put($c->prefix . '/config', $saved) });
			});
	},
	double_failure => sub {
		my ($c, $f) = @_;
		my $first = inject_one($c, { %$f, kind => $f->{first}, role => 'leader' });
		my $t = PgHaTest::_now();
		Time::HiRes::sleep($f->{delay});
		# the node taking over by now, else one of the others
		my $l = $c->leader // '';
		my ($hit) = @{ $first->{nodes} };
		my @others = grep { $_ ne ($hit // '') } sort $c->nodes;
		my $n = (grep { $_ eq $l } @others) ? $l : $others[ int($f->{pick} * @others) ];
		my $second = inject_one($c, { %$f, kind => $f->{second}, role => 'fixed', node => $n });
		return _rec($f, nodes => [ @{ $first->{nodes} }, $n ],
			injected => $first->{injected} && $second->{injected},
			detail => "$first->{detail}; "
			  . sprintf('%.1f s later ', PgHaTest::_now() - $t)
			  . ($l eq $n ? '(the new leader) ' : '') . $second->{detail},
			heal => sub { $second->{heal}->(); $first->{heal}->() });
	},
	switchover => sub {
		my ($c, $f) = @_;
		# a leader to ask: the one before the first fault, if there is
		# none by the time of the request (it then refuses, or is gone)
		my $before = PgHaTest::poll_until('a leader to ask', 3 * $c->{ttl}, sub { $c->leader }) || undef;
		my $base = inject_one($c, $f->{base});
		Time::HiRes::sleep($f->{delay});
		my $leader = $c->leader // $before;
		my @cand = grep { $_ ne ($leader // '') } sort $c->nodes;
		my $cand = $f->{candidate} eq 'named' ? $cand[ int($f->{pick} * @cand) ] : undef;
		my ($asked, $answer) = (0, 'no leader to ask');
		if ($leader && $f->{method} eq 'sql')
		{
			my $q = 'SELECT pg_ha_switchover(' . ($cand ? "'$cand'" : '') . ')';
			$answer = $c->sql($leader, $q, 10) // $c->{sql_error};
			$asked = 1;
		}
		elsif ($leader)
		{
			my $s = $c->server;
			my @cmd = ('pg_ha_ctl', 'switchover', $c->{cluster}, '--force',
				'--consul-url=' . ($s ? $s->http_url : 'http://127.0.0.1:1'),
				"--leader=$leader", ($cand ? "--candidate=$cand" : ()));
			my ($out, $err) = ('', '');
			eval { IPC::Run::run(\@cmd, '<', \'', '>', \$out, '2>', \$err, IPC::Run::timeout(30)) };
			# the last line: the outcome, after the topology table
			my @lines = grep { /\S/ && !/^[+|]/ } split /\n/, "$out\n$err";
			$answer = @lines ? $lines[-1] : 'no output';
			$asked = 1;
		}
		return _rec($f, nodes => $base->{nodes}, injected => $base->{injected} && $asked,
			detail => "$base->{detail}; then switchover ($f->{method}, "
			  . ($cand ? "to $cand" : 'no candidate') . ') on ' . ($leader // 'no leader')
			  . ": $answer",
			heal => $base->{heal});
	},
);

sub _start_agent
{
	my ($c, $n) = @_;
	my $a = $c->agent($n);
	return 1 if $a->is_running;
	return eval { $a->start_again; 1 } // do { diag("agent $n: $@"); 0 };
}

sub _start_servers
{
	my ($c) = @_;
	return eval { $c->dcs->start_servers; 1 } // do { diag("Consul servers: $@"); 0 };
}

sub _peers
{
	my ($c, $n, $state) = @_;
	for my $m (grep { $_ ne $n } $c->nodes)
	{
		$c->lab->block($n, $c->lab->addr($m, 'data'), $state);
		$c->lab->block($m, $c->lab->addr($n, 'data'), $state);
	}
	return 1;
}

sub _clients
{
	my ($c, $n, $state) = @_;
	$c->lab->block($n, $c->lab->hub_addr('data'), $state);
	$c->lab->block('hub', $c->lab->addr($n, 'data'), $state);
	return 1;
}

sub inject_one
{
	my ($c, $f) = @_;
	my $code = $inject{ $f->{kind} } or croak "unknown fault kind $f->{kind}";
	return $code->($c, $f);
}

=pod

=over

=item inject($cluster, $fault)

Carries out the fault, returns its record (kind, nodes, injected,
detail, heal, t_inject).

=item heal($record)

Undoes it; sets t_heal.

=item heal_all($cluster)

Everything back: links up, blocks off, processes continued, agents and
servers started.  Servers that pg_ha stopped itself are not started.

=back

=cut

sub inject
{
	my ($c, $f) = @_;
	my $t = PgHaTest::_now();
	my $r = eval { inject_one($c, $f) }
	  // _rec($f, detail => "injection failed: $@");
	$r->{t_inject} = $t;
	return $r;
}

sub heal
{
	my ($c, $r) = @_;
	eval { $r->{heal}->(); 1 } or diag("heal of $r->{kind}: $@");
	$r->{t_heal} = PgHaTest::_now();
	return;
}

sub heal_all
{
	my ($c) = @_;
	for my $n ($c->nodes)
	{
		eval { $c->lab->link($n, $_, 'up') for qw(dcs data); 1 } or diag("links of $n: $@");
		eval { _peers($c, $n, 'off'); _clients($c, $n, 'off'); 1 } or diag("blocks of $n: $@");
		kill 'CONT', $c->lab->pids($n);
	}
	_start_servers($c);
	_start_agent($c, $_) for $c->nodes;
	# no server is started here: a crash's own heal restarted the server
	# it killed (as a service manager would); a server that pg_ha itself
	# left stopped stays stopped, and invariant 3 says so
	return;
}

1;
