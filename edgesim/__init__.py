"""edgesim: emulate global routing and edge latency in the style of AWS's global infrastructure."""

from edgesim.errors import InputError
from edgesim.topology import World, load_world

__version__ = "0.1.0"

__all__ = ["InputError", "World", "__version__", "load_world"]
