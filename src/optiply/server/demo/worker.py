"""``python -m optiply.server.demo.worker FD``: the process that makes a shop's sales
(``sales.SalesProcess`` starts it), the job pickled on its stdin, the rows sent to pipe ``FD``.
"""

from __future__ import annotations

import gc
import pickle
import sys
from multiprocessing.connection import Connection

from optiply.server.demo.sales import produce


def main() -> None:
    """Read the job, make the rows, send them."""
    gc.disable()  # as ``optiply demo load`` does: millions of short-lived rows, no cycles
    job = pickle.load(sys.stdin.buffer)  # noqa: S301 - written by the loading process
    produce(Connection(int(sys.argv[1]), readable=False), job)


if __name__ == "__main__":
    main()
