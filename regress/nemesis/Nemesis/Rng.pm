# Copyright (c) pg_ha contributors

=pod

=head1 NAME

Nemesis::Rng - the nemesis's own seeded pseudo-random numbers

=head1 DESCRIPTION

xorshift32 on a state derived from the seed: the same seed gives the same
numbers on every machine and Perl, and nothing else in the process (Perl's
rand(), used by other modules) can move it.  Every random choice of a
campaign is drawn from one of these, so NEMESIS_SEED replays its schedule.

=cut

package Nemesis::Rng;

use strict;
use warnings;

sub new
{
	my ($class, $seed) = @_;
	# mix the seed's digits into a non-zero 32-bit state
	my $x = 2463534242;
	foreach my $c (split //, "$seed")
	{
		$x = ($x ^ ord($c)) & 0xFFFFFFFF;
		$x = ($x * 16777619) % 4294967296;
	}
	$x ||= 2463534242;
	my $self = bless { x => $x }, $class;
	$self->u32 for 1 .. 16;    # let the first values spread
	return $self;
}

sub u32
{
	my ($self) = @_;
	my $x = $self->{x};
	$x ^= ($x << 13) & 0xFFFFFFFF;
	$x ^= $x >> 17;
	$x ^= ($x << 5) & 0xFFFFFFFF;
	$self->{x} = $x;
	return $x;
}

# uniform in [0, 1)
sub float { my ($self) = @_; return $self->u32 / 4294967296; }

# uniform in [lo, hi)
sub range { my ($self, $lo, $hi) = @_; return $lo + ($hi - $lo) * $self->float; }

# an integer in [0, n)
sub int { my ($self, $n) = @_; return CORE::int($self->float * $n); }

sub pick { my ($self, @list) = @_; return $list[ $self->int(scalar @list) ]; }

sub chance { my ($self, $p) = @_; return $self->float < $p; }

sub shuffle
{
	my ($self, @list) = @_;
	for (my $i = $#list; $i > 0; $i--)
	{
		my $j = $self->int($i + 1);
		@list[ $i, $j ] = @list[ $j, $i ];
	}
	return @list;
}

1;
