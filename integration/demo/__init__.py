"""`flowkeeper demo`: the stub tracker with a seeded workspace, and Flowkeeper writing to it."""
