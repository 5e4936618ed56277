"""kerascheck: a static linter for Keras model definitions."""

__version__ = "0.1.0"
