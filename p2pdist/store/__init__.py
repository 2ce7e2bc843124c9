"""The box's on-disk store: content-addressed objects, releases laid out for the torrent, and the
atomically switched active release the media player serves.

Pure planning (`Policy`, `plan_release`, `plan_gc`) decides; `Store` carries it out on disk.
"""

from ._gc import GcReport
from ._plan import ReleasePlan, plan_gc, plan_release, releases_to_keep
from ._policy import Policy
from ._store import DEFAULT_RESERVE, Store
from ._verify import Progress

__all__ = [
    "DEFAULT_RESERVE",
    "GcReport",
    "Policy",
    "Progress",
    "ReleasePlan",
    "Store",
    "plan_gc",
    "plan_release",
    "releases_to_keep",
]
