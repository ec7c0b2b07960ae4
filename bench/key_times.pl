#!/usr/bin/perl
# Copyright (c) pg_ha contributors
#
# bench/key_times.pl RESULTS_DIR: when, by Consul's own logs, the leader key
# changed hands in each run of bench/compare.pl, against the fault.
#
# compare.pl polls the leader key every 20 ms, but on a loaded machine its
# polling loop (an HTTP request, the writers' CSVs) can fall behind by
# hundreds of milliseconds.  Each node talks to a client agent of its own,
# which logs every HTTP request at debug level with a millisecond wall-clock
# timestamp, so the logs tell when things happened:
#
#   last renewal  the old leader's last write of its lease before the fault
#                 (pg_ha: PUT /v1/txn, which rewrites the leader key;
#                 Patroni: PUT /v1/session/renew)
#   acquired      the new leader's first acquisition after the fault
#                 (pg_ha: its first PUT /v1/txn; Patroni: PUT
#                 .../leader?acquire=)
#
# The fault's wall-clock time is runs.csv's fault_wall (taken right before
# the signal).  Only runs on loopback (one client agent per node) are read;
# the partition runs share one agent in the hub.  Prints a Markdown table,
# one line per run and one per tool, profile and scenario (medians).
use strict;
use warnings;

use File::Basename qw(dirname);

my $dir = shift or die "usage: $0 RESULTS_DIR (bench/results/<stamp>/compare)\n";
open my $in, '<', "$dir/runs.csv" or die "$dir/runs.csv: $!\n";
chomp(my $head = <$in>);
my @h = split /,/, $head;
my @runs;
while (my $line = <$in>)
{
	chomp $line;
	my @v = split /,/, $line, -1;
	push @runs, { map { $h[$_] => $v[$_] } 0 .. $#h };
}
close $in;

sub secs
{
	my ($hms) = @_;
	my ($h, $m, $s) = $hms =~ /(\d\d):(\d\d):(\d\d(?:\.\d+)?)/ or return undef;
	return $h * 3600 + $m * 60 + $s;
}

my %cache;

sub requests
{
	my ($file) = @_;
	return $cache{$file} if $cache{$file};
	my @r;
	if (open my $fh, '<', $file)
	{
		while (my $l = <$fh>)
		{
			next unless $l =~ /^\s*\d{4}-\d\d-\d\dT(\d\d:\d\d:\d\d\.\d+)Z .*Request finished: method=(\w+) url=(\S+)/;
			push @r, [ secs($1), "$2 $3" ];
		}
		close $fh;
	}
	return $cache{$file} = \@r;
}

sub median
{
	my @v = sort { $a <=> $b } grep { defined } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

my @rows = ('| tool | profile | scenario | run | leader before -> after | fault (UTC) | last renewal before the fault (s) | new leader acquired (s after the fault) | acquired − last renewal (s) | harness saw the new key (s) |',
	'|---|---|---|---|---|---|---|---|---|---|');
my %agg;
foreach my $r (@runs)
{
	next if $r->{failed} || !$r->{new_leader} || $r->{new_leader} eq $r->{old_leader};
	next if $r->{scenario} eq 'partition';
	my $log = sub { "$dir/tmp_check/log/compare_consul_$r->{tool}_$r->{profile}_c$_[0].log" };
	my $t0 = secs($r->{fault_wall}) // next;
	my ($renew_re, $acq_re) = $r->{tool} eq 'pg_ha'
	  ? (qr{^PUT /v1/txn}, qr{^PUT /v1/txn})
	  : (qr{^PUT /v1/session/renew/}, qr{^PUT /v1/kv/[^?]*/leader\?acquire=});
	# the fault's clock started just before the signal: a request logged
	# up to 50 ms later was on its way already
	my ($last) = reverse grep { $_->[0] <= $t0 + 0.05 && $_->[1] =~ $renew_re } @{ requests($log->($r->{old_leader})) };
	my ($acq) = grep { $_->[0] > $t0 && $_->[1] =~ $acq_re } @{ requests($log->($r->{new_leader})) };
	my %v = (last => $last ? $last->[0] - $t0 : undef, acq => $acq ? $acq->[0] - $t0 : undef);
	$v{held} = defined $v{last} && defined $v{acq} ? $v{acq} - $v{last} : undef;
	push @{ $agg{"$r->{scenario}|$r->{tool}|$r->{profile}"}{$_} }, $v{$_} for qw(last acq held);
	push @{ $agg{"$r->{scenario}|$r->{tool}|$r->{profile}"}{harness} }, $r->{fault_to_key_s};
	push @rows, sprintf('| %s | %s | %s | %s | %s -> %s | %s | %s | %s | %s | %s |', @$r{qw(tool profile scenario run old_leader new_leader fault_wall)},
		map { defined $_ && $_ ne '' ? sprintf('%.3f', $_) : 'n/a' } $v{last}, $v{acq}, $v{held}, $r->{fault_to_key_s});
}
my @sum = ('| scenario | tool | profile | runs | new leader acquired, median (min–max) s after the fault | acquired − old leader\'s last renewal, median (min–max) s | harness poll, median s |',
	'|---|---|---|---|---|---|---|');
foreach my $k (sort keys %agg)
{
	my ($s, $t, $p) = split /\|/, $k;
	my $g = $agg{$k};
	my $mm = sub {
		my @v = grep { defined } @_;
		return 'n/a' unless @v;
		my @s = sort { $a <=> $b } @v;
		return sprintf('%.2f (%.2f–%.2f)', median(@v), $s[0], $s[-1]);
	};
	push @sum, sprintf('| %s | %s | %s | %d | %s | %s | %s |', $s, $t, $p, scalar(@{ $g->{acq} }),
		$mm->(@{ $g->{acq} }), $mm->(@{ $g->{held} }),
		defined median(grep { $_ ne q() } @{ $g->{harness} }) ? sprintf('%.2f', median(grep { $_ ne q() } @{ $g->{harness} })) : 'n/a');
}
print "## The leader key by Consul's logs\n\n", join("\n", @sum), "\n\n", join("\n", @rows), "\n";
