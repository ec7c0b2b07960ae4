# Timeline of bench/compare.pl: acknowledged writes per 100 ms around each
# fault (the run with the median outage), pg_ha against Patroni.
#   gnuplot -e "dir='RESULTS'; profile='fast'; out='x.png'" bench/timeline.gp
# reads RESULTS/timeline_<tool>_<profile>_<scenario>.dat (compare.pl).

fexists(f) = int(system("[ -f '" . f . "' ] && echo 1 || echo 0"))
dat(tool, s) = sprintf("%s/timeline_%s_%s_%s.dat", dir, tool, profile, s)
# the right end of a panel: the longer of the two runs' data
last_t(f) = fexists(f) ? real(system("tail -n 1 '" . f . "' | cut -d' ' -f1")) : 0
xmax(s) = (last_t(dat('pg_ha', s)) > last_t(dat('patroni', s))) ? last_t(dat('pg_ha', s)) : last_t(dat('patroni', s))

set terminal pngcairo size 1100,1250 font ",10" noenhanced
set output out
set multiplot layout 4,1 title sprintf("Acknowledged writes per 100 ms (each writer: one INSERT every 20 ms), %s profiles; fault at t = 0; run with the median outage", profile)
set xlabel "seconds from the fault"
set ylabel "writes / 100 ms"
set yrange [0:8]
set ytics 0,1,6
set grid
set key top center horizontal
set style line 1 lc rgb "#1f77b4" lw 2
set style line 2 lc rgb "#1f77b4" lw 1 dt 2
set style line 3 lc rgb "#d62728" lw 2
set style line 4 lc rgb "#d62728" lw 1 dt 2

scenarios = "kill9 kill9ha stop switchover"
array titles[4]
titles[1] = "kill -9 of the leader's postmaster"
titles[2] = "kill -9 of the leader's patroni daemon (Patroni only: pg_ha has no daemon apart from postgres)"
titles[3] = "graceful stop of the leader (pg_ha: pg_ctl stop -m fast; Patroni: SIGTERM to the daemon)"
titles[4] = "switchover (pg_ha_ctl switchover --force; patronictl switchover --force)"

# solid: the writer through HAProxy; dashed: the direct multi-host writer
array files[4]
array names[4]
names[1] = 'pg_ha, through HAProxy'
names[2] = 'pg_ha, direct multi-host'
names[3] = 'Patroni, through HAProxy'
names[4] = 'Patroni, direct multi-host'
do for [i=1:4] {
	s = word(scenarios, i)
	set title titles[i]
	set xrange [-1:xmax(s)]
	files[1] = dat('pg_ha', s)
	files[2] = dat('pg_ha', s . '_direct')
	files[3] = dat('patroni', s)
	files[4] = dat('patroni', s . '_direct')
	cmd = ''
	do for [k=1:4] {
		if (fexists(files[k])) {
			cmd = cmd . (cmd eq '' ? 'plot ' : ', ') . sprintf("'%s' using 1:2 with steps ls %d title '%s'", files[k], k, names[k])
		}
	}
	if (cmd eq '') {
		set label 1 "no data" at graph 0.5, 0.5 center
		plot NaN notitle
		unset label 1
	} else {
		eval cmd
	}
}
unset multiplot
