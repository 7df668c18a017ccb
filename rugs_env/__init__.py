"""rugs-env: rugs.fun games as Gymnasium environments, with the recorder and tools around them."""

__version__ = "0.1.0"
