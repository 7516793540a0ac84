#!/bin/bash
# The side-by-side sitting of DESIGN.md (its output: sitting2.log). Needs polars and pyarrow in the
# venv (pip install polars pyarrow) and the books ad.jsonl and ad4.jsonl here (DESIGN.md, section 1).
cd "$(dirname "$0")"
VENV=${VENV:-../../.venv}
PC="$VENV/bin/policyconf evaluate --products ../../products --format jsonl"
echo "uptime before: $(uptime)"
for f in ad.jsonl ad.jsonl ad4.jsonl; do
  n=$(wc -l < $f)
  taskset -c 0 /usr/bin/time -o t.tmp -f "$f n=$n row-path jobs=1 (taskset 1 core) wall=%e user=%U sys=%S" $PC --jobs 1 $f > r1_$f 2>/dev/null; cat t.tmp
  /usr/bin/time -o t.tmp -f "$f n=$n row-path jobs=2 wall=%e user=%U sys=%S" $PC --jobs 2 $f > r2_$f 2>/dev/null; cat t.tmp
  POLARS_MAX_THREADS=1 taskset -c 0 /usr/bin/time -o t.tmp -f "$f n=$n columnar 1 core wall=%e user=%U sys=%S" $VENV/bin/python -c "import pyarrow; pyarrow.set_cpu_count(1); import sys; sys.argv=['p','$f','k1_$f']; exec(open('proto.py').read())"; cat t.tmp
  /usr/bin/time -o t.tmp -f "$f n=$n columnar 2 procs wall=%e user=%U sys=%S" $VENV/bin/python par.py $f k2_$f 2; cat t.tmp
  for o in r2_$f k1_$f k2_$f; do cmp -s r1_$f $o && echo "$o identical to r1_$f" || echo "$o DIFFERS from r1_$f"; done
  echo "uptime: $(uptime)"
done
rm -f t.tmp
