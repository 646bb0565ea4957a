"""Built-in worlds (topology YAML files) shipped with edgesim as ``edgesim.worlds``."""
