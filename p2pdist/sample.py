"""A sample bundle shaped like the "文化年货带回家" campaign, for demos, tests and benchmarks.

The real bundle (18 micro-courses in 4 themes, 180 minutes, a study handbook; 25 film listings in
5 themes, about 40 hours) cannot be shipped with the code, so this module writes a stand-in with
the campaign's real titles, themes and folder layout, running times that add up like the
source document's, and pseudo-random contents scaled to any total size. The contents are a pure
function of the seed and the file path (SHAKE-256, identical on every machine and Python version),
so two hosts that generate the same sample hold byte-identical files, and a "variant" re-seeds a
chosen number of films to model a release that changes only those.

Layout under the output folder::

    微课/<theme>/NN <title>.mp4     18 courses, NN = lesson number 01..18
    微课/学习手册.pdf                the handbook (a small valid PDF, ~1% of the size, 4 KiB..8 MiB)
    电影/<theme>/<title>.mp4        24 film files; 《过年好》 is listed under two themes but stored
                                    once, under its first theme, with both themes in the catalog
    catalog.toml                   the catalog (see `p2pdist.catalog_file`), written last
"""

from __future__ import annotations

import errno
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .catalog_file import Catalog, CatalogEntry, dump_catalog
from .errors import ConfigError, DiskFullError, StorageError
from .i18n import _

CATALOG_NAME = "catalog.toml"
HANDBOOK_PATH = "微课/学习手册.pdf"
MIN_TOTAL_SIZE = 64 * 1024
"""Below this the 42 videos would be a few hundred bytes each: useless even as a test."""
CHUNK = 4 * 1024 * 1024
"""Write size: large enough for full disk speed, small enough to keep memory flat at any size."""

_RELEASE_TITLE = "文化年货带回家 · 样例"
_COURSE_DIR = "微课"
_FILM_DIR = "电影"
_HANDBOOK_TITLE = "数字过年微课学习手册"
_HANDBOOK_MIN = 4 * 1024
_HANDBOOK_MAX = 8 * 1024 * 1024

# Themes and titles are the source document's. Course lengths (seconds) vary around 10 minutes
# and add up to exactly the announced 180 minutes.
_COURSES: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = (
    ("跨越时空拜新年", (
        ("微信文字和语音聊天", 9 * 60 + 35),
        ("如何在网上进行视频聊天", 10 * 60 + 50),
        ("微信发红包与抢红包", 11 * 60 + 20),
        ("如何制作电子贺卡", 10 * 60 + 5),
    )),
    ("记录美好时刻，共享团聚喜悦", (
        ("使用手机进行拍照和录像", 8 * 60 + 45),
        ("微信朋友圈", 10 * 60 + 30),
        ("微信发送图片视频", 9 * 60 + 10),
        ("微信群建立", 8 * 60 + 55),
        ("微信转发", 9 * 60 + 40),
    )),
    ("便捷回家路，欢乐春节游", (
        ("网上订火车票（12306网站）", 11 * 60 + 45),
        ("网上订机票", 10 * 60 + 15),
        ("网上订宾馆", 9 * 60 + 30),
        ("使用打车软件（滴滴等）", 10 * 60 + 30),
        ("网上查看旅游信息", 9 * 60 + 50),
    )),
    ("休闲娱乐，随时随地", (
        ("上网看电影、电视", 11 * 60 + 5),
        ("网上听音乐", 9 * 60 + 25),
        ("网上看直播", 10 * 60 + 10),
        ("网上买电影票", 8 * 60 + 40),
    )),
)

# Film lengths (minutes) are plausible feature lengths, not the films' real ones. Counted the way
# the document counts (25 listings, 《过年好》 twice) they make exactly 40 hours, 96 min on average;
# the 24 distinct files hold 38.4 hours.
_FILMS: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = (
    ("游子归乡，啼笑皆非的旅途故事", (
        ("港囧", 104), ("桂宝之爆笑闯宇宙", 86), ("一路向前", 90), ("横冲直撞好莱坞", 95),
        ("心花路放", 110),
    )),
    ("新春团聚，最暖人心是感情", (
        ("亲爱的", 112), ("有种你爱我", 88), ("坏姐姐之拆婚联盟", 91), ("过年好", 96),
        ("新娘大作战", 89),
    )),
    ("童年记忆，难忘放学后的动画片", (
        ("哆啦A梦：伴我同行", 95), ("昆虫总动员", 86), ("小羊肖恩", 85), ("麦兜我和我妈妈", 86),
        ("拯救大明星", 85),
    )),
    ("致那些年，奋斗在外的自己", (
        ("等风来", 106), ("热血男人帮", 90), ("老男孩之猛龙过江", 94), ("一座城池", 88),
        ("逆转胜", 96),
    )),
    ("峥嵘岁月，父母的青葱年华", (
        ("过年好", 96), ("百团大战", 100), ("智取威虎山", 116), ("触不可及", 98),
        ("黄金时代", 118),
    )),
)


@dataclass(frozen=True)
class SampleSummary:
    """What `write_sample` wrote.

    Attributes:
        root: the output folder (the content folder of a release).
        catalog: the catalog file inside it.
        files: number of content files (the catalog not counted).
        total_bytes: their total size; equals the requested size.
        per_kind: number of content files per catalog kind.
        changed: paths of the films re-seeded with the variant, sorted.
    """

    root: Path
    catalog: Path
    files: int
    total_bytes: int
    per_kind: dict[str, int]
    changed: tuple[str, ...]


_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*", re.IGNORECASE)
_UNITS = {"b": 1} | {
    f"{p}{s}": base**e
    for e, p in enumerate("kmgt", start=1)
    for s, base in (("b", 1000), ("ib", 1024))
}


def parse_size(text: str) -> int:
    """Parse a byte size as operators write it: "200MB", "1.5 GB", "64MiB", "123456".

    Units are case-insensitive; kB/MB/GB/TB are powers of 1000 and KiB/MiB/GiB/TiB powers of 1024,
    as disk vendors and `ls -h` respectively mean them. A bare "M" or "G" is refused because it
    means 1000² to some tools and 1024² to others.

    Args:
        text: the size.

    Returns:
        The size in bytes.

    Raises:
        ConfigError: the text is not a size, or is not a whole number of bytes.
    """
    m = _SIZE_RE.fullmatch(text)
    if m is None:
        raise ConfigError(
            _("{text!r} is not a size; write e.g. 200MB, 1.5GB or 64MiB (a number "
              "alone is bytes)").format(text=text)
        )
    value = Decimal(m.group(1)) * _UNITS[(m.group(2) or "b").lower()]
    if value != value.to_integral_value():
        raise ConfigError(_("{text!r} is not a whole number of bytes").format(text=text))
    return int(value)


@dataclass(frozen=True)
class _Planned:
    path: str
    entry: CatalogEntry


def _plan() -> list[_Planned]:
    """Every content file with its catalog entry, in catalog order (courses, handbook, films)."""
    planned: list[_Planned] = []
    lesson = 0
    for theme, lessons in _COURSES:
        for title, seconds in lessons:
            lesson += 1
            path = f"{_COURSE_DIR}/{theme}/{lesson:02d} {title}.mp4"
            planned.append(_Planned(path, CatalogEntry("course", (theme,), title, seconds)))
    course_themes = tuple(theme for theme, _ in _COURSES)
    planned.append(
        _Planned(HANDBOOK_PATH, CatalogEntry("handbook", course_themes, _HANDBOOK_TITLE, 0))
    )
    films: dict[str, _Planned] = {}
    for theme, listing in _FILMS:
        for title, minutes in listing:
            seen = films.get(title)
            if seen is None:
                path = f"{_FILM_DIR}/{theme}/{title}.mp4"
                films[title] = _Planned(path, CatalogEntry("film", (theme,), title, minutes * 60))
            else:  # listed again under another theme: the same file joins that collection too
                e = seen.entry
                films[title] = _Planned(
                    seen.path, CatalogEntry(e.kind, (*e.themes, theme), e.title, e.duration)
                )
    return planned + list(films.values())


def write_sample(
    out_dir: Path,
    total_size: int,
    *,
    seed: int = 0,
    change_films: int = 0,
    variant: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> SampleSummary:
    """Write the sample bundle and its catalog into `out_dir`.

    Sizes are proportional to running time, so films dominate as in the real bundle. The same
    arguments always give byte-identical files; `change_films=N` with a `variant` re-seeds the
    first N film files (by path) and leaves every other byte as with `change_films=0`.

    Args:
        out_dir: the folder to fill; created if missing. It must be empty or hold only files of an
            earlier sample (which are overwritten), so that a typo cannot bury real content.
        total_size: total bytes of the content files (the catalog not counted), at least
            `MIN_TOTAL_SIZE`; see `parse_size`.
        seed: selects the contents.
        change_films: how many film files (0..24) get the variant's contents.
        variant: which alternative contents the changed films get (1 or more).
        progress: called with (bytes written, total bytes) after each chunk.

    Returns:
        What was written.

    Raises:
        ConfigError: a bad argument, or `out_dir` is not a folder or holds other files.
        StorageError: writing failed (`DiskFullError` when the disk is full).
    """
    planned = _plan()
    film_paths = sorted(p.path for p in planned if p.entry.kind == "film")
    if total_size < MIN_TOTAL_SIZE:
        raise ConfigError(
            _("sample size {total_size} bytes is too small; give at least "
              "{min_total_size} bytes").format(
                total_size=total_size, min_total_size=MIN_TOTAL_SIZE)
        )
    if not 0 <= change_films <= len(film_paths):
        raise ConfigError(f"change_films must be 0..{len(film_paths)}, not {change_films}")
    if change_films and variant < 1:
        raise ConfigError(f"variant must be 1 or more (0 is the unchanged sample), not {variant}")
    _check_out_dir(out_dir, {p.path for p in planned} | {CATALOG_NAME})

    changed = tuple(film_paths[:change_films])
    handbook = _handbook_pdf(min(max(total_size // 100, _HANDBOOK_MIN), _HANDBOOK_MAX), seed)
    videos = [p for p in planned if p.entry.kind != "handbook"]
    sizes = _apportion(total_size - len(handbook), [p.entry.duration for p in videos])
    size_of = {p.path: s for p, s in zip(videos, sizes, strict=True)}

    done = 0

    def report(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total_size)

    catalog_path = out_dir / CATALOG_NAME
    target = out_dir  # the file being written, for the error message: write() errors name none
    try:
        catalog_path.unlink(missing_ok=True)  # an earlier sample's catalog would vouch for it
        for p in planned:
            target = out_dir / p.path
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as f:
                if p.path == HANDBOOK_PATH:
                    f.write(handbook)
                    report(len(handbook))
                    continue
                key = _key(seed, variant if p.path in changed else 0, p.path)
                for chunk in _stream(key, size_of[p.path]):
                    f.write(chunk)
                    report(len(chunk))
        # Last, so that a folder with a catalog holds a complete sample.
        catalog = Catalog(_RELEASE_TITLE, {p.path: p.entry for p in planned})
        target = catalog_path
        catalog_path.write_text(dump_catalog(catalog), encoding="utf-8")
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise DiskFullError(
                _("disk full while writing the sample file {target}").format(target=target)) from e
        raise StorageError(
            _("cannot write the sample file {target}: {value}").format(
                target=target, value=e.strerror or e)) from e

    per_kind = dict(Counter(p.entry.kind for p in planned))
    return SampleSummary(out_dir, catalog_path, len(planned), total_size, per_kind, changed)


def _check_out_dir(out_dir: Path, sample_files: set[str]) -> None:
    """Refuse an output folder holding anything a sample would not write."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(_("{out_dir} exists and is not a folder").format(out_dir=out_dir))
    if not out_dir.exists():
        return
    sample_dirs = {f.rsplit("/", n)[0] for f in sample_files for n in range(1, f.count("/") + 1)}
    for item in sorted(out_dir.rglob("*")):
        rel = item.relative_to(out_dir).as_posix()
        ours = (rel in sample_dirs and item.is_dir()) or (rel in sample_files and item.is_file())
        if item.is_symlink() or not ours:
            raise ConfigError(
                _("{out_dir} is not empty and is not an earlier sample: it holds "
                  "{rel!r}. Write the sample into a new or empty folder (a folder "
                  "holding only an earlier sample is overwritten)").format(
                    out_dir=out_dir, rel=rel)
            )


def _apportion(total: int, weights: list[int]) -> list[int]:
    """Split `total` in proportion to `weights`, exactly (largest remainder, ties by position)."""
    scale = sum(weights)
    floors = [total * w // scale for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % scale))
    for i in by_remainder[: total - sum(floors)]:
        floors[i] += 1
    return floors


def _key(seed: int, variant: int, path: str) -> bytes:
    """The key of one file's contents; variant 0 is the unchanged sample."""
    return hashlib.sha256(f"p2pdist-sample/1\0{seed}\0{variant}\0{path}".encode()).digest()


def _stream(key: bytes, size: int) -> Iterator[bytes]:
    """`size` pseudo-random bytes in chunks of at most `CHUNK`, each chunk derived on its own so
    memory stays flat and any chunk could be regenerated alone."""
    for index, start in enumerate(range(0, size, CHUNK)):
        yield hashlib.shake_256(key + index.to_bytes(8, "big")).digest(min(CHUNK, size - start))


def _handbook_pdf(target: int, seed: int) -> bytes:
    """A valid one-page PDF of `target` bytes (give or take the digits of a few numbers): a player
    can open it, and an unreferenced stream of pseudo-random bytes gives it a handbook's weight."""
    structure = _pdf(seed, b"")
    filler_len = max(0, target - len(structure))
    return _pdf(seed, b"".join(_stream(_key(seed, 0, HANDBOOK_PATH), filler_len)))


def _pdf(seed: int, filler: bytes) -> bytes:
    """The handbook PDF with `filler` as its last object."""
    text = (
        "BT /F1 16 Tf 72 770 Td (p2pdist sample: study handbook of the 18 micro-courses) Tj"
        f" 0 -24 Td /F1 11 Tf (Placeholder contents, seed {seed}.) Tj ET"
    ).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(filler), filler),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
