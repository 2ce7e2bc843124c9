"""Tests assert English messages: run them in English whatever the developer's locale is."""

import os

from keys.i18n import set_language

os.environ["P2PDIST_LANG"] = "C"
set_language("C")
