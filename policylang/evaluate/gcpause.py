"""Pause Python's cyclic garbage collector while a claim set is evaluated.

Evaluating a claim set makes millions of container objects (typed rows, their value dicts,
decisions, reasons) and no reference cycles among them. CPython's cyclic collector runs after
every few hundred new containers and now and then walks every object alive, so on a large claim
set it spent about as much time as the evaluation itself (docs/performance.md). Reference
counting still frees every object as usual; only the search for cycles waits until the claim set
is done. The collector is process-wide: a program that embeds policylang sees it paused while a
`check` or `settle` runs, and as it was afterwards, with the objects alive then counted as old
ones (collected in the next full collection).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    if not gc.isenabled():  # paused already (an outer call, or the embedding program)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        # Objects made while paused still count as young: the first allocation after enable()
        # would start a collection that walks every one of them (a second per million claims).
        # freeze() + unfreeze() moves every tracked object to the oldest generation and resets
        # the young count, so that walk waits for the next full collection, as for any
        # long-lived data. Not when the program froze objects itself (a server before fork):
        # unfreeze() would thaw those too.
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()
