# No undocumented interface: every pg_ha.* setting, SQL function and view,
# pg_ha_ctl subcommand and option, REST endpoint, /metrics metric and
# server error or warning message is documented in docs/.  Each list comes
# from the live system where one exists (a running node with pg_ha loaded,
# the installed library, the extension's objects in pg_depend, the
# installed pg_ha_ctl's --help, the API's answers), never from a list kept
# in this file.  The formats the docs must follow are in docs/README.md
# ("What the docs test checks").
#
# Each checker is also run on a copy of its document with one entry cut
# out, and must then name that entry: the test can fail.
use strict;
use warnings;

use HTTP::Tiny;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $docs = 'docs';

sub doc_text
{
	my ($name) = @_;
	my $path = "$docs/$name";
	ok(-f $path, "$path exists") or return '';
	return slurp_file($path);
}

# Markdown sections: [ { level, title, body } ], headings inside ``` fences
# ignored; a section's body runs to the next heading of its level or above.
sub sections
{
	my ($text) = @_;
	my @lines = split /\n/, $text, -1;
	my @heads;
	my $fence = 0;
	for my $i (0 .. $#lines)
	{
		if ($lines[$i] =~ /^\s*```/) { $fence = !$fence; next; }
		next if $fence;
		push @heads, [ $i, length($1), $2 ] if $lines[$i] =~ /^(#{1,6})\s+(.*?)\s*#*\s*$/;
	}
	my @out;
	for my $h (0 .. $#heads)
	{
		my ($i, $level, $title) = @{ $heads[$h] };
		my $end = $#lines;
		for my $k ($h + 1 .. $#heads)
		{
			if ($heads[$k][1] <= $level) { $end = $heads[$k][0] - 1; last; }
		}
		push @out, { level => $level, title => $title,
			body => join("\n", @lines[ $i + 1 .. $end ]) };
	}
	return @out;
}

# $text without the lines that contain $needle: the mutation that each
# checker must notice.
sub cut_lines
{
	my ($text, $needle) = @_;
	return join("\n", grep { index($_, $needle) < 0 } split /\n/, $text, -1);
}

# Run $check->($text) on the real document (no problems expected) and on
# the document without the lines holding $needle (a problem naming $item
# expected).
sub check_doc
{
	my ($what, $text, $check, $item, $needle) = @_;
	my @problems = $check->($text);
	is(scalar(@problems), 0, "$what: all documented")
	  or diag(join("\n", @problems));
	return unless defined $item;
	my @cut = $check->(cut_lines($text, $needle));
	ok((grep { index($_, $item) >= 0 } @cut),
		"$what: the check notices a missing entry ($item)")
	  or diag("problems after cutting '$needle': " . join("\n", @cut));
}

# ---------------------------------------------------------------------
# A node with pg_ha loaded and active, leading its own cluster.

my $consul = PgHaTest::Consul->start();
my $node = PgHaTest::new_node('pg1', cluster => 'docs', consul => $consul);
$node->start;
ok( PgHaTest::poll_until(
		'pg1 accepts connections', 60,
		sub { $node->psql('postgres', 'SELECT 1') == 0 }),
	'the node leads and takes connections');
$node->safe_psql('postgres', 'CREATE EXTENSION pg_ha');

# ---------------------------------------------------------------------
# 1. Settings: docs/configuration.md has a section "### pg_ha.NAME" with
# "Type: ...", "Default: `...`" and "Context: ..." (the reload
# behaviour), each equal to what the server says.

my %guc;
for my $row (split /\n/,
	$node->safe_psql('postgres',
		"SELECT name, vartype, coalesce(unit, ''), boot_val, context "
		  . "FROM pg_settings WHERE name LIKE 'pg\\_ha.%' ORDER BY name"))
{
	my ($name, $type, $unit, $boot, $context) = split /\|/, $row, -1;
	$guc{$name} = { type => $type, unit => $unit, boot => $boot, context => $context };
}
ok(scalar(keys %guc) > 0, 'pg_settings lists pg_ha settings');

# pg_settings hides GUC_NO_SHOW_ALL settings (secrets): find them by name
# in the installed library, and keep the names the server knows.
my ($pkglibdir) = $node->config_data('--pkglibdir');
my $so = slurp_file("$pkglibdir/pg_ha.so");
my %in_so = map { $_ => 1 } $so =~ /\b(pg_ha\.[a-z][a-z0-9_]*)/g;
is_deeply([ grep { !$in_so{$_} } sort keys %guc ], [],
	'every setting in pg_settings is found in pg_ha.so too (the scan works)');
for my $name (sort keys %in_so)
{
	next if $guc{$name};
	my $known = $node->safe_psql('postgres',
		"SELECT current_setting('$name', true) IS NOT NULL");
	$guc{$name} = { hidden => 1 } if $known eq 't';
}
ok((grep { $guc{$_}{hidden} } keys %guc),
	'hidden settings (consul_token, ...) found: '
	  . join(', ', grep { $guc{$_}{hidden} } sort keys %guc));

my %unit_factor = (
	us => 1, ms => 1e3, s => 1e6, min => 60e6, h => 3600e6, d => 86400e6,
	B => 1, kB => 1024, MB => 1024**2, GB => 1024**3, TB => 1024**4,
	'8kB' => 8192);

# Is the documented default $doc the server's boot value?
sub same_default
{
	my ($g, $doc) = @_;
	my ($type, $unit, $boot) = @{$g}{qw(type unit boot)};
	if ($type eq 'bool')
	{
		my %b = (on => 'on', true => 'on', off => 'off', false => 'off');
		return ($b{ lc $doc } // '') eq $boot;
	}
	if ($type eq 'integer' || $type eq 'real')
	{
		return 0 unless $doc =~ /^(-?\d+(?:\.\d+)?)\s*([A-Za-z0-9]*)$/;
		my ($num, $du) = ($1, $2);
		return $num == $boot if $unit eq '' && $du eq '';
		$du = $unit if $du eq '';
		return 0 unless $unit_factor{$du} && $unit_factor{$unit};
		return abs($num * $unit_factor{$du} - $boot * $unit_factor{$unit}) < 1e-6;
	}
	$doc =~ s/^'(.*)'$/$1/s;
	return $doc eq $boot;
}

my %type_word = (bool => 'boolean', integer => 'integer', real => 'real',
	string => 'string', enum => 'enum');

sub check_gucs
{
	my ($text) = @_;
	my %sec = map { $_->{title} =~ /^`?(pg_ha\.[a-z0-9_]+)`?$/ ? ($1 => $_->{body}) : () }
	  sections($text);
	my @problems;
	for my $name (sort keys %guc)
	{
		my $body = $sec{$name};
		if (!defined $body)
		{
			push @problems, "$name: no section \"### $name\"";
			next;
		}
		my $g = $guc{$name};
		my ($type)    = $body =~ /Type:\s*([a-z]+)/;
		my ($default) = $body =~ /Default:\s*`([^`]*)`/;
		my ($context) = $body =~ /Context:\s*`?([a-z-]+)/;
		push @problems, "$name: no \"Type: ...\""             unless defined $type;
		push @problems, "$name: no \"Default: `...`\""        unless defined $default;
		push @problems, "$name: no \"Context: ...\""          unless defined $context;
		next if $g->{hidden} || !defined $type || !defined $default || !defined $context;
		push @problems, "$name: Type $type, but the server says $g->{type}"
		  unless $type eq ($type_word{ $g->{type} } // $g->{type});
		push @problems,
		  "$name: Default `$default`, but the server says '$g->{boot}'"
		  . ($g->{unit} ne '' ? " $g->{unit}" : '')
		  unless same_default($g, $default);
		push @problems, "$name: Context $context, but the server says $g->{context}"
		  unless $context eq $g->{context};
	}
	return @problems;
}

my ($first_guc) = sort keys %guc;
check_doc('configuration.md: settings', doc_text('configuration.md'),
	\&check_gucs, $first_guc, "### $first_guc");

# ---------------------------------------------------------------------
# 2. SQL: every function and view of the extension has a row in a table of
# docs/sql.md ("| `name(arg type, ...)` |" for a function, with each
# named argument; "| `name` |" for a view), and each view a section
# "## name" that shows each of its columns as `column`.

my @objects = map { [ split /\|/ ] } split /\n/, $node->safe_psql('postgres', q{
	SELECT 'function', p.proname,
	       coalesce(array_to_string(ARRAY(
	           SELECT n FROM unnest(p.proargnames) WITH ORDINALITY AS a(n, i)
	           WHERE n <> '' AND (p.proargmodes IS NULL
	                  OR p.proargmodes[i] IN ('i', 'b', 'v'))), ','), '')
	  FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
	 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
	   AND d.refclassid = 'pg_extension'::regclass
	   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_ha')
	UNION ALL
	SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'relation' END, c.relname,
	       array_to_string(ARRAY(
	           SELECT attname FROM pg_attribute
	           WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped
	           ORDER BY attnum), ',')
	  FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
	 WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e'
	   AND d.refclassid = 'pg_extension'::regclass
	   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_ha')
	ORDER BY 1, 2});
ok((grep { $_->[0] eq 'function' } @objects) && (grep { $_->[0] eq 'view' } @objects),
	'the extension has functions and views: '
	  . join(', ', map { $_->[1] } @objects));
# objects of other kinds (types, tables) are not expected yet: they would
# need a format of their own here
is_deeply([ grep { $_->[0] eq 'relation' } @objects ], [],
	'the extension owns no relation other than views');

sub check_sql
{
	my ($text) = @_;
	my @rows = grep { /^\s*\|/ } split /\n/, $text;
	my %sec = map { $_->{title} =~ /^`?([a-z0-9_]+)`?$/ ? ($1 => $_->{body}) : () }
	  sections($text);
	my @problems;
	for my $o (@objects)
	{
		my ($kind, $name, $list) = @$o;
		my @names = grep { $_ ne '' } split /,/, ($list // '');
		if ($kind eq 'function')
		{
			my @r = grep { /`\Q$name\E\(/ } @rows;
			if (!@r)
			{
				push @problems, "function $name: no table row with `$name(...)`";
				next;
			}
			for my $arg (@names)
			{
				push @problems, "function $name: argument $arg not in its table row"
				  unless grep { /`\Q$name\E\([^`]*\b\Q$arg\E\b/ } @r;
			}
		}
		else
		{
			push @problems, "view $name: no table row with `$name`"
			  unless grep { /`\Q$name\E`/ } @rows;
			my $body = $sec{$name};
			if (!defined $body)
			{
				push @problems, "view $name: no section \"## $name\"";
				next;
			}
			for my $col (@names)
			{
				push @problems, "view $name: column $col not shown as `$col`"
				  unless $body =~ /`\Q$col\E`/;
			}
		}
	}
	return @problems;
}

my ($first_view) = map { $_->[1] } grep { $_->[0] eq 'view' } @objects;
check_doc('sql.md: functions and views', doc_text('sql.md'),
	\&check_sql, $first_view, "`$first_view`");

# ---------------------------------------------------------------------
# 3. pg_ha_ctl: every subcommand of the installed pg_ha_ctl's --help has a
# section "## subcommand" in docs/cli.md, and every long option of --help
# appears in cli.md.

my ($help, $help_err) = ('', '');
IPC::Run::run([ 'pg_ha_ctl', '--help' ], '<', \undef, '>', \$help, '2>', \$help_err);
my ($usage) = $help =~ /^Usage:\n(.*?)\n\n/ms;
my @subcommands;
for (split /\n/, $usage // '')
{
	push @subcommands, $1 if /^\s+pg_ha_ctl\s+([a-z][a-z-]*)/;
}
ok(@subcommands >= 3, 'pg_ha_ctl --help lists subcommands: ' . join(', ', @subcommands));
my %seen;
my @options = grep { !$seen{$_}++ } $help =~ /(?<![\w-])(--[a-z][a-z-]*)/g;
ok(@options >= 3, 'pg_ha_ctl --help lists long options');

sub check_cli
{
	my ($text) = @_;
	my %sec = map { $_->{title} =~ /^`?(?:pg_ha_ctl\s+)?([a-z][a-z-]*)`?$/ ? ($1 => 1) : () }
	  sections($text);
	my @problems;
	push @problems, map { "subcommand $_: no section \"## $_\"" } grep { !$sec{$_} } @subcommands;
	push @problems, map { "option $_ not in cli.md" }
	  grep { $text !~ /(?<![\w-])\Q$_\E(?![a-z-])/ } @options;
	return @problems;
}

check_doc('cli.md: subcommands and options', doc_text('cli.md'),
	\&check_cli, $subcommands[0], "## $subcommands[0]");
check_doc('cli.md: subcommands and options', doc_text('cli.md'),
	\&check_cli, $options[-1], $options[-1]);

# ---------------------------------------------------------------------
# 4. REST API: the paths of the routing table (src/backend/api/api_route.c), each
# confirmed by the running API (anything but 404), appear in backticks in
# docs/api.md (`/path`, `GET /path` or `/path?param=...`).

my $api = "http://127.0.0.1:" . ($node->safe_psql('postgres', 'SHOW pg_ha.api_listen') =~ /:(\d+)$/)[0];
my $http = HTTP::Tiny->new(timeout => 5);
ok( PgHaTest::poll_until('the REST API answers', 30,
		sub { $http->get("$api/health")->{status} != 599 }),
	'the REST API answers');
my $route_src = slurp_file('src/backend/api/api_route.c');
my ($table) = $route_src =~ /\broutes\[\]\s*=\s*\{(.*?)\n\};/s;
my @paths = ($table // '') =~ /\{\s*"(\/[^"]*)"\s*,/g;
ok(@paths >= 5, 'routing table found in src/backend/api/api_route.c: ' . scalar(@paths) . ' paths');
is($http->request('OPTIONS', "$api/no-such-endpoint-$$")->{status}, 404,
	'an unknown path is 404, so the probe below can tell');
for my $p (@paths)
{
	isnt($http->request('OPTIONS', "$api$p")->{status}, 404, "the API serves $p");
}

sub check_api
{
	my ($text) = @_;
	return map { "endpoint $_ not in api.md as `$_`" }
	  grep { $text !~ /`(?:[A-Z]+ )?\Q$_\E(?:\?[^`]*)?`/ } @paths;
}

check_doc('api.md: endpoints', doc_text('api.md'), \&check_api,
	$paths[-1], "`$paths[-1]");

# ---------------------------------------------------------------------
# 5. /metrics: every metric the running API exports appears in backticks in
# docs/monitoring.md.

my $metrics = $http->get("$api/metrics");
is($metrics->{status}, 200, '/metrics answers 200');
%seen = ();
my @metric_names = grep { !$seen{$_}++ } ($metrics->{content} // '') =~ /^# TYPE (\S+)/mg;
ok(@metric_names >= 3, '/metrics exports metrics: ' . scalar(@metric_names));

sub check_metrics
{
	my ($text) = @_;
	return map { "metric $_ not in monitoring.md as `$_`" }
	  grep { $text !~ /`\Q$_\E(?:\{[^`]*)?`/ } @metric_names;
}

check_doc('monitoring.md: metrics', doc_text('monitoring.md'),
	\&check_metrics, $metric_names[0], "`$metric_names[0]`");

# ---------------------------------------------------------------------
# 6. Messages: the errmsg of every ereport(ERROR | FATAL | PANIC | WARNING)
# in the server's sources (src/common, src/backend and below) appears in
# docs/troubleshooting.md inside one code span or block, each %-conversion
# standing for any text (an example value or "...").  Messages that are only conversions ("pg_ha: %s") carry text
# made elsewhere and are skipped.

my (@messages, %seen_msg);
for my $file (glob 'src/common/*.c src/backend/*.c src/backend/*/*.c')
{
	my $src = slurp_file($file);
	while ($src =~ /\bereport\s*\(\s*(ERROR|FATAL|PANIC|WARNING)\s*,(.*?)\)\s*\)\s*;/sg)
	{
		my ($level, $body) = ($1, $2);
		next unless $body =~ /\berrmsg\s*\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)/s;
		my $fmt = join '', $1 =~ /"((?:[^"\\]|\\.)*)"/g;
		$fmt =~ s/\\(.)/$1/g;
		my @fixed = grep { /\S/ } split /%[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z)?[a-zA-Z%]/, $fmt;
		my $letters = join '', @fixed;
		$letters =~ s/pg_ha: //;
		next if $letters !~ /[a-z]{3}.*[a-z]{3}/;
		push @messages, [ $level, $file, $fmt ] unless $seen_msg{$fmt}++;
	}
}
ok(@messages >= 10, 'ereport messages found in src/: ' . scalar(@messages));

sub message_regex
{
	my ($fmt) = @_;
	my @parts = split /(%[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z)?[a-zA-Z%])/, $fmt;
	my $re = '';
	for my $p (@parts)
	{
		# a value: anything but the end of the code span or line
		if ($p =~ /^%/) { $re .= $p eq '%%' ? '%' : '[^`\n]*?'; next; }
		my $q = quotemeta($p);
		$q =~ s/(\\\s)+/\\s+/g;
		$re .= $q;
	}
	return qr/$re/;
}

sub check_messages
{
	my ($text) = @_;
	# code spans and code blocks only, whitespace as in the source
	my @code;
	my $rest = $text;
	push @code, $1 while $rest =~ s/^```[^\n]*\n(.*?)^```//ms;
	push @code, $1 while $rest =~ /`([^`]+)`/g;
	my @problems;
	for my $m (@messages)
	{
		my ($level, $file, $fmt) = @$m;
		my $re = message_regex($fmt);
		push @problems, "$level in $file: \"$fmt\" not in troubleshooting.md"
		  unless grep { /$re/ } @code;
	}
	return @problems;
}

my $m0 = $messages[0][2];
my ($m0_piece) = sort { length($b) <=> length($a) }
  split /%[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z)?[a-zA-Z%]/, $m0;
check_doc('troubleshooting.md: messages', doc_text('troubleshooting.md'),
	\&check_messages, $m0, $m0_piece);

# ---------------------------------------------------------------------
# 7. Every document is reachable from docs/README.md, and docs/README.md
# from the top README.md; relative links between docs point at files that
# exist.

my $index = doc_text('README.md');
for my $md (map { s{^$docs/}{}r } glob "$docs/*.md")
{
	next if $md eq 'README.md';
	like($index, qr/\]\(\Q$md\E(?:#[^)]*)?\)/, "docs/README.md links to $md");
}
like(slurp_file('README.md'), qr/\]\(docs\/README\.md\)/, 'README.md links to docs/README.md');
my @broken;
for my $md (glob "$docs/*.md")
{
	my $t = slurp_file($md);
	for my $target ($t =~ /\]\(([^)#\s]+)(?:#[^)]*)?\)/g)
	{
		next if $target =~ m{^[a-z]+:};
		push @broken, "$md -> $target" unless -e "$docs/$target";
	}
}
is_deeply(\@broken, [], 'relative links in docs/ point at existing files');

$node->stop;
done_testing();
