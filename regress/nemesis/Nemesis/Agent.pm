# Copyright (c) pg_ha contributors

=pod

=head1 NAME

Nemesis::Agent - a Consul client agent inside a node's network namespace

=head1 SYNOPSIS

  my $agent = Nemesis::Agent->start_in($lab, 'pg1', join => [ $dcs->join_addrs ]);
  $agent->wait_ready;
  # pg_ha.consul_url = 'http://127.0.0.1:' . $agent->http_port (inside pg1's namespace)
  $agent->kill9;  $agent->start_again;   # no wait: it joins when it can

=head1 DESCRIPTION

A PgHaTest::Consul client agent started by the PgHaTest::Netns helper in
the node's namespace (so that losing the host loses the agent too, and a
node cut from the dcs network has its agent cut from the servers).  It
binds its serf port to the node's dcs address, its HTTP API to 127.0.0.1
(for pg_ha, inside the namespace) and to the dcs address (for the test,
in the hub).  It is not the test's child: liveness is read from /proc
and signals go to its process group.  start_again() does not wait for
the agent to be ready (wait => 0), so that a nemesis heal never blocks
on a network it has not healed yet; call ->wait_ready when needed.

=cut

package Nemesis::Agent;

use strict;
use warnings;

use Carp;
use PgHaTest;
use Time::HiRes ();

our @ISA = ('PgHaTest::Consul');

my %placement;

sub start_in
{
	my ($class, $lab, $node, %opts) = @_;
	my $name = "c-$node";
	my $addr = $lab->addr($node, 'dcs');
	$placement{$name} = { lab => $lab, node => $node, addr => $addr };
	return $class->start(
		name      => $name,
		client    => 1,
		wait      => 0,
		log_level => $opts{log_level} // 'debug',
		extra_config => {
			bind_addr      => $addr,
			advertise_addr => $addr,
			client_addr    => "127.0.0.1 $addr",
			retry_join     => $opts{join} || croak('start_in needs join'),
			retry_interval => '1s',
			%{ $opts{extra_config} || {} } });
}

sub node { return $placement{ $_[0]->{name} }{node}; }

sub http_url
{
	my ($self) = @_;
	return "http://$placement{ $self->{name} }{addr}:" . $self->{ports}{http};
}

sub _launch_and_wait
{
	my ($self) = @_;
	my $p   = $placement{ $self->{name} };
	my @cmd = $self->_command;
	open my $log, '>>', $self->{log_file} or die "could not open $self->{log_file}: $!";
	printf $log "\n===== %s: starting in %s: %s\n", scalar(localtime), $p->{node}, join(' ', @cmd);
	close $log;
	$self->{launched_at} = PgHaTest::_now();
	my $pid = $p->{lab}->spawn($p->{node}, \@cmd, log => $self->{log_file});
	die "Consul '$self->{name}' could not be started in $p->{node}\n" unless $pid;
	$self->{pid} = $pid;
	print "# Consul '$self->{name}' started in $p->{node}, pid $pid, http $self->{ports}{http}\n";
	return 1 unless $self->{wait};
	return $self->wait_ready;
}

# alive and not a zombie
sub alive
{
	my ($pid) = @_;
	return 0 unless $pid;
	open my $fh, '<', "/proc/$pid/stat" or return 0;
	my $stat = <$fh> // '';
	close $fh;
	my ($state) = $stat =~ /\)\s+(\S)/;
	return defined $state && $state ne 'Z' && $state ne 'X';
}

sub is_running
{
	my ($self) = @_;
	return 0 unless defined $self->{pid};
	return 1 if alive($self->{pid});
	$self->{pid} = undef;
	return 0;
}

sub _terminate
{
	my ($self, $signal, $timeout) = @_;
	my $pid = $self->{pid};
	return 0 unless defined $pid && $self->{owner_pid} == $$;
	kill($signal, -$pid) or kill($signal, $pid);
	my $deadline = PgHaTest::_now() + $timeout;
	while (alive($pid))
	{
		if (PgHaTest::_now() >= $deadline)
		{
			last if $signal eq 'KILL';
			($signal, $deadline) = ('KILL', PgHaTest::_now() + 10);
			kill('KILL', -$pid) or kill('KILL', $pid);
		}
		Time::HiRes::sleep(0.05);
	}
	kill('KILL', -$pid);
	print "# Consul '$self->{name}' (pid $pid) stopped with SIG$signal\n";
	$self->{pid} = undef;
	return 1;
}

# PUT /v1/agent/leave: the agent leaves the cluster gracefully and exits.
sub leave
{
	my ($self) = @_;
	my $pid = $self->{pid} or return 0;
	my $res = $self->http('PUT', '/v1/agent/leave');
	return 0 unless $res->{status} == 200;
	PgHaTest::poll_until("$self->{name} exits after leaving", 15, sub { !alive($pid) })
	  or $self->_terminate('KILL', 5);
	$self->{pid} = undef;
	return 1;
}

1;
