"""Peer libraries on the shared benchmark scenario, and the timing harness every path uses.

Each ``*_path`` module exposes ``PATH``, a :class:`peers.harness.Path`; ``run_peers`` verifies
and times them all. See ``run_peers.py`` for how to run it.
"""
