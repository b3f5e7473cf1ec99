"""Subcommand groups of the ``rwa`` command, one module a group; shared plumbing in :mod:`.common`."""
