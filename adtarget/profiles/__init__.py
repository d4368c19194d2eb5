"""The profile store: the Cassandra data model, its migrations and the bulk loaders."""
