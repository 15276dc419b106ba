"""Bundled domain packs: each is ``<name>.yaml`` (the rules) plus, where needed, ``<name>.py`` (hooks)."""
