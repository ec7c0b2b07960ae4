# Copyright (c) pg_ha contributors

=pod

=head1 NAME

Nemesis::History - the invariants, checked on what the writers saw

=head1 DESCRIPTION

Every writer (one per node) logs each attempt with its start (t0) and end
(t1) on the monotonic clock.  The acknowledged writes of all writers,
sorted by the time of their acknowledgement, fall into runs of one node.
A node may lead several times over a campaign, so a node may have several
runs; what must never happen is that two nodes acknowledge writes in the
same interval: for each pair of consecutive runs, the earlier run's last
acknowledgement must come before the later run's first write even
started.  Since the writers write at the same time, two nodes taking
writes in the same interval always shows as such a pair.

=cut

package Nemesis::History;

use strict;
use warnings;

# All acknowledged writes of every writer, sorted by acknowledgement.
# Those through HAProxy name the node that took them only in the table:
# %$took (seq => node, read on the final leader) attributes those it
# has; the others (lost, or no table read) keep the node 'haproxy'.
sub acked
{
	my ($cluster, $took) = @_;
	my @a = map { $_->acked } $cluster->writers;
	for my $w (grep { $_->{node} eq 'haproxy' } @a)
	{
		$w = { %$w, node => $took->{ $w->{seq} } } if $took && $took->{ $w->{seq} };
	}
	return sort { $a->{t1} <=> $b->{t1} } @a;
}

# seq => node of the rows written through HAProxy, on node $n
sub took
{
	my ($cluster, $n) = @_;
	my $rows = $cluster->sql($n, 'SELECT seq, node FROM pgha_checker WHERE seq > 3000000000', 60)
	  // return {};
	return { map { split /\|/ } split /\n/, $rows };
}

# Runs of acknowledged writes by node: { node, count, t_first (t0 of its
# first write), t_last (t1 of its last), first, last (sequence numbers) }
sub runs
{
	my (@acked) = @_;
	my @runs;
	for my $a (@acked)
	{
		if (@runs && $runs[-1]{node} eq $a->{node})
		{
			my $r = $runs[-1];
			$r->{count}++;
			$r->{t_last} = $a->{t1};
			$r->{last}   = $a->{seq};
			# a later write of the run may have started earlier
			$r->{t_first} = $a->{t0} if $a->{t0} < $r->{t_first};
		}
		else
		{
			push @runs, { node => $a->{node}, count => 1, t_first => $a->{t0},
				t_last => $a->{t1}, first => $a->{seq}, last => $a->{seq} };
		}
	}
	return @runs;
}

# (violations, runs): each violation a string naming the two runs.
sub overlaps
{
	my (@runs) = @_;
	my @bad;
	for my $i (1 .. $#runs)
	{
		my ($p, $q) = @runs[ $i - 1, $i ];
		next if $p->{t_last} < $q->{t_first};
		push @bad, sprintf('%s acknowledged #%d at %.3f, after %s had started #%d at %.3f (%.3f s of overlap)',
			$p->{node}, $p->{last}, $p->{t_last}, $q->{node}, $q->{first}, $q->{t_first},
			$p->{t_last} - $q->{t_first});
	}
	return @bad;
}

sub describe_runs
{
	my ($t0, @runs) = @_;
	return join(', ',
		map { sprintf('%s %.1f-%.1fs (%d)', $_->{node}, $_->{t_first} - $t0, $_->{t_last} - $t0, $_->{count}) }
		  @runs);
}

# The acknowledged writes that $node's table lacks, as [seq, node] pairs.
sub missing_on
{
	my ($cluster, $n, @acked) = @_;
	my $have = $cluster->sql($n, 'SELECT seq FROM pgha_checker', 60);
	return undef unless defined $have;
	my %have = map { $_ => 1 } split /\n/, $have;
	return [ map { [ $_->{seq}, $_->{node} ] } grep { !$have{ $_->{seq} } } @acked ];
}

# Server log lines that say a process ended by a signal, crashed or
# failed an assertion.  The nemesis only SIGKILLs a node's processes all
# together (postmaster included, so no postmaster lives to log it) and
# only stops and continues the others: any such line is pg_ha's or
# PostgreSQL's own.
sub signal_deaths
{
	my ($cluster) = @_;
	my @hits;
	for my $n ($cluster->nodes)
	{
		my $log = $cluster->node($n)->logfile;
		open my $fh, '<', $log or next;
		while (my $line = <$fh>)
		{
			push @hits, "$n: $line"
			  if $line =~ /terminated by signal|terminated by exception|PANIC:|TRAP:|was terminated by/;
		}
		close $fh;
	}
	return @hits;
}

# The node's last lines of pg_ha and pg_ha_ctl (its state, at a glance).
sub log_tail
{
	my ($cluster, $n, $count) = @_;
	open my $fh, '<', $cluster->node($n)->logfile or return ();
	my @lines = grep { /pg_ha|pg_rewind|FATAL|PANIC/ && !/is fenced and accepts no|cannot commit|HINT|STATEMENT|DETAIL|starting up|not yet accepting|statement: / } <$fh>;
	close $fh;
	chomp @lines;
	splice(@lines, 0, @lines - $count) if @lines > $count;
	return map { substr($_, 0, 300) } @lines;
}

1;
