"""Moved to the ground floor: import from `p2pdist.fs`. This alias keeps older imports working
until every branch has moved."""

from ..fs import (  # noqa: F401
    COPY_CHUNK,
    TMP_PREFIX,
    allocated,
    atomic_symlink,
    atomic_write,
    free_bytes,
    fsync_dir,
    human_size,
    place,
    remove_tree,
    same_device,
    storage_error,
    tmp_name,
    translated,
    unlink_counting,
)
