"""LSTM training throughput, jkeras vs Keras 3 (JAX) vs hand-written JAX, printed as ratios.

`python scripts/bench_rnn.py [--quick]` runs `bench.py`'s `lstm` workload (LSTM(64) over
50x32 sequences, batch 64) in interleaved processes.
"""
import os
import subprocess
import sys

if __name__ == "__main__":
    bench = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.py")
    sys.exit(subprocess.call([sys.executable, bench, "--workloads", "lstm", *sys.argv[1:]]))
