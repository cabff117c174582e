"""Commands run through the same world as sweeps: a fake tracker site, a real store, the real pipeline."""

from tests.sweeps.conftest import make_world  # noqa: F401 - the fixture, shared
