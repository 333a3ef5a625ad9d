"""How many requests per second the five simulators serve together (C2: they must never
be the bottleneck of a benchmark). Run by hand:

    .venv/bin/python bench/simulators.py [--seconds 10] [--clients 4]

The simulators run in their own process (manage.py run_simulators, as in the demo);
client processes hammer one cheap API read per platform over keep-alive connections.
Prints one line per figure: `name: value unit`.
"""

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
# One cheap authenticated-or-public read per platform, all served by every simulator.
PATH = "/_sim/health"


def _free_base() -> int:
    for base in range(18100, 19000, 10):
        try:
            sockets = [socket.create_server(("127.0.0.1", base + i)) for i in range(5)]
        except OSError:
            continue
        for s in sockets:
            s.close()
        return base
    raise SystemExit("no five free ports")


def _client(urls, seconds, counts, index):
    session = requests.Session()
    done, deadline, n = 0, time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        session.get(urls[n % len(urls)] + PATH, timeout=5)
        n += 1
        done += 1
    counts[index] = done


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    options = parser.parse_args()
    base = _free_base()
    env = dict(os.environ, SMC_DB_ROLE="owner")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "run_simulators", "--base-port", str(base)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    urls = [f"http://127.0.0.1:{base + i}" for i in range(5)]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if all(requests.get(u + PATH, timeout=1).ok for u in urls):
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("simulators did not start")
            time.sleep(0.1)
        counts = multiprocessing.Array("l", options.clients)
        workers = [
            multiprocessing.Process(target=_client, args=(urls, options.seconds, counts, i))
            for i in range(options.clients)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        total = sum(counts)
        print(f"simulator_requests: {total} requests")
        print(f"simulator_rate: {total / options.seconds:.0f} requests/s")
        print(f"simulator_clients: {options.clients} processes")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
