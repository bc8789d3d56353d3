"""Subcommands of the `imagine-med` CLI, one module each (see imagine_med.cli)."""
