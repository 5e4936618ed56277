"""Reading the model config of a Keras .h5 file (root attributes ``model_config``,
``training_config``, ``keras_version``).

h5py is an optional extra (``kerascheck[h5]``). The file is parsed in a child process: the
HDF5 C library can crash or hang on a corrupt file (a single flipped byte of a Keras file
segfaults it), and that must cost one error, not the run. The child runs isolated (``-I``),
so nothing in the checked folder can shadow a module it imports.
"""

from __future__ import annotations

import json
import subprocess
import sys

from kerascheck.extract.saved_read import (
    MAX_CONFIG_BYTES,
    SavedConfig,
    SavedModelError,
    as_dict,
    is_model_config,
    parse_json,
    too_big,
)

H5_TIMEOUT_SECONDS = 60
_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # Keras writes no user block, so it is at offset 0
_ATTRIBUTES = ("model_config", "training_config", "keras_version")

# Prints {"attributes": {name: text}} or {"error": message}; an attribute that is not text
# is reported as null, one over the limit as its length.
_CHILD = """
import json, sys
import h5py
path, limit, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
reply = {"attributes": {}}
try:
    with h5py.File(path, "r") as handle:
        for name in names:
            if name not in handle.attrs:
                continue
            value = handle.attrs[name]
            if getattr(value, "shape", None) == ():
                value = value.item()
            if isinstance(value, bytes):
                value = value.decode("utf-8", errors="replace")
            if not isinstance(value, str):
                value = None
            elif len(value) > limit:
                value = len(value)
            reply["attributes"][name] = value
except OSError as exc:
    reply = {"error": f"not a readable HDF5 file: {exc}"}
except Exception as exc:
    reply = {"error": f"cannot read the HDF5 attributes: {type(exc).__name__}: {exc}"}
json.dump(reply, sys.stdout)
"""


def _attributes(path: str) -> dict[str, object]:
    command = [sys.executable, "-I", "-c", _CHILD, path, str(MAX_CONFIG_BYTES), *_ATTRIBUTES]
    try:
        run = subprocess.run(command, capture_output=True, timeout=H5_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as exc:
        raise SavedModelError(
            f"the HDF5 library did not finish reading the file in {H5_TIMEOUT_SECONDS} s"
        ) from exc
    if run.returncode != 0:
        raise SavedModelError(
            f"the HDF5 library failed on the file (exit status {run.returncode}): it is "
            "corrupt or was not written by Keras"
        )
    reply = json.loads(run.stdout)
    if "error" in reply:
        raise SavedModelError(reply["error"])
    attributes: dict[str, object] = reply["attributes"]
    for name, value in attributes.items():
        if value is None:
            raise SavedModelError(f"the {name} attribute is not text")
        if isinstance(value, int):
            raise too_big(f"the {name} attribute", value)
    return attributes


def read_h5(path: str) -> SavedConfig | None:
    """The model config of a Keras .h5 file; None for a file without one (weights only)."""
    try:
        import h5py  # noqa: F401  (the child needs it; its absence is one clear error here)
    except ImportError as exc:
        raise SavedModelError(
            "reading .h5 files needs h5py: install kerascheck[h5] (pip install 'kerascheck[h5]')"
        ) from exc
    try:
        with open(path, "rb") as handle:
            signature = handle.read(len(_SIGNATURE))
    except OSError as exc:
        raise SavedModelError(f"cannot read: {exc.strerror or exc}") from exc
    if signature != _SIGNATURE:
        raise SavedModelError("not an HDF5 file (no HDF5 signature at its start)")
    attributes = _attributes(path)
    model_text = attributes.get("model_config")
    if not isinstance(model_text, str):
        return None
    model = parse_json(model_text, "the model_config attribute")
    if not is_model_config(model):
        raise SavedModelError("the model_config attribute is not a Keras model config")
    training_text = attributes.get("training_config")
    training = (
        parse_json(training_text, "the training_config attribute")
        if isinstance(training_text, str)
        else None
    )
    version = attributes.get("keras_version")
    return SavedConfig(
        model,
        as_dict(training),
        "training_config",
        version if isinstance(version, str) else None,
        "keras_version",
    )
