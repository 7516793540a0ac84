"""Two worker processes over two byte ranges (cut at a line end), one core each; parts concatenated in order."""
import os, sys, time, json, subprocess
PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "proto.py")
path, out, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
size = os.path.getsize(path)
cuts = [0]
with open(path, "rb") as f:
    for j in range(1, jobs):
        f.seek(size * j // jobs); f.readline(); cuts.append(f.tell())
cuts.append(size)
firsts = [0]
with open(path, "rb") as f:
    for j in range(1, jobs):
        f.seek(cuts[j - 1]); firsts.append(firsts[-1] + f.read(cuts[j] - cuts[j - 1]).count(b"\n"))
procs = []
for j in range(jobs):
    code = ("import pyarrow,sys,json; pyarrow.set_cpu_count(1); sys.argv=['p']; "
            f"exec(open({PROTO!r}).read().split('if __name__')[0]);"
            f"s=run({path!r},{out + '.part%d' % j!r},16,{cuts[j]},{cuts[j+1]},{firsts[j]}); print(json.dumps(s), file=sys.stderr)")
    procs.append(subprocess.Popen(["taskset", "-c", str(j % os.cpu_count()), sys.executable, "-c", code],
                                  env=dict(os.environ, POLARS_MAX_THREADS="1")))
for p in procs:
    p.wait()
with open(out, "wb") as fo:
    for j in range(jobs):
        with open(out + ".part%d" % j, "rb") as fi:
            while True:
                b = fi.read(1 << 24)
                if not b: break
                fo.write(b)
        os.remove(out + ".part%d" % j)
dt = time.perf_counter() - t0
n = sum(firsts[-1:]) 
print(json.dumps({"jobs": jobs, "seconds": round(dt, 3)}), file=sys.stderr)
