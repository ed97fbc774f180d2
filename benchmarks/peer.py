"""The peer of benchmarks/refresh.py: what TWiR's own script does, one `requests.get` after another, parsing nothing.

Its own process, importing nothing of ours, so that its CPU and memory are the peer's alone. Prints JSON:
`python benchmarks/peer.py URLS_JSON_FILE`, or with `--ours CACHE_FILE` the same fetches through our HTTP layer
(`sources.http.Http`, every answer cached in CACHE_FILE) and nothing else of the project.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def with_requests(urls: Sequence[str]) -> int:
    import requests

    received = 0
    for url in urls:
        reply = requests.get(url, timeout=30)
        reply.raise_for_status()
        received += len(reply.content)
    return received


def with_ours(urls: Sequence[str], cache: Path) -> int:
    from sources.http import Http, HttpSettings

    with Http(HttpSettings(cache=cache)) as http:
        return sum(len(http.get(url).content) for url in urls)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("urls", type=Path, help="a JSON file with the list of URLs to fetch")
    parser.add_argument("--ours", type=Path, metavar="CACHE_FILE", help="fetch through sources.http.Http instead")
    args = parser.parse_args(argv)
    urls = json.loads(args.urls.read_text(encoding="utf-8"))
    began = time.perf_counter()
    received = with_ours(urls, args.ours) if args.ours else with_requests(urls)
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # ru_maxrss is KiB on Linux, where this benchmark runs.
    figures = {"seconds": seconds, "received": received, "cpu": usage.ru_utime + usage.ru_stime}
    print(json.dumps({**figures, "peak_kib": usage.ru_maxrss}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
