"""kerascheck: a static linter for Keras model definitions."""

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext kerascheck``: check each cell before it runs (kerascheck.live). Nothing
    is imported until then, so ``import kerascheck`` stays light."""
    from kerascheck.live import load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    from kerascheck.live import unload

    unload(ipython)
