"""What a release is: the signed manifest, its encoding, limits, path rules, verification and
catalog. Pure: no network, no libtorrent, no files (see FORMAT.md for the byte format)."""

from ._catalog import Catalog, ThemeGroup, catalog_of
from ._errors import BadPathError, PathCollisionError, TooManyFilesError, TorrentMismatchError
from ._limits import MAX_BODY_BYTES, MAX_ENVELOPE_BYTES, MAX_FILES
from ._model import (
    MANIFEST_FORMAT,
    FileEntry,
    Kind,
    Manifest,
    SeederEndpoint,
    make_files,
    torrent_name_for,
)
from ._paths import check_path, check_paths
from ._torrent_check import check_torrent_matches
from ._verify import VerifiedRelease, decode_envelope, verify_manifest, verify_manifest_with

__all__ = [
    "MANIFEST_FORMAT",
    "MAX_BODY_BYTES",
    "MAX_ENVELOPE_BYTES",
    "MAX_FILES",
    "BadPathError",
    "Catalog",
    "FileEntry",
    "Kind",
    "Manifest",
    "PathCollisionError",
    "SeederEndpoint",
    "ThemeGroup",
    "TooManyFilesError",
    "TorrentMismatchError",
    "VerifiedRelease",
    "catalog_of",
    "check_path",
    "check_paths",
    "check_torrent_matches",
    "decode_envelope",
    "make_files",
    "torrent_name_for",
    "verify_manifest",
    "verify_manifest_with",
]
