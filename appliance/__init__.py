"""The call-center appliance: a Python supervisor over a C channel engine."""

__version__ = "0.1.0"
