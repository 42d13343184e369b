"""vstyle: real-time video style transfer (SCTNet trained with CCPL)."""

__version__ = "0.1.0"
