"""The scenario engine: clocks, request generation, metrics and reports."""
