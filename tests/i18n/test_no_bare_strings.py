"""No user-facing string escapes `_()` (the scan and its allow-list: bare_strings.py)."""

from __future__ import annotations

from .bare_strings import scan, scan_source


def test_sources_route_every_message_through_the_translation_function() -> None:
    found = scan()
    assert not found, "wrap in _(): " + "; ".join(map(str, found[:20]))


def test_the_scan_sees_what_it_should() -> None:
    src = '''
import click
@click.option("--x", help="Plain help.")
def f():
    click.echo(f"hello {name}")
    raise ConfigError("cannot read the file")
    raise ConfigError(_("cannot read {path}").format(path=p))
    log.warning("disk %s is full", d)
    console.print("[bold]{x}[/bold]")
'''
    texts = [f.text for f in scan_source(src, "x.py")]
    assert texts == ["Plain help.", "hello ", "cannot read the file", "disk %s is full"]
