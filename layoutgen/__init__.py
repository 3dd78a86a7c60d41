"""layoutgen: photomask sets for wafer-level and chip-scale packaging from a Python config."""

__version__ = "0.1.0"
