"""Rostrum's forwarding benchmark: load generator, peers (Rostrum, Janus, aiortc MediaRelay),
and the runner that prints the table in docs/performance.md. `python -m bench.run --help`."""
