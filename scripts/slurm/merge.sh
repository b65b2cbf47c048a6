#!/usr/bin/env bash
# Merge the CSV (and JSON) files of several `dtensor bench` runs - local
# sweeps from scripts/scaling.sh or cluster jobs from scripts/slurm/*.sbatch -
# into one CSV, one JSON, a table of ratios and PNG plots (gnuplot):
#
#   OUT/scaling.csv          every row of every run, the common metadata first
#   OUT/scaling.json         {"meta": common, "runs": [{"meta", "rows"}, ...]}
#   OUT/efficiency.csv       parallel efficiency per op, thread count, ranks
#   OUT/ratios.md            op, limit, ratio per rank count, target, ok/below
#   OUT/{strong,weak}_time.png, OUT/{strong,weak}_efficiency.png
#   OUT/ratio.png            every op's ratio to its limit, per rank count
#
# usage: scripts/slurm/merge.sh --out DIR RUN.csv [RUN.csv ...]
# (a RUN.json beside RUN.csv is merged too). Needs python3 and gnuplot.
set -euo pipefail

out=""
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) files+=("$1"); shift ;;
  esac
done
if [ -z "$out" ] || [ ${#files[@]} -eq 0 ]; then
  echo "usage: $0 --out DIR RUN.csv [RUN.csv ...]" >&2
  exit 2
fi
mkdir -p "$out"
for t in python3 gnuplot; do
  command -v "$t" >/dev/null || { echo "merge.sh: $t not found (Debian: apt-get install python3 gnuplot-nox)" >&2; exit 1; }
done

# ---- merge, efficiency, gnuplot data (python3) ------------------------------
python3 - "$out" "${files[@]}" <<'PY'
import csv, json, math, os, sys
out, files = sys.argv[1], sys.argv[2:]
runs, rows, header = [], [], None
for f in files:
    meta, body = {}, []
    with open(f) as fh:
        for line in fh:
            if line.startswith('# '):
                k, _, v = line[2:].rstrip('\n').partition(': ')
                meta[k] = v
            else:
                body.append(line)
    r = list(csv.DictReader(body))
    if header is None:
        header = body[0].strip().split(',')
    js = os.path.splitext(f)[0] + '.json'
    jrows = json.load(open(js))['rows'] if os.path.exists(js) else r
    runs.append({'meta': meta, 'rows': jrows, 'csv': os.path.basename(f)})
    rows += r
if not rows:
    sys.exit('merge.sh: no rows in ' + ' '.join(files))
# one value per key: the runs' common value, else every distinct one
common = {}
for x in runs:
    for k, v in x['meta'].items():
        vals = common.setdefault(k, [])
        if v not in vals:
            vals.append(v)
common = {k: v[0] if len(v) == 1 else 'per run: ' + ' | '.join(v) for k, v in common.items()}
with open(os.path.join(out, 'scaling.csv'), 'w') as fh:
    fh.write('# merged from %d runs: %s\n' % (len(runs), ' '.join(x['csv'] for x in runs)))
    for k, v in common.items():
        fh.write('# %s: %s\n' % (k, v))
    w = csv.DictWriter(fh, fieldnames=header, lineterminator='\n')
    w.writeheader()
    w.writerows(rows)
json.dump({'meta': common, 'runs': runs}, open(os.path.join(out, 'scaling.json'), 'w'), indent=1)

def num(x):
    try:
        v = float(x)
        return v if math.isfinite(v) else None
    except ValueError:
        return None

# efficiency: per (scaling, threads, family, op, dtype) against its fewest ranks
groups = {}
for r in rows:
    groups.setdefault((r['scaling'], int(r['threads']), r['family'], r['op'], r['dtype']), []).append(r)
eff = []
for (sc, th, fam, op, dt), g in sorted(groups.items()):
    g.sort(key=lambda r: int(r['ranks']))
    b = g[0]
    tb, rb = num(b['median_s']), int(b['ranks'])
    for r in g:
        t, n = num(r['median_s']), int(r['ranks'])
        if not t or not tb:
            e = None
        elif sc == 'strong':
            e = tb * rb / (t * n)
        else:
            e = tb / t
        eff.append({'scaling': sc, 'threads': th, 'family': fam, 'op': op, 'dtype': dt,
                    'ranks': n, 'median_s': r['median_s'], 'efficiency': '' if e is None else '%.4f' % e})
with open(os.path.join(out, 'efficiency.csv'), 'w') as fh:
    w = csv.DictWriter(fh, fieldnames=list(eff[0].keys()), lineterminator='\n')
    w.writeheader()
    w.writerows(eff)

# the plotted ops: one line each (the first thread count of each mode)
plotted = ['zeros/float32', 'ones/float32', 'rand/float32', 'randn/float64', 'clone/float32',
           'copy_ split0->split1/float32', 'deepcopy/float32', 'sum/float64',
           'add fwd/float32', 'matmul/float32', 'save/float32', 'load.warm/float32']
ranks_all = sorted({int(r['ranks']) for r in rows})
for sc in ('strong', 'weak'):
    ths = sorted({e['threads'] for e in eff if e['scaling'] == sc})
    lines = []
    for key in plotted:
        op, dt = key.split('/')
        pts = [e for e in eff if e['scaling'] == sc and ths and e['threads'] == ths[0]
               and e['op'] == op and e['dtype'] == dt]
        if pts:
            lines.append((key, pts))
    with open(os.path.join(out, sc + '.dat'), 'w') as fh:
        for key, pts in lines:
            fh.write('"%s"\n' % key.replace('/', ' '))
            for p in pts:
                fh.write('%d %s %s\n' % (p['ranks'], p['median_s'] or 'NaN', p['efficiency'] or 'NaN'))
            fh.write('\n\n')
    open(os.path.join(out, sc + '.n'), 'w').write('%d %d\n' % (len(lines), ths[0] if ths else 0))

# ratios: weak runs (else strong) at their first thread count, every op with a ratio
sc = 'weak' if any(r['scaling'] == 'weak' for r in rows) else 'strong'
th = min(int(r['threads']) for r in rows if r['scaling'] == sc)
sel = [r for r in rows if r['scaling'] == sc and int(r['threads']) == th and num(r['ratio']) is not None
       and not r['op'].endswith('.fresh') and 'n=1000' not in r['op']]
rk = sorted({int(r['ranks']) for r in sel})
ops = []
for r in sel:
    k = (r['op'], r['dtype'])
    if k not in ops:
        ops.append(k)
get = {(r['op'], r['dtype'], int(r['ranks'])): r for r in sel}
with open(os.path.join(out, 'ratio.dat'), 'w') as fh:
    fh.write('op ' + ' '.join('%d_ranks' % n for n in rk) + '\n')
    for op, dt in ops:
        vals = [get.get((op, dt, n), {}).get('ratio') or 'NaN' for n in rk]
        fh.write('"%s %s" %s\n' % (op, dt, ' '.join(vals)))
open(os.path.join(out, 'ratio.n'), 'w').write('%d\n' % len(rk))
with open(os.path.join(out, 'ratios.md'), 'w') as fh:
    fh.write('%s scaling, %d thread(s) per rank, bytes per rank %s\n\n' % (sc, th, sorted({r['bytes_rank'] for r in sel if r['family'] == 'factories'})))
    fh.write('| op | dtype | limit | ' + ' | '.join('ratio @%d' % n for n in rk) + ' | target | status |\n')
    fh.write('|---|---|---|' + '---|' * len(rk) + '---|---|\n')
    for op, dt in ops:
        rs = [get.get((op, dt, n)) for n in rk]
        last = [x for x in rs if x][-1]
        st = ' / '.join(x['status'] if x else '-' for x in rs)
        fh.write('| %s | %s | %s | %s | %s | %s |\n' % (
            op, dt, last['limit'] or '-', ' | '.join('%.2f' % num(x['ratio']) if x else '-' for x in rs),
            ('>= ' + last['target']) if last['target'] else '-', st))
    we = [e for e in eff if e['scaling'] == 'weak' and e['threads'] == th and e['ranks'] == 2
          and (e['family'] == 'factories' and not e['op'].endswith('.fresh') or e['op'] in ('clone', 'sum'))]
    if we:
        fh.write('\nweak-scaling efficiency 1 -> 2 ranks (target >= 0.85)\n\n| op | dtype | efficiency | status |\n|---|---|---|---|\n')
        for e in we:
            v = num(e['efficiency'])
            fh.write('| %s | %s | %s | %s |\n' % (e['op'], e['dtype'], '%.2f' % v if v is not None else '-',
                     '-' if v is None else ('ok' if v >= 0.85 else 'below')))
PY

# ---- plots (gnuplot) ----------------------------------------------------------
term="pngcairo size 1000,640 noenhanced font ',10'"
gnuplot -e "set terminal png" >/dev/null 2>&1 || { echo "merge.sh: gnuplot cannot write PNG" >&2; exit 1; }
gnuplot -e "set terminal pngcairo" >/dev/null 2>&1 || term="png size 1000,640 noenhanced"
for sc in strong weak; do
  read -r n th <"$out/$sc.n"
  [ "$n" -gt 0 ] || continue
  gnuplot <<GP
set terminal $term
set key outside right top
set grid
set xlabel 'ranks'
set logscale x 2
set format x '%g'
set offsets graph 0.05, graph 0.05, 0, 0
set output '$out/${sc}_time.png'
set title '$sc scaling: median time of the slowest rank ($th thread(s) per rank)'
set ylabel 'seconds'
set logscale y
plot for [i=0:$((n - 1))] '$out/$sc.dat' index i using 1:2 with linespoints title columnheader(1)
unset logscale y
set output '$out/${sc}_efficiency.png'
set title '$sc scaling: parallel efficiency ($th thread(s) per rank; 1 = ideal)'
set ylabel 'efficiency'
set yrange [0:*]
plot 1 with lines lw 3 dt 2 lc rgb 'black' title 'ideal', \
     for [i=0:$((n - 1))] '$out/$sc.dat' index i using 1:3 with linespoints title columnheader(1)
GP
done
read -r nr <"$out/ratio.n"
gnuplot <<GP
set terminal ${term/1000,640/1400,640}
set output '$out/ratio.png'
set title 'ratio to the limit measured in the same run (1 = at the limit)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -60 scale 0 font ',8'
set grid ytics
set yrange [0:*]
set key top right
plot for [c=2:$((nr + 1))] '$out/ratio.dat' using c:xtic(1) title columnheader(c), \
     1 with lines lw 2 dt 2 lc rgb 'black' title 'limit'
GP
rm -f "$out"/*.n
echo "merge.sh: $(ls "$out"/*.png | wc -l) plots, table $out/ratios.md, CSV $out/scaling.csv"
