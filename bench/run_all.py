"""`make bench`: every benchmark in turn, each printing its own figures."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    "bench.forms_bench",
    "bench.submit_bench",
    "bench.jpki_bench",
    "bench.crl_bench",
    "bench.payments_bench",
    "bench.kpi_bench",
]


def main() -> None:
    failed = []
    for module in BENCHMARKS:
        print(f"\n##### {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module], check=False).returncode != 0:
            failed.append(module)
    if failed:
        sys.exit(f"benchmarks that failed to run: {', '.join(failed)}")


if __name__ == "__main__":
    main()
