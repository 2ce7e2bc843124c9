"""p2pdist: the box (store, swarm, discovery, feeds, agent) and the command line."""

__version__ = "0.1.0"
