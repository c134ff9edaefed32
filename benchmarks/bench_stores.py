"""Serial vs parallel transfer of 200 x 1 MB objects to an S3-compatible server on loopback.

Run: ``python benchmarks/bench_stores.py [--subprocess] [--count 200] [--size-mb 1]``.
The server is moto's standalone S3 server on 127.0.0.1: in this process (a thread, as the tests
use it) or, with ``--subprocess``, in its own process so that it does not share our GIL.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

from labjoin.stores import Store, StoreSpec

KEY, SECRET = "bench_key", "bench_secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"moto server did not start on port {port}")


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subprocess", action="store_true", help="run the S3 server in its own process")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()

    import boto3

    proc = server = None
    if args.subprocess:
        port = _free_port()
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(port)
        endpoint = f"127.0.0.1:{port}"
    else:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"{host}:{port}"
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=f"http://{endpoint}", region_name="us-east-1",
                     aws_access_key_id=KEY, aws_secret_access_key=SECRET).create_bucket(Bucket=bucket)
        size = int(args.size_mb * 2**20)
        blobs = [os.urandom(size) for _ in range(args.count)]
        spec = {"protocol": "s3", "endpoint": endpoint, "bucket": bucket, "location": "bench",
                "access_key": KEY, "secret_key": SECRET}
        serial = Store(StoreSpec.from_dict("bench", spec), max_workers=1)
        parallel = Store(StoreSpec.from_dict("bench", spec), max_workers=args.workers)
        mb = args.count * size / 2**20
        results = {}
        for label, store, schema in (("serial", serial, "s"), ("parallel", parallel, "p")):
            t_put = timed(lambda store=store, schema=schema: store.put_blobs(schema, blobs))
            ids = store.put_blobs(schema, blobs)  # all present now: measures the dedup check only
            t_get = timed(lambda store=store, schema=schema, ids=ids: store.get_blobs(schema, ids))
            results[label] = (t_put, t_get)
            print(f"{label:8s} ({store.max_workers:2d} threads): put {t_put:6.2f} s ({mb / t_put:6.1f} MB/s), "
                  f"get+verify {t_get:6.2f} s ({mb / t_get:6.1f} MB/s)")
        print(f"speed-up: put {results['serial'][0] / results['parallel'][0]:.2f}x, "
              f"get {results['serial'][1] / results['parallel'][1]:.2f}x "
              f"({args.count} x {args.size_mb:g} MB, server {'subprocess' if proc else 'thread'})")
        with tempfile.TemporaryDirectory() as d:
            local = {"protocol": "file", "location": d}
            ls, lp = Store(StoreSpec.from_dict("l", local), max_workers=1), Store(StoreSpec.from_dict("l", local),
                                                                                 max_workers=args.workers)
            print(f"local dir: serial put {timed(lambda: ls.put_blobs('s', blobs)):.2f} s, "
                  f"parallel put {timed(lambda: lp.put_blobs('p', blobs)):.2f} s")
    finally:
        if server is not None:
            server.stop()
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
