# Copyright (c) pg_ha contributors

=pod

=head1 NAME

PgHaTest::ConsulCluster - three Consul servers and a client agent per
pg_ha node, all on 127.0.0.1

=head1 SYNOPSIS

  use PgHaTest::ConsulCluster;

  my $dcs = PgHaTest::ConsulCluster->start(clients => [qw(pg1 pg2 pg3)]);
  my $node = PgHaTest::new_node('pg1', consul => $dcs->client('pg1'), ...);
  my $leader = $dcs->raft_leader;     # the PgHaTest::Consul server leading Raft
  $leader->kill9;
  $dcs->wait_leader(10);              # the other two elect a new one
  $_->kill9 for $dcs->servers;        # Consul down
  $dcs->start_servers;                # back, same ports and data

=head1 DESCRIPTION

The deployment Consul recommends: three server agents forming one Raft
cluster (C<bootstrap_expect = 3>, each joining the others with
C<retry_join>), and one client agent per host, which the host's programs
talk to.  Here every agent is a PgHaTest::Consul on 127.0.0.1 with ports
of its own; the servers keep their state on disk, so a killed server
comes back with its Raft log.  raft_multiplier is 1 (the default
performance profile is 5 times slower).

Every agent writes its own log (C<< <test>_s1.log >>, C<< <test>_c-pg1.log >>).

=head1 METHODS

=cut

package PgHaTest::ConsulCluster;

use strict;
use warnings;

use Carp;
use PgHaTest;

=pod

=over

=item PgHaTest::ConsulCluster->start(clients => [names], %opts)

Starts three servers (s1, s2, s3) and one client agent per name (agent
name C<c-NAME>), and waits until every agent is ready (a Raft leader, a
KV write and a session through it).  Options: servers (default 3),
extra_config (merged into every agent's configuration), log_level
(default 'debug' as PgHaTest::Consul), addr (default 127.0.0.1: the
address the servers bind to and advertise, e.g. the hub's address on the
dcs network of PgHaTest::Netns, so that agents in other network
namespaces can join them; their HTTP API then listens on 127.0.0.1 and
on addr).

=cut

sub start
{
	my ($class, %opts) = @_;
	my $nservers = $opts{servers} // 3;
	my @clients  = @{ $opts{clients} || [] };
	my $self = bless { servers => [], clients => {}, client_order => [@clients] }, $class;

	my $addr = $opts{addr} // '127.0.0.1';
	my @server_ports = map { PgHaTest::Consul::_pick_ports() } 1 .. $nservers;
	my @join = map { "$addr:$_->{serf_lan}" } @server_ports;
	my %bind = $addr eq '127.0.0.1' ? ()
	  : (bind_addr => $addr, advertise_addr => $addr, client_addr => "127.0.0.1 $addr");
	$self->{addr} = $addr;
	$self->{join} = [@join];
	my %common = (
		log_level => $opts{log_level} // 'debug',
		wait      => 0,
		timeout   => $opts{timeout} // 60);

	for my $i (1 .. $nservers)
	{
		my $extra = {
			bootstrap_expect => $nservers,
			retry_join       => [ grep { $_ ne $join[ $i - 1 ] } @join ],
			retry_interval   => '1s',
			%bind,
			%{ $opts{extra_config} || {} } };
		push @{ $self->{servers} },
		  PgHaTest::Consul->start(
			name         => "s$i",
			persistent   => 1,
			ports        => $server_ports[ $i - 1 ],
			extra_config => $extra,
			%common);
	}
	for my $c (@clients)
	{
		$self->{clients}{$c} = PgHaTest::Consul->start(
			name         => "c-$c",
			client       => 1,
			extra_config => { retry_join => [@join], retry_interval => '1s',
				%{ $opts{extra_config} || {} } },
			%common);
	}
	$_->wait_ready for $self->agents;
	return $self;
}

=pod

=item ->servers, ->clients, ->agents, ->join_addrs

The server agents (in order s1, s2, ...), the client agents (in the
order given to start), all of them; the servers' serf LAN addresses
(C<ADDR:PORT>), for the retry_join of agents started elsewhere.

=item ->client($name)

The client agent of $name (a PgHaTest::Consul: its http_url goes to
pg_ha.consul_url).

=cut

sub servers { return @{ $_[0]->{servers} }; }
# "ADDR:PORT" of each server's serf LAN port: retry_join of other agents
sub join_addrs { return @{ $_[0]->{join} }; }
sub clients { my ($self) = @_; return map { $self->{clients}{$_} } @{ $self->{client_order} }; }
sub agents  { my ($self) = @_; return ($self->servers, $self->clients); }

sub client
{
	my ($self, $name) = @_;
	return $self->{clients}{$name} // croak "no client agent for '$name'";
}

=pod

=item ->raft_leader

The server agent that leads Raft now (asked through the running
servers; the answer "127.0.0.1:PORT" names its server port), or undef.

=cut

sub raft_leader
{
	my ($self) = @_;
	foreach my $s (grep { $_->is_running } $self->servers)
	{
		my $addr = $s->leader // next;
		my ($port) = $addr =~ /:(\d+)$/ or next;
		my ($leader) = grep { $_->ports->{server} == $port } $self->servers;
		return $leader if $leader && $leader->is_running;
	}
	return undef;
}

=pod

=item ->wait_leader($seconds)

Polls until a running server leads Raft and every running client agent
knows a leader; returns that server, or 0 after the deadline.

=cut

sub wait_leader
{
	my ($self, $seconds) = @_;
	return PgHaTest::poll_until('a Consul Raft leader', $seconds,
		sub {
			my $l = $self->raft_leader or return 0;
			return 0 if grep { $_->is_running && !defined $_->leader } $self->clients;
			return $l;
		});
}

=pod

=item ->start_servers

Starts every server that is not running again (same ports, same data),
then waits until all agents are ready.

=cut

sub start_servers
{
	my ($self) = @_;
	$_->start_again for grep { !$_->is_running } $self->servers;
	$_->wait_ready for $self->servers;
	$_->wait_ready for grep { $_->is_running } $self->clients;
	return $self;
}

=pod

=back

=cut

1;
