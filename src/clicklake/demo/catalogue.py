"""The demo shop's catalogue at any size, with the same planted co-purchase structure.

The demo shop (`world.SHOP_ITEMS`) has 19 products, each with companions that shoppers open
next (`world.COMPANIONS`). A bigger shop (for the recommendation bench: with 19 products,
popularity's top 10 is half the shop) repeats that catalogue in product lines: line 0 is the
demo shop itself, line n > 0 has the same products as new models (`sku-1001-n`, "Ridgeline 2
tent, line n+1") whose companions are the same products of line n. A last, partial line keeps
the companions that exist in it and takes the others from line 0. `Catalogue.sized(19)` (the
default) is exactly the demo shop.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

from clicklake.demo import world
from clicklake.demo.world import Item

DEFAULT_SIZE: Final = len(world.SHOP_ITEMS)


@dataclass(frozen=True)
class Catalogue:
    """A shop's products, and what goes with what (sku -> companion skus)."""

    items: tuple[Item, ...]
    companions: dict[str, tuple[str, ...]]

    @classmethod
    def sized(cls, size: int = DEFAULT_SIZE) -> Catalogue:
        """A catalogue of `size` products (at least the demo shop's); DEFAULT_SIZE gives the demo shop itself."""
        if size < DEFAULT_SIZE:
            raise ValueError(f"the demo shop has {DEFAULT_SIZE} products, a bigger one more; got {size}")
        base = world.SHOP_ITEMS
        if size == len(base):
            return cls(base, dict(world.COMPANIONS))
        position = {item.sku: n for n, item in enumerate(base)}

        def sku(n: int, line: int) -> str:
            return base[n].sku if line == 0 else f"{base[n].sku}-{line}"

        items = []
        companions = {}
        for j in range(size):
            line, n = divmod(j, len(base))
            item = base[n]
            if line:
                item = dataclasses.replace(item, sku=sku(n, line), name=f"{item.name}, line {line + 1}")
            items.append(item)
            picks = []
            for other in world.COMPANIONS.get(base[n].sku, ()):
                m = position[other]
                own = line * len(base) + m < size  # the companion exists in this line
                picks.append(sku(m, line if own else 0))
            companions[item.sku] = tuple(picks)
        return cls(tuple(items), companions)
