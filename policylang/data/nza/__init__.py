"""NZa reference code tables shipped with policylang (sources and columns: README.md here).

The tables are plain UTF-8 CSV files inside the package, so the project works without the team's
shared data folder. Codes are text: read them as `str`, never as numbers (leading zeros matter).
"""

from __future__ import annotations

import pathlib
from importlib.resources import files

__all__ = ["REFERENCE_TABLES", "reference_table_path"]

REFERENCE_TABLES: dict[str, str] = {
    "zorgproducten_2025": "zorgproducten_2025.csv",
    "specialismen": "specialismen.csv",
    "zorgtypes": "zorgtypes.csv",
    "zorgactiviteiten": "zorgactiviteiten.csv",
}


def reference_table_path(name: str) -> pathlib.Path:
    """The file system path of the reference table `name` (one of `REFERENCE_TABLES`).

    Raises KeyError, listing the known names, for an unknown name.
    """
    try:
        filename = REFERENCE_TABLES[name]
    except KeyError:
        known = ", ".join(sorted(REFERENCE_TABLES))
        raise KeyError(f"unknown reference table `{name}`; known tables: {known}") from None
    resource = files(__name__) / filename
    if not isinstance(resource, pathlib.Path):
        # Only when policylang itself is imported from a zip archive, which we do not support.
        raise RuntimeError(f"reference table `{name}` is not a file on disk: {resource}")
    return resource
