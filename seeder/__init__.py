"""The seeder service, built on p2pdist's store and swarm: the national origin seeds what
`p2pdist release publish` put in its data directory; provincial seeders follow an upstream feed,
fetch each new release through the swarm, and seed it. Every seeder serves the same feed API as a
box (roots, newest manifest per channel, check-in intake), records box check-ins in SQLite,
forwards them to its parent, and exports Prometheus metrics.

Peer finding. Boxes dial the seeders they are told about (configuration, manifest, the feed's
swarm port) and their LAN neighbours; they find *other* boxes through the seeders, without a
tracker of our own:

- **Peer exchange (ut_pex)**, always on: a seeder tells each connected box about the others, so
  boxes of different sites that only know the seeder trade pieces among themselves within a
  second or two. It needs nothing beyond the seeder connection every box has anyway.
- **A private DHT**, optional (``dht = true``): the seeder runs a DHT node (bootstrapped from its
  own address, or joining ``dht_nodes``, e.g. the origin's), so boxes and lower seeders that
  bootstrap from it keep finding each other when the seeder is saturated or briefly away. Public
  DHT routers are never contacted.

A home-made tracker would duplicate both and be one more service to run and secure.
"""

from ._config import SeederConfig, load_config, render_template
from ._report import rollout_report
from ._service import SeederService

__all__ = ["SeederConfig", "SeederService", "load_config", "render_template", "rollout_report"]
