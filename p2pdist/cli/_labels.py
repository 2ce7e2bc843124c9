"""Words that JSON keeps in English but tables show translated: update phases, torrent states,
doctor checks and verdicts. `label(word)` translates a word listed here (others pass as is).
"""

from __future__ import annotations

from ..i18n import N_, _

WORDS = (
    # update phases (the agent's state machine)
    N_("idle"), N_("manifest found"), N_("verified"), N_("downloading"), N_("checking"),
    N_("activating"), N_("seeding"), N_("failed"),
    # torrent states
    N_("checking_files"), N_("downloading_metadata"), N_("finished"), N_("checking_resume_data"),
    N_("paused"), N_("stopped"),
    # doctor
    N_("daemon"), N_("data directory"), N_("free disk"), N_("clock"), N_("trust root"),
    N_("store"), N_("configuration"), N_("mDNS"), N_("swarm port"), N_("pass"), N_("warn"),
    N_("fail"),
    # click looks this up by a variable (`_(extra["required"])`), so it is marked here
    N_("required"),
)


def label(word: str) -> str:
    """`word` in the user's language (a doctor check "seeder URL" keeps its URL)."""
    if word.startswith("seeder "):
        return _("seeder {url}").format(url=word.removeprefix("seeder "))
    return _(word)
