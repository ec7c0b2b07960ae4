# The leader cut off from Consul, in synchronous mode: the test of
# 010_consul_partition.pl with synchronous_mode on, where no write the
# old leader acknowledged may be missing on the new one, and only the
# synchronous standby may take over.
use strict;
use warnings;
use File::Spec;

our $synchronous = 1;
my $test = File::Spec->rel2abs(__FILE__ =~ s{020_consul_partition_sync\.pl$}{010_consul_partition.pl}r);
unless (defined(do $test))
{
	die "$test: $@" if $@;
	die "$test: $!";
}
