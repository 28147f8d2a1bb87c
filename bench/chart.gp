# chart.gp — requests/s against keep-alive clients, one line per server (scripts/bench.sh passes the variables).
#   gnuplot -e "datafile='plot.dat'; outfile='latest.png'; subtitle='...'" bench/chart.gp
set terminal pngcairo size 960,600 font ",11" noenhanced
set output outfile
set title "pipehost benchmark: keep-alive echo, 64 B requests\n".subtitle
set xlabel "clients"
set ylabel "requests/s (median over rounds)"
set logscale x 2
set xtics ("1" 1, "8" 8, "32" 32, "64" 64, "200" 200)
set xrange [0.8:260]
set yrange [0:*]
set grid
set key inside top right box opaque
set offsets 0, 0, graph 0.3, 0  # headroom above the data for the key
set datafile missing "NaN"
plot datafile using 1:2 with points pt 7 ps 1.6 title "raw-pipe floor", \
     datafile using 1:3 with linespoints lw 2 pt 5 title "single instance (where it held every client)", \
     datafile using 1:4 with linespoints lw 2 pt 9 title "thread per client", \
     datafile using 1:5 with linespoints lw 2 pt 11 title "pipehost"
