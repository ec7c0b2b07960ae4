#!/bin/sh
# check_layout.sh: the layout's two rules (docs/architecture.md#the-layout).
#
#   1. No import circles among src/common and src/backend: a file never
#      includes a header whose .c includes the first file's header back,
#      however many files lie between.
#   2. src/common is pure: none of its files includes a header that lives
#      under src/backend or src/bin.
#
# The graph joins each header with its .c: foo.h and foo.c (or, for an
# interface without a foo.c, the foo_*.c beside it that include foo.h, as
# dcs.h and dcs_consul.c) are one node, and a node depends on another when
# one of its files has `#include "bar.h"` of a header of the tree (headers
# are included by plain name: one -I per directory).  Prints each circle
# as the includes that close it and fails, else prints "layout: ok".
#
# Usage: scripts/check_layout.sh [top directory, default: the one above]
exec perl -x "$0" "${1:-$(dirname "$0")/..}"
#!perl
use strict;
use warnings;
use File::Find;

my $top = shift;
chdir $top or die "check_layout: cannot enter $top: $!\n";

my (%files, %headers_in);	# files of the graph; header name => its paths
for my $dir ('src/common', 'src/backend', 'src/bin') {
	next unless -d $dir;
	find({ no_chdir => 1, wanted => sub {
		return unless /\.[ch]$/ && -f $_;
		(my $name = $_) =~ s{.*/}{};
		push @{ $headers_in{$name} }, $_ if /\.h$/;
		$files{$_} = 1 if $dir ne 'src/bin';
	} }, $dir);
}

# the headers of the tree that a file includes by plain name
my %includes;
for my $f (sort keys %files) {
	open my $fh, '<', $f or die "check_layout: $f: $!\n";
	while (<$fh>) {
		push @{ $includes{$f} }, $1 if /^\s*#\s*include\s+"([^"\/]+\.h)"/;
	}
	close $fh;
}

# a file's node: the header it implements or is (dir/base, no suffix)
my %node_of;
for my $f (keys %files) {
	(my $n = $f) =~ s/\.[ch]$//;
	$node_of{$f} = $n;
}
for my $f (grep { /\.c$/ } keys %files) {
	(my $dir = $f) =~ s{/[^/]*$}{};
	for my $h (@{ $includes{$f} || [] }) {
		(my $base = $h) =~ s/\.h$//;
		next if exists $files{"$dir/$base.c"} || !exists $files{"$dir/$h"};
		$node_of{$f} = "$dir/$base" if $f =~ m{^\Q$dir/$base\E_[^/]*\.c$};
	}
}

# the header a plain name resolves to within the graph (as with -I)
sub resolve {
	my ($h) = @_;
	for my $p (@{ $headers_in{$h} || [] }) {
		return $p if exists $files{$p};
	}
	return undef;
}

my (%edges, %why);
for my $f (sort keys %files) {
	for my $h (@{ $includes{$f} || [] }) {
		my $p = resolve($h) or next;
		my ($from, $to) = ($node_of{$f}, $node_of{$p});
		next if $from eq $to;
		$edges{$from}{$to} = 1;
		$why{"$from $to"} //= "$f includes $h";
	}
}

my @failures;

# rule 2: src/common stays pure
for my $f (sort grep { m{^src/common/} } keys %files) {
	for my $h (@{ $includes{$f} || [] }) {
		my @where = @{ $headers_in{$h} || [] };
		next if grep { m{^src/common/} } @where;
		my @outside = grep { m{^src/(backend|bin)/} } @where;
		push @failures, "$f includes $h, which lives in $outside[0]: src/common must not depend on src/backend or src/bin"
			if @outside;
	}
}

# rule 1: the strongly connected components (Tarjan), then for each edge
# inside one the shortest way back, which closes a circle through it
my %nodes = map { $_ => 1 } values %node_of;
my ($index, @stack, %idx, %low, %on, %comp) = (0);
my $ncomp = 0;
sub strong {
	my ($v) = @_;
	$idx{$v} = $low{$v} = $index++;
	push @stack, $v;
	$on{$v} = 1;
	for my $w (sort keys %{ $edges{$v} || {} }) {
		if (!exists $idx{$w}) {
			strong($w);
			$low{$v} = $low{$w} if $low{$w} < $low{$v};
		} elsif ($on{$w}) {
			$low{$v} = $idx{$w} if $idx{$w} < $low{$v};
		}
	}
	if ($low{$v} == $idx{$v}) {
		my $w;
		do {
			$w = pop @stack;
			$on{$w} = 0;
			$comp{$w} = $ncomp;
		} while ($w ne $v);
		$ncomp++;
	}
}
for my $v (sort keys %nodes) {
	strong($v) unless exists $idx{$v};
}

sub path_back {
	my ($from, $to) = @_;
	my %prev = ($from => undef);
	my @queue = ($from);
	while (@queue) {
		my $v = shift @queue;
		return map_path(\%prev, $to) if $v eq $to;
		for my $w (sort keys %{ $edges{$v} || {} }) {
			next if exists $prev{$w} || $comp{$w} != $comp{$from};
			$prev{$w} = $v;
			push @queue, $w;
		}
	}
	return ();
}
sub map_path {
	my ($prev, $v) = @_;
	my @p;
	for (; defined $v; $v = $prev->{$v}) { unshift @p, $v; }
	return @p;
}

my %seen;
for my $u (sort keys %edges) {
	for my $v (sort keys %{ $edges{$u} }) {
		next unless $comp{$u} == $comp{$v};
		my @cycle = ($u, path_back($v, $u));
		pop @cycle;
		# one circle, whichever of its nodes it was found from
		my $min = 0;
		for my $i (1 .. $#cycle) { $min = $i if $cycle[$i] lt $cycle[$min]; }
		@cycle = (@cycle[$min .. $#cycle], @cycle[0 .. $min - 1]);
		my $key = join ' ', @cycle;
		next if $seen{$key}++;
		my @steps = map { $why{"$cycle[$_] " . $cycle[($_ + 1) % @cycle]} } 0 .. $#cycle;
		(my $names = join(' -> ', @cycle, $cycle[0])) =~ s{[^ ]*/}{}g;
		push @failures, "include circle $names: " . join('; ', @steps);
	}
}

if (@failures) {
	print "layout: $_\n" for @failures;
	printf "layout: %d problem%s\n", scalar @failures, @failures == 1 ? '' : 's';
	exit 1;
}
print "layout: ok\n";
exit 0;
