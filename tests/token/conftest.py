from tests.token.world import deployed_world, world  # noqa: F401  (shared fixtures)
