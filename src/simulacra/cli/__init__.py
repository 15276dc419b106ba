"""The command-line front door (``simulacra ...``)."""
