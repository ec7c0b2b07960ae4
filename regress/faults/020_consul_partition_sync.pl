# The leader cut off from Consul, in synchronous mode: the test of
# 010_consul_partition.pl with synchronous_mode on, where no write the
# old leader acknowledged may be missing on the new one, and only the
# synchronous standby may take over.
#
# The namespaces and PostgreSQL's test modules are set up here, at compile
# time and in 010's order (the modules' INIT blocks name the logs after
# this file); 010 then runs with $synchronous set.
use strict;
use warnings;
use File::Spec;

our ($lab, $synchronous);
BEGIN
{
	$synchronous = 1;
	require PgHaTest::Netns;
	$lab = PgHaTest::Netns->setup(nodes => [qw(pg1 pg2 pg3)]);
}

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;
use PgHaTest::Checker;

my $test = File::Spec->rel2abs(__FILE__ =~ s{020_consul_partition_sync\.pl$}{010_consul_partition.pl}r);
unless (defined(do $test))
{
	die "$test: $@" if $@;
	die "$test: $!";
}
