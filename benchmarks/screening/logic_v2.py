"""Score name pairs with OpenSanctions' logic-v2 (nomenklatura), for the benchmark.

Runs under a Python that has ``nomenklatura`` installed (a throwaway venv: it
is not a project dependency). Reads JSON ``[[a, b], ...]`` on stdin and writes
``{"scores": [...], "seconds": ...}`` on stdout. Both names are put on
``LegalEntity`` records (the schema yente uses when the kind is unknown), so
the name part of logic-v2 decides.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def main() -> None:
    # Installed only in the throwaway venv that runs this script.
    from followthemoney import model  # type: ignore[import-not-found]
    from nomenklatura.matching import get_algorithm  # type: ignore[import-not-found]
    from nomenklatura.matching.types import ScoringConfig  # type: ignore[import-not-found]

    algorithm: Any = get_algorithm("logic-v2")
    config = ScoringConfig.defaults()
    pairs = json.load(sys.stdin)

    def entity(name: str, n: int) -> Any:
        proxy = model.make_entity("LegalEntity")
        proxy.id = f"e{n}"
        proxy.add("name", name)
        return proxy

    entities = [(entity(a, 2 * i), entity(b, 2 * i + 1)) for i, (a, b) in enumerate(pairs)]
    if entities:  # the first call loads name data: keep it out of the timing
        algorithm.compare(*entities[0], config)
    start = time.perf_counter()
    scores = [algorithm.compare(q, r, config).score for q, r in entities]
    seconds = time.perf_counter() - start
    json.dump({"scores": scores, "seconds": seconds}, sys.stdout)


if __name__ == "__main__":
    main()
