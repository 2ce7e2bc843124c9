"""Size limits of the manifest format, all checked before or while decoding (see FORMAT.md)."""

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024 + 8 * 1024
"""An envelope: the body plus at most 32 signatures and framing."""
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_TORRENT_BYTES = 12 * 1024 * 1024
"""A 40 GB hybrid torrent with 4 MiB pieces is ~0.5 MiB; 12 MiB leaves room for 1 TB."""
MAX_FILES = 10_000
MAX_PATH_CHARS = 1024
MAX_SEGMENT_BYTES = 255
"""File systems (ext4, FAT, exFAT) cap one name at 255 bytes/units."""
MAX_PATH_DEPTH = 16
MAX_TITLE = 256
MAX_THEMES = 8
MAX_THEME = 128
MAX_SEEDERS = 32
MAX_URL = 256
MAX_FILE_SIZE = 2**44
"""16 TiB: far beyond any one film, small enough that sums cannot overflow anything."""
MAX_DURATION_S = 7 * 24 * 3600
