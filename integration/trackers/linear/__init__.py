"""Linear: GraphQL client, filters, payload normalizing and the setup check."""
