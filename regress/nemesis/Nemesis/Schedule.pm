# Copyright (c) pg_ha contributors

=pod

=head1 NAME

Nemesis::Schedule - a campaign's faults, drawn from its seed

=head1 DESCRIPTION

The whole schedule is drawn before the first fault, from the seed alone
(with the campaign's length, mode and ttl): replaying a seed replays the
same faults, in the same order, with the same durations, gaps and
choices.  A choice that depends on the cluster at that moment (which
node leads, which replica) is drawn as a role and a number in [0, 1) that
picks among the candidates of that role, sorted by name, when the fault
is injected.

The kinds are dealt in rounds: each round is a seeded shuffle of every
kind, so a run of about one round's length has each kind once.

=cut

package Nemesis::Schedule;

use strict;
use warnings;

use Nemesis::Rng;

# every kind of fault, with the roles it may target
our @KINDS = qw(
  crash_pg crash_host freeze_node freeze_worker
  agent_restart agent_leave agent_kill
  server_kill quorum_loss
  cut_dcs cut_peers cut_clients cut_all
  delete_leader_key destroy_session garbage_config
  double_failure switchover);

# the faults a switchover may come in the middle of
our @SWITCHOVER_BASES = qw(cut_dcs cut_peers cut_clients freeze_worker
  agent_restart agent_kill server_kill garbage_config);

our @GARBAGE = (
	'not json at all',
	'{"ttl": 5, "loop_wait": ',
	'[1, 2, 3]',
	'{"synchronous_mode": "perhaps", "ttl": "never"}',
	'{"postgresql": {"parameters": 42}}',
	"\x00\xff\xfe binary",
	'');

sub node_params
{
	my ($rng, $p_leader) = @_;
	return (role => ($rng->chance($p_leader // 0.6) ? 'leader' : 'replica'), pick => $rng->float);
}

# One fault's parameters, all drawn now.
sub draw_fault
{
	my ($rng, $kind, $ttl) = @_;
	my %f = (kind => $kind);
	$f{duration} = $rng->range(1.0 * $ttl, 2.5 * $ttl);
	if ($kind =~ /^(crash_pg|crash_host|freeze_node|agent_restart|agent_leave|agent_kill|cut_dcs|cut_peers|cut_clients|cut_all)$/)
	{
		%f = (%f, node_params($rng));
	}
	elsif ($kind eq 'freeze_worker')
	{
		%f = (%f, node_params($rng, 0.8));
	}
	elsif ($kind eq 'server_kill')
	{
		$f{which} = $rng->chance(0.5) ? 'raft_leader' : 'any';
		$f{pick}  = $rng->float;
	}
	elsif ($kind eq 'quorum_loss')
	{
		$f{count} = $rng->chance(0.5) ? 2 : 3;
		$f{pick}  = $rng->float;
	}
	elsif ($kind eq 'garbage_config')
	{
		$f{garbage} = $rng->pick(@GARBAGE);
	}
	elsif ($kind eq 'double_failure')
	{
		# the leader crashes; during the failover that follows (before,
		# around or after the ttl at which a replica may take over) a
		# second node crashes too
		$f{first}  = $rng->pick(qw(crash_pg crash_host));
		$f{second} = $rng->pick(qw(crash_pg crash_host freeze_node));
		$f{delay}  = $rng->range(0.2 * $ttl, 1.5 * $ttl);
		$f{pick}   = $rng->float;
		$f{duration} += $f{delay};
	}
	elsif ($kind eq 'switchover')
	{
		my $base = $rng->pick(@SWITCHOVER_BASES);
		$f{base}   = draw_fault($rng, $base, $ttl);
		$f{method} = $rng->pick(qw(sql ctl));
		$f{candidate} = $rng->chance(0.5) ? 'any' : 'named';
		$f{pick}   = $rng->float;
		$f{delay}  = $rng->range(0, 0.5 * $ttl);
		$f{duration} = $f{base}{duration} + $f{delay};
	}
	return \%f;
}

=pod

=over

=item Nemesis::Schedule->new(seed => ..., seconds => ..., ttl => ..., kinds => [...])

Draws faults until their durations and gaps (plus an estimate of each
heal) fill the campaign's seconds.

=back

=cut

sub new
{
	my ($class, %o) = @_;
	my $rng   = Nemesis::Rng->new($o{seed});
	my $ttl   = $o{ttl};
	my @kinds = @{ $o{kinds} || \@KINDS };
	my @faults;
	my ($t, @deck) = (0);
	while ($t < $o{seconds})
	{
		@deck = $rng->shuffle(@kinds) unless @deck;
		my $f = draw_fault($rng, shift(@deck), $ttl);
		$f->{gap} = $rng->range(0.3 * $ttl, 1.0 * $ttl);
		push @faults, $f;
		# a heal restarts servers and agents: about a ttl
		$t += $f->{duration} + $f->{gap} + $ttl;
	}
	return bless { faults => \@faults, rng => $rng }, $class;
}

sub faults { return @{ $_[0]->{faults} }; }

# One line per fault, to print the schedule at the start.
sub describe
{
	my ($f) = @_;
	my @p = map { "$_=" . (ref $f->{$_} ? '{' . describe($f->{$_}) . '}'
		  : $f->{$_} =~ /^\d+\.\d+$/ ? sprintf('%.2f', $f->{$_}) : _printable($f->{$_})) }
	  grep { $_ ne 'kind' && $_ ne 'gap' } sort keys %$f;
	return "$f->{kind} @p";
}

sub _printable { my ($s) = @_; $s =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge; return "'$s'"; }

1;
