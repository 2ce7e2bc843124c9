"""The seeder service, built on p2pdist's store and swarm: publish releases at the origin, follow
an upstream feed, seed, serve feeds and roots over HTTP, receive box check-ins."""
