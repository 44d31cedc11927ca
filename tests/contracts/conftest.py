"""The contract room: each seed's client, written from the seed's own text, against the real
API, Temporal dev server, worker and scripted model of the integration room.

The fixtures are the integration room's own (tests/integration/conftest.py), imported so both
rooms build their stack the same way; in a full run pytest scopes them by conftest, so this room
starts its own stack.
"""

from tests.integration.conftest import *  # noqa: F403
