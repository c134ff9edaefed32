"""Measure blob pack/unpack speed: a 100 MB float64 array and 10,000 small dicts.

Run: ``python benchmarks/bench_blob.py [--datajoint]``. With ``--datajoint`` (and DataJoint
importable) the same workloads run through ``datajoint.blob`` for comparison.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from labjoin.heading import blob


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datajoint", action="store_true", help="also time datajoint.blob")
    args = parser.parse_args()
    impls: list[tuple[str, Callable, Callable]] = [("labjoin", blob.pack, blob.unpack)]
    if args.datajoint:
        from datajoint import blob as djblob

        impls.append(("datajoint", djblob.pack, djblob.unpack))

    n = 100 * 2**20 // 8
    flat = np.arange(n, dtype=np.float64) * 0.5
    arrays = {
        "1-D": flat,
        "2-D C (12800,1024)": flat.reshape(12800, 1024),
        "2-D F (12800,1024)": np.asfortranarray(flat.reshape(12800, 1024)),
        "2-D C (819200,16)": flat.reshape(-1, 16),
    }
    memcpy = best_of(lambda: flat.copy())
    print(f"memcpy of 100 MiB (ndarray.copy): {memcpy * 1e3:.1f} ms")
    dicts = [{"trial": i, "rt": i * 0.01, "choice": "CW" if i % 2 else "CCW", "ok": True} for i in range(10_000)]
    for name, pack, unpack in impls:
        run(name, pack, unpack, arrays, dicts)


def run(name: str, pack: Callable, unpack: Callable, arrays: dict[str, np.ndarray], dicts: list[dict]) -> None:
    """Time one implementation on every workload and print the figures."""
    for label, arr in arrays.items():
        repeat = 5 if name == "labjoin" else 1
        t_pack = best_of(lambda arr=arr: pack(arr), repeat)
        data = pack(arr)
        t_unpack = best_of(lambda data=data: unpack(data), repeat)
        print(f"{name:9s} 100 MiB {label:20s} pack {t_pack * 1e3:8.1f} ms ({arr.nbytes / t_pack / 1e9:5.2f} GB/s)"
              f"  unpack {t_unpack * 1e3:8.2f} ms")
    t_pack = best_of(lambda: [pack(d) for d in dicts], 3)
    packed = [pack(d) for d in dicts]
    t_unpack = best_of(lambda: [unpack(b) for b in packed], 3)
    print(f"{name:9s} 10,000 small dicts, one blob each: pack {t_pack * 1e3:.1f} ms "
          f"({t_pack / len(dicts) * 1e6:.1f} us each), unpack {t_unpack * 1e3:.1f} ms "
          f"({t_unpack / len(dicts) * 1e6:.1f} us each)")
    t_pack = best_of(lambda: pack(dicts), 3)
    one = pack(dicts)
    t_unpack = best_of(lambda: unpack(one), 3)
    print(f"{name:9s} list of 10,000 small dicts as one blob ({len(one)} B): pack {t_pack * 1e3:.1f} ms, "
          f"unpack {t_unpack * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
