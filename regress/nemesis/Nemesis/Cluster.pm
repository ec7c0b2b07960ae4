# Copyright (c) pg_ha contributors

=pod

=head1 NAME

Nemesis::Cluster - the nemesis's cluster: three pg_ha nodes, each with
its Consul client agent in its own network namespace, three Consul
servers and the writers in the hub

=head1 DESCRIPTION

  hub namespace:   Consul servers s1 s2 s3 (10.250.1.1, dcs network)
                   writers (one PgHaTest::Checker per node, data network)
                   the test itself (psql through the nodes' Unix sockets)
  pgI namespace:   PostgreSQL with pg_ha (data 10.250.2.(10+I)),
                   its Consul client agent c-pgI (127.0.0.1 for pg_ha,
                   10.250.1.(10+I) for gossip with the servers)

The test observes the cluster through the servers' HTTP API (on the
hub's 127.0.0.1) and through each node's Unix socket with a deadline, so
that neither a partition nor a frozen node can block it.

=cut

package Nemesis::Cluster;

use strict;
use warnings;

use Carp;
use IPC::Run ();
use Time::HiRes ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;
use PgHaTest::Checker;
use PgHaTest::ConsulCluster;
use Nemesis::Agent;

our @NODES = qw(pg1 pg2 pg3);

sub new
{
	my ($class, %o) = @_;
	my $self = bless {
		lab     => $o{lab},
		ttl     => $o{ttl},
		mode    => $o{mode},
		cluster => 'otus',
		prefix  => 'service/otus',
		node    => {},
		agent   => {},
		writer  => {},
	}, $class;
	return $self;
}

sub lab    { return $_[0]->{lab}; }
sub dcs    { return $_[0]->{dcs}; }
sub node   { return $_[0]->{node}{ $_[1] }; }
sub agent  { return $_[0]->{agent}{ $_[1] }; }
sub nodes  { return @NODES; }
sub prefix { return $_[0]->{prefix}; }

# ---------------------------------------------------------------------
# Building it

sub build
{
	my ($self) = @_;
	my $lab = $self->{lab};
	my $ttl = $self->{ttl};

	$self->{dcs} = PgHaTest::ConsulCluster->start(clients => [], addr => $lab->hub_addr('dcs'));
	for my $n (@NODES)
	{
		$self->{agent}{$n} = Nemesis::Agent->start_in($lab, $n, join => [ $self->{dcs}->join_addrs ]);
	}
	$_->wait_ready for values %{ $self->{agent} };

	my %timing = (cluster => $self->{cluster}, ttl => "${ttl}s", loop_wait => '500ms',
		retry_timeout => '1s');
	my $opts = sub {
		my ($n) = @_;
		# the node talks to its own agent, inside its namespace
		return $lab->node_opts($n, consul => $self->{agent}{$n}, %timing,
			consul_url => 'http://127.0.0.1:' . $self->{agent}{$n}->http_port);
	};

	my $pg1 = PgHaTest::new_node('pg1', $opts->('pg1'));
	$self->{node}{pg1} = $pg1;
	$lab->start_node($pg1, 'pg1') or return 0;
	PgHaTest::poll_until('pg1 leads', 90, sub { $pg1->psql('postgres', 'SELECT 1') == 0 })
	  or return 0;
	$pg1->safe_psql('postgres', 'CREATE EXTENSION pg_ha');
	PgHaTest::Checker::create_table($pg1);
	for my $n (qw(pg2 pg3))
	{
		$self->{node}{$n} = PgHaTest::new_replica($n, $pg1, $opts->($n));
		$lab->start_node($self->{node}{$n}, $n) or return 0;
	}
	PgHaTest::poll_until('pg2 and pg3 stream', 90, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' })
	  or return 0;
	if ($self->{mode} eq 'sync')
	{
		$pg1->safe_psql('postgres', "SELECT pg_ha_set_config('synchronous_mode', 'true')");
		PgHaTest::poll_until('pg1 names a synchronous standby', 60,
			sub {
				my $sync = $self->kv_get('sync') // '';
				return $sync =~ /"sync_standby"\s*:\s*"pg[23]"/
				  && $pg1->safe_psql('postgres',
					"SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") eq '1';
			}) or return 0;
	}
	return 1;
}

# One writer (a PgHaTest::Checker) per node, each writing to its node
# alone over the data network, at the same time as the others: their
# acknowledged writes can overlap in time, which is what the checker of
# invariant 1 looks for.
sub start_writers
{
	my ($self) = @_;
	my $i = 0;
	for my $n (@NODES)
	{
		$self->{writer}{$n} = PgHaTest::Checker->start(
			nodes => { $n => 'host=' . $self->{lab}->addr($n, 'data') . ' port='
				  . $self->{node}{$n}->port . ' dbname=postgres' },
			seq_base => 1_000_000_000 * $i++,
			interval => 0.05,
			cancel   => 0,
			log => "$PostgreSQL::Test::Utils::log_path/nemesis_writer_$n.jsonl");
	}
	return;
}

# A real HAProxy in the hub with docs/haproxy.cfg, its servers at the
# nodes' data addresses, and a writer through its primary port whose
# rows name the node that took them (current_setting('pg_ha.node_name')).
sub start_haproxy
{
	my ($self) = @_;
	return 0 unless PgHaTest::haproxy_binary();
	$self->{haproxy} = PgHaTest::HAProxy->start(
		{ addr => { map { $_ => $self->{lab}->addr($_, 'data') } @NODES } },
		map { $_ => $self->{node}{$_} } @NODES);
	$self->{via} = PgHaTest::Checker->start(
		nodes => { haproxy => 'host=127.0.0.1 port=' . $self->{haproxy}->port('primary')
			  . ' dbname=postgres' },
		seq_base   => 3_000_000_000,
		cancel     => 0,
		node_value => "current_setting('pg_ha.node_name')",
		interval   => 0.05,
		log => "$PostgreSQL::Test::Utils::log_path/nemesis_writer_haproxy.jsonl");
	return 1;
}

sub haproxy_writer { return $_[0]->{via}; }

# the direct writers (one per node), then the one through HAProxy
sub writers
{
	my ($self) = @_;
	return ((map { $self->{writer}{$_} } @NODES), $self->{via} || ());
}
sub writer  { return $_[0]->{writer}{ $_[1] }; }

sub stop_writers { my ($self) = @_; $_->stop for $self->writers; return; }

# ---------------------------------------------------------------------
# Observing it

# A running Consul server, for the test's own requests.
sub server
{
	my ($self) = @_;
	my @up = grep { $_->is_running } $self->{dcs}->servers;
	return $up[0];
}

sub kv_get
{
	my ($self, $key) = @_;
	for my $s (grep { $_->is_running } $self->{dcs}->servers)
	{
		my $v = eval { $s->kv_get("$self->{prefix}/$key") };
		return $v unless $@;
	}
	return undef;
}

sub kv_full
{
	my ($self, $key) = @_;
	for my $s (grep { $_->is_running } $self->{dcs}->servers)
	{
		my $v = eval { $s->kv_get_full("$self->{prefix}/$key") };
		return $v unless $@;
	}
	return undef;
}

# The member named in the leader key, when a session holds it.
sub leader
{
	my ($self) = @_;
	my $e = $self->kv_full('leader') or return undef;
	return undef unless $e->{Session} && defined $e->{Value};
	return (grep { $_ eq $e->{Value} } @NODES) ? $e->{Value} : undef;
}

# psql through the node's Unix socket, with a deadline (a frozen node
# must not block the nemesis).  Returns the output, or undef (then
# ->{sql_error} says why).
sub sql
{
	my ($self, $n, $query, $timeout) = @_;
	my $node = $self->{node}{$n};
	my ($out, $err) = ('', '');
	my $ok = eval {
		IPC::Run::run([ 'psql', '-XAtq', '-h', $node->host, '-p', $node->port,
				'-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', $query ],
			'<', \'', '>', \$out, '2>', \$err,
			IPC::Run::timeout($timeout // 5));
	};
	($self->{sql_error} = $ok ? '' : ($err || $@ || 'no answer')) =~ s/\s+/ /g;
	return undef unless $ok;
	chomp $out;
	return $out;
}

# pid of the node's postmaster from postmaster.pid, when alive
sub postmaster_pid
{
	my ($self, $n) = @_;
	open my $fh, '<', $self->{node}{$n}->data_dir . '/postmaster.pid' or return undef;
	my $pid = <$fh>;
	close $fh;
	return undef unless defined $pid && $pid =~ /^(\d+)/;
	return Nemesis::Agent::alive($1) ? $1 : undef;
}

# Every process of the node's namespace but its Consul agent: the
# postmaster and its children, and whatever they started (pg_ha_ctl,
# pg_rewind).
sub pg_pids
{
	my ($self, $n) = @_;
	my $agent = $self->{agent}{$n}->pid // -1;
	return grep { $_ != $agent } $self->{lab}->pids($n);
}

sub ha_worker_pid
{
	my ($self, $n) = @_;
	for my $pid ($self->pg_pids($n))
	{
		open my $fh, '<', "/proc/$pid/cmdline" or next;
		my $cmd = <$fh> // '';
		close $fh;
		return $pid if $cmd =~ /pg_ha HA worker/;
	}
	return undef;
}

# Stops (SIGSTOP) every process of the list given by $lister, again
# until no new one appears (a process may fork while the others stop),
# and returns them.
sub stop_all
{
	my ($self, $lister) = @_;
	my %stopped;
	for my $round (1 .. 50)
	{
		my @new = grep { !$stopped{$_} } $lister->();
		last unless @new;
		kill 'STOP', @new;
		$stopped{$_} = 1 for @new;
	}
	return sort { $a <=> $b } keys %stopped;
}

# SIGKILL to every process of the list, once all of them are stopped, so
# that none outlives the others; waits until all are gone (reaped, not
# only dead: a zombie postmaster still holds its lock file for
# PostgreSQL).  Returns the pids killed.
sub kill_all
{
	my ($self, $lister, $what) = @_;
	my @pids = $self->stop_all($lister);
	kill 'KILL', @pids;
	# (a Consul agent is the Netns helper's child: any request to the
	# helper has it reap its dead children)
	my $gone = PgHaTest::poll_until("$what: every process gone", 30,
		sub { $self->{lab}->pids('hub'); !grep { -e "/proc/$_" } @pids });
	diag("$what: processes still there: @{[ grep { -e \"/proc/$_\" } @pids ]}") unless $gone;
	return @pids;
}

# Start the node's server in its namespace unless a postmaster runs.
sub start_pg
{
	my ($self, $n) = @_;
	return 1 if $self->postmaster_pid($n);
	# the killed postmaster's pid may linger a moment as a zombie
	my $file = $self->{node}{$n}->data_dir . '/postmaster.pid';
	PgHaTest::poll_until("$n: old postmaster gone", 15,
		sub {
			open my $fh, '<', $file or return 1;
			my ($pid) = (<$fh> // '') =~ /^(\d+)/;
			return !$pid || !-e "/proc/$pid";
		});
	my $ok = $self->{lab}->start_node($self->{node}{$n}, $n);
	return $ok || $self->postmaster_pid($n) ? 1 : 0;
}

1;
