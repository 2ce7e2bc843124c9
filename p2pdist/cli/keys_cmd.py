"""`p2pdist keys ...`: key generation and the trust root workflow of the national center."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from keys import (
    MAX_ROOT_BYTES,
    Envelope,
    KeyFileError,
    MalformedError,
    PublicKey,
    ReleaseRole,
    Root,
    SigningKey,
    channel_prefix,
    load_public_key,
    parse_root_envelope,
    save_keypair,
)

from ..errors import ConfigError
from ..fs import atomic_write
from ..i18n import _
from ._common import (
    console,
    json_option,
    load_key,
    passphrase_file_option,
    read_file,
    read_passphrase,
)

DAY_S = 86400
pub_path = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("keys")
def keys_group() -> None:
    """Signing keys and the trust root."""


@keys_group.command("generate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--encrypt", is_flag=True, help=
    _("Encrypt the private key (asks for a passphrase)."))
@passphrase_file_option
def generate(path: Path, encrypt: bool, passphrase_file: Path | None) -> None:
    """Write a new Ed25519 key: PATH (private, mode 0600) and PATH.pub; print the key id."""
    passphrase = read_passphrase(passphrase_file)
    if encrypt and passphrase is None:
        passphrase = click.prompt(
            _("passphrase"), hide_input=True, confirmation_prompt=True
        ).encode()
    key = SigningKey.generate()
    pub = save_keypair(key, path, passphrase)
    console.print(_("key id {kid}").format(kid=key.keyid))
    console.print(
        _("private key: {priv} (0600{enc}), public key: {pub}").format(
            priv=path, enc=_(", encrypted") if passphrase else "", pub=pub
        )
    )


@keys_group.group("root")
def root_group() -> None:
    """Create, sign and rotate the trust root."""


def _pubs(paths: tuple[Path, ...]) -> list[PublicKey]:
    return [load_public_key(p) for p in paths]


def _check_threshold(n: int, keys: list[PublicKey], what: str) -> None:
    if not 1 <= n <= len(keys):
        raise ConfigError(
            _("{what} threshold must be between 1 and the number of keys ({n})").format(
                what=what, n=len(keys)
            )
        )


def load_root(path: Path) -> tuple[Envelope, Root]:
    """Read a root file (signed or not) without trusting it."""
    return parse_root_envelope(read_file(path, _("trust root"), MAX_ROOT_BYTES))


@root_group.command("init")
@click.option("--root-key", "root_keys", multiple=True, required=True, type=pub_path,
              help=_("Public key of a root key holder (repeat)."))
@click.option("--threshold", type=int, required=True, help=_("Root signatures required."))
@click.option("--release-key", "release_keys", multiple=True, required=True, type=pub_path,
              help=_("Public key allowed to sign releases (repeat)."))
@click.option("--release-threshold", type=int, required=True,
              help=_("Release signatures required on a manifest."))
@click.option("--channel", "channels", multiple=True, required=True,
              help=_("Channel prefix the release keys may sign, e.g. national/ (repeat)."))
@click.option("--role-name", default="national", show_default=True,
              help=_("Name of this release role."))
@click.option("--expires", type=float, default=365, show_default=True, help=
    _("Days until expiry."))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def root_init(root_keys: tuple[Path, ...], threshold: int, release_keys: tuple[Path, ...],
              release_threshold: int, channels: tuple[str, ...], role_name: str,
              expires: float, out: Path) -> None:
    """Create trust root version 1 (unsigned: sign it with `keys root sign`)."""
    rk, relk = _pubs(root_keys), _pubs(release_keys)
    _check_threshold(threshold, rk, "root")
    _check_threshold(release_threshold, relk, "release")
    now = int(time.time())
    root = Root.new(
        version=1, created=now, expires=now + int(expires * DAY_S), root_keys=rk,
        root_threshold=threshold, release_roles=[(role_name, relk, release_threshold, channels)],
    )
    atomic_write(out, Envelope(root.encode_body()).encode())
    console.print(_("wrote trust root v1 to {out} (unsigned)").format(out=out))
    console.print(_("next: sign it with {n} of the {m} root keys: "
                    "p2pdist keys root sign {out} --key ROOTKEY").format(
                        n=threshold, m=len(rk), out=out))


@root_group.command("sign")
@click.argument("root_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--previous", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=_("The version before (for a rotation), to report its threshold too."))
@passphrase_file_option
def root_sign(root_file: Path, key_path: Path, previous: Path | None,
              passphrase_file: Path | None) -> None:
    """Add a signature to ROOT_FILE (repeat with other keys until the threshold is met)."""
    env, root = load_root(root_file)
    key = load_key(key_path, passphrase_file)
    prev = load_root(previous)[1] if previous else None
    known = set(root.root_keyids) | (set(prev.root_keyids) if prev else set())
    if key.keyid not in known:
        raise KeyFileError(
            _("key {kid} is not a root key of this version{prev}; refusing to add a "
              "signature that counts for nothing").format(
                  kid=key.keyid[:16],
                  prev=_(" or of the previous one") if prev else _(" (give --previous for a "
                                                                  "rotation)"))
        )
    env = env.sign(key)
    atomic_write(root_file, env.encode())
    _print_root_status(env, root, prev)


def _print_root_status(env: Envelope, root: Root, prev: Root | None) -> None:
    own = env.check_signatures(root.root_keys())
    console.print(
        _("trust root v{v}: {k} of {t} required signatures by its own root keys").format(
            v=root.version, k=len(own.valid), t=root.root_threshold)
    )
    if prev is not None:
        old = env.check_signatures(prev.root_keys())
        console.print(
            _("  and {k} of {t} required by v{pv}'s root keys").format(
                k=len(old.valid), t=prev.root_threshold, pv=prev.version)
        )


@root_group.command("rotate")
@click.argument("root_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--root-key", "root_keys", multiple=True, type=pub_path,
              help=_("Replace the root keys with these (repeat)."))
@click.option("--threshold", type=int, help=_("New root threshold."))
@click.option("--add-role", help=_("Add (or replace) a release role with this name ..."))
@click.option("--release-key", "release_keys", multiple=True, type=pub_path,
              help=_("... signed by these keys (repeat) ..."))
@click.option("--release-threshold", type=int, help=_("... with this threshold ..."))
@click.option("--channel", "channels", multiple=True, help=_("... for these prefixes (repeat)."))
@click.option("--remove-role", "remove_roles", multiple=True, help=_("Drop a release role."))
@click.option("--revoke", "revoke", multiple=True,
              help=_("Remove a key everywhere: a public key file or a key id (prefix)."))
@click.option("--expires", type=float, default=365, show_default=True, help=
    _("Days until expiry."))
def root_rotate(root_file: Path, out: Path, root_keys: tuple[Path, ...], threshold: int | None,
                add_role: str | None, release_keys: tuple[Path, ...],
                release_threshold: int | None, channels: tuple[str, ...],
                remove_roles: tuple[str, ...], revoke: tuple[str, ...], expires: float) -> None:
    """Write the next root version (unsigned). A threshold of the current root keys AND of the
    new root keys must then sign it (`keys root sign OUT --key K --previous ROOT_FILE`)."""
    _env, cur = load_root(root_file)
    keys: dict[str, PublicKey] = dict(cur.keys)
    root_ids = set(cur.root_keyids)
    root_thr = cur.root_threshold
    roles = {r.name: r for r in cur.release_roles}
    if root_keys:
        new = _pubs(root_keys)
        keys.update({k.keyid: k for k in new})
        root_ids = {k.keyid for k in new}
    if threshold is not None:
        root_thr = threshold
    for name in remove_roles:
        if roles.pop(name, None) is None:
            raise ConfigError(_("there is no release role {name!r}").format(name=name))
    if add_role:
        relk = _pubs(release_keys)
        if not relk or not channels or release_threshold is None:
            raise ConfigError(_("--add-role needs --release-key, --release-threshold and "
                                "--channel"))
        _check_threshold(release_threshold, relk, "release")
        keys.update({k.keyid: k for k in relk})
        roles[add_role] = ReleaseRole(add_role, frozenset(k.keyid for k in relk),
                                      release_threshold, tuple(channel_prefix(c) for c in channels))
    for r in revoke:
        kid = _resolve_keyid(r, keys)
        root_ids.discard(kid)
        roles = {n: replace(role, keyids=role.keyids - {kid}) for n, role in roles.items()}
    for name in [n for n, role in roles.items() if revoke and not role.keyids]:
        # every key of this role was revoked: the role can sign nothing, so it goes (a later
        # rotation with --add-role gives the channel a new key)
        del roles[name]
        console.print(_("release role {name!r} has no key left and is removed: its channels "
                        "accept no new release until a rotation adds a key with "
                        "--add-role").format(name=name))
    for role in roles.values():
        if len(role.keyids) < role.threshold:
            raise ConfigError(
                _("release role {name!r} would keep {n} key(s) for a threshold of {t}; add "
                  "keys with --add-role").format(name=role.name, n=len(role.keyids),
                                                  t=role.threshold))
    if len(root_ids) < root_thr:
        raise ConfigError(_("the root would keep {n} key(s) for a threshold of {t}").format(
            n=len(root_ids), t=root_thr))
    used = root_ids | {k for role in roles.values() for k in role.keyids}
    now = int(time.time())
    new_root = Root(cur.version + 1, now, now + int(expires * DAY_S),
                    {k: v for k, v in keys.items() if k in used}, frozenset(root_ids), root_thr,
                    tuple(roles.values()))
    new_root = Root.decode_body(new_root.encode_body())  # the decoder's checks, before writing
    atomic_write(out, Envelope(new_root.encode_body()).encode())
    console.print(_("wrote trust root v{v} to {out} (unsigned)").format(v=new_root.version,
                                                                       out=out))
    console.print(_("next: sign it with {a} of v{pv}'s root keys and {b} of its own: "
                    "p2pdist keys root sign {out} --key K --previous {prev}").format(
                        a=cur.root_threshold, pv=cur.version, b=root_thr, out=out,
                        prev=root_file))


def _resolve_keyid(text: str, keys: dict[str, PublicKey]) -> str:
    p = Path(text)
    if p.is_file():
        return load_public_key(p).keyid
    matches = [k for k in keys if k.startswith(text.lower())]
    if len(matches) != 1:
        raise ConfigError(_("{text!r} names {n} keys of this root; give a longer key id or the "
                            "public key file").format(text=text, n=len(matches)))
    return matches[0]


@keys_group.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option()
@passphrase_file_option
def show(file: Path, as_json: bool, passphrase_file: Path | None) -> None:
    """Describe a key file or a trust root file."""
    head = read_file(file, _("file"), MAX_ROOT_BYTES)
    info: dict[str, Any]
    if head.startswith(b"-----BEGIN PUBLIC KEY"):
        info = {"type": "public-key", "keyid": load_public_key(file).keyid}
    elif b"PRIVATE KEY-----" in head[:64]:
        encrypted = b"ENCRYPTED" in head[:64]
        if encrypted and read_passphrase(passphrase_file) is None:
            info = {"type": "private-key", "encrypted": True, "keyid": None}
        else:
            info = {"type": "private-key", "encrypted": encrypted,
                    "keyid": load_key(file, passphrase_file).keyid}
    else:
        try:
            env, root = parse_root_envelope(head)
        except MalformedError as e:
            raise ConfigError(
                _("{path} is not a key or a trust root ({err}); for a manifest use "
                  "`p2pdist release show`").format(path=file, err=e)) from e
        info = root_info(env, root)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    if info["type"] != "root":
        for k, v in info.items():
            console.print(f"{k}: {v}")
        return
    _print_root(info)


def root_info(env: Envelope, root: Root) -> dict[str, Any]:
    own = env.check_signatures(root.root_keys())
    return {
        "type": "root",
        "version": root.version,
        "created": root.created,
        "expires": root.expires,
        "expired": time.time() > root.expires,
        "root_keys": sorted(root.root_keyids),
        "root_threshold": root.root_threshold,
        "root_signatures_valid": len(own.valid),
        "signatures": [s.keyid for s in env.signatures],
        "release_roles": [
            {"name": r.name, "keys": sorted(r.keyids), "threshold": r.threshold,
             "channels": [f"{c}/..." for c in r.channels]}
            for r in root.release_roles
        ],
    }


def _print_root(info: dict[str, Any]) -> None:
    exp = time.strftime("%Y-%m-%d", time.gmtime(info["expires"]))
    console.print(_("trust root v{v}, expires {exp}{expired}").format(
        v=info["version"], exp=exp, expired=_(" (EXPIRED)") if info["expired"] else ""))
    console.print(_("root keys: {n}, threshold {t}, valid signatures by them: {k}").format(
        n=len(info["root_keys"]), t=info["root_threshold"], k=info["root_signatures_valid"]))
    table = Table(_("release role"), _("channels"), _("threshold"), _("keys"))
    for r in info["release_roles"]:
        table.add_row(r["name"], ", ".join(r["channels"]), str(r["threshold"]),
                      "\n".join(k[:16] for k in r["keys"]))
    console.print(table)
