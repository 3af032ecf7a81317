"""Vendor emulators for the connector tests and benchmarks (127.0.0.1 only).

:mod:`tests.emulator.server` is the shared HTTP(S) server with fault injection; each vendor
module (``salesforce``, ``hubspot``) registers that vendor's routes on it. ``python -m
tests.emulator MODULE:BUILDER --state-dir DIR`` serves one in a separate process (for
kill-and-resume tests and benchmarks, where the client must not share the server's GIL);
:func:`tests.emulator.process.spawn` starts that process and waits until it listens.
"""
