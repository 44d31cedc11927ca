"""The API's check of a run's pinned document paths against the configured documents folders.

The model (domain/source_policy.py) already refuses what is wrong in any deployment (a `..`,
a scheme that is not http or https); only here are the folders known, so a path outside all of
them is refused before the run starts, with a 422 that names the folders.
"""

from __future__ import annotations

from pathlib import Path

from api.errors import ApiError
from domain.run import RunOptions
from providers.pinned import locate
from settings import Settings


def check_pinned_paths(options: RunOptions, settings: Settings) -> None:
    """Raise a 422 `pinned_path_outside_folders` for the first pinned path outside them all."""
    policy = options.source_policy
    if policy is None:
        return
    for entry in policy.pinned_paths:
        if locate(entry, settings.docs_dirs) is None:
            names = sorted({Path(folder).name for folder in settings.docs_dirs})
            raise ApiError(
                422,
                "pinned_path_outside_folders",
                f"pinned source {entry!r} is not inside a configured documents folder "
                f"({', '.join(names) or 'none'}); pin a path relative to one of them",
                {"pinned": entry, "folders": names},
            )
