"""The public API of the installed Keras 3, by import and ``inspect`` (the same snapshot
format as ``static``).

Besides ``keras.*`` it records the modules and names of ``keras._tf_keras.keras``: what
``tensorflow.keras`` gives under TensorFlow >= 2.16 with Keras 3 installed, which still holds
some Keras 2 API (``preprocessing.text``, the Keras 2 backend functions) that ``keras.*`` has
dropped. The receivers' members are measured on real objects: a compiled and fitted
Sequential, a built Dense layer, an SGD optimizer, a Callback.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import textwrap
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from keras_api.static import (
    helper_kwargs,
    ignored_keywords,
    kwargs_helpers,
    kwargs_names,
    self_attributes,
)

_TF_KERAS = "keras._tf_keras.keras"


def _json_default(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if isinstance(value, (tuple, list)) and all(
        isinstance(v, (bool, int, float, str, type(None))) for v in value
    ):
        return list(value)
    return {"expr": repr(value)}


def _parameters(func: Any, method: bool) -> dict[str, Any] | None:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    params, kwonly = [], []
    var_positional = var_keyword = False
    for index, p in enumerate(signature.parameters.values()):
        if method and index == 0 and p.name in ("self", "cls"):
            continue
        entry = [p.name] if p.default is p.empty else [p.name, _json_default(p.default)]
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            params.append(entry)
        elif p.kind is p.KEYWORD_ONLY:
            kwonly.append(entry)
        elif p.kind is p.VAR_POSITIONAL:
            var_positional = True
        else:
            var_keyword = True
    return {
        "params": params,
        "kwonly": kwonly,
        "var_positional": var_positional,
        "var_keyword": var_keyword,
    }


@cache
def _function_node(func: Any) -> ast.FunctionDef | None:
    """The parsed source of a function (each is read once: thousands of lookups share
    the same base-class methods)."""
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    node = tree.body[0] if tree.body else None
    return node if isinstance(node, ast.FunctionDef) else None


def _rejects_unknown(node: ast.FunctionDef) -> bool:
    """Whether a body raises for keywords left in ``**kwargs`` ("Unrecognized keyword
    arguments", "Arguments not recognized")."""
    for raise_ in (n for n in ast.walk(node) if isinstance(n, ast.Raise)):
        for text in (n for n in ast.walk(raise_) if isinstance(n, ast.Constant)):
            if isinstance(text.value, str) and _UNRECOGNIZED in text.value.lower():
                return True
    return False


_UNRECOGNIZED = "recognized"


def _forwards(node: ast.FunctionDef) -> bool:
    """Whether a body passes its ``**kwargs`` on (``super().__init__(**kwargs)``)."""
    kwarg = node.args.kwarg.arg if node.args.kwarg else None
    return any(
        k.arg is None and isinstance(k.value, ast.Name) and k.value.id == kwarg
        for n in ast.walk(node)
        if isinstance(n, ast.Call)
        for k in n.keywords
    )


def _dispatch_targets(cls: type) -> list[type]:
    """Classes a custom ``__new__`` hands construction to (``keras.Model(inputs, outputs)``
    builds a Functional): their keywords are accepted too."""
    new = cls.__dict__.get("__new__")
    node = _function_node(getattr(new, "__func__", new)) if new is not None else None
    found = []
    for imported in (n for n in ast.walk(node) if isinstance(n, ast.ImportFrom)) if node else ():
        if not (imported.module or "").startswith("keras."):
            continue
        module = importlib.import_module(imported.module or "")
        for alias in imported.names:
            target = getattr(module, alias.name, None)
            if inspect.isclass(target) and issubclass(target, cls):
                found.append(target)
    return found


@cache
def method_signature(cls: type, name: str) -> dict[str, Any]:
    """A method's parameters and the keywords its ``**kwargs`` reach up the class's bases.

    ``closed``: an unknown keyword raises (the chain ends in a signature without
    ``**kwargs`` or in a check that raises); ``ignores``: a ``**kwargs`` that is neither passed
    on nor checked swallows unknown keywords silently.
    """
    info: dict[str, Any] | None = None
    keywords: set[str] = set()
    ignored: dict[str, str] = {}
    closed = ignores = False
    for klass in cls.__mro__:
        func = klass.__dict__.get(name)
        if isinstance(func, (staticmethod, classmethod)):
            func = func.__func__
        if func is None or not callable(func):
            continue
        params = _parameters(func, method=True)
        if params is None:
            continue
        if info is None:
            info = params
        else:
            keywords |= {p[0] for p in params["params"]} | {p[0] for p in params["kwonly"]}
        node = _function_node(func)
        if not params["var_keyword"]:
            closed = True
            break
        if node is None:
            break
        keywords |= kwargs_names(node)
        ignored |= ignored_keywords(node)
        rejects = _rejects_unknown(node)
        for helper_name, index in kwargs_helpers(node):
            helper = _function_node(getattr(cls, helper_name, None))
            if helper is not None:
                keywords |= helper_kwargs(helper, index)
                rejects = rejects or _rejects_unknown(helper)
        if rejects:
            closed = True
            break
        if not _forwards(node):
            ignores = True
            break
    if info is None:
        info = {"params": [], "kwonly": [], "var_positional": False, "var_keyword": False}
    if name == "__init__":
        for target in _dispatch_targets(cls):
            other = method_signature(target, "__init__")
            keywords |= {p[0] for p in other["params"] + other["kwonly"]} | set(other["keywords"])
            ignores = ignores or other["ignores"]
    own = {p[0] for p in info["params"]} | {p[0] for p in info["kwonly"]}
    info["keywords"] = sorted(keywords - own - {"self"})
    info["closed"] = closed
    info["ignores"] = ignores
    if ignored:
        info["ignored_keywords"] = ignored  # accepted, warned about, and dropped
    return info


def _stub_message(func: Any) -> str | None:
    """The error of a body that only raises (``keras.optimizers.legacy.Adam``: a name kept so
    that using it explains itself)."""
    node = _function_node(func)
    if node is None:
        return None
    body = [
        n for n in node.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
    ]
    if not body or not isinstance(body[0], ast.Raise):
        return None
    parts = [
        n.value
        for n in ast.walk(body[0])
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    return "".join(parts) or "raises"


def _is_stub(obj: Any) -> bool:
    if inspect.isclass(obj):
        return _stub_message(obj.__dict__.get("__init__")) is not None
    return callable(obj) and _stub_message(obj) is not None


def signature(obj: Any) -> dict[str, Any]:
    if inspect.isclass(obj):
        stub = _stub_message(obj.__dict__.get("__init__"))
        if stub is not None:
            return {"kind": "stub", "raises": stub}
        return {"kind": "class", **method_signature(obj, "__init__")}
    if callable(obj):
        stub = _stub_message(obj)
        if stub is not None:
            return {"kind": "stub", "raises": stub}
        params = _parameters(obj, method=False)
        if params is None:
            return {"kind": "function"}
        node = _function_node(obj)
        keywords = kwargs_names(node) if node is not None and params["var_keyword"] else set()
        own = {p[0] for p in params["params"]}
        closed = not params["var_keyword"] or (node is not None and _rejects_unknown(node))
        return {
            "kind": "function",
            **params,
            "keywords": sorted(keywords - own),
            "closed": closed,
        }
    return {"kind": "value"}


def _module_names(package: Path, prefix: str, skip: set[str]) -> list[str]:
    names = [prefix]
    for init in sorted(package.rglob("__init__.py")):
        parts = init.parent.relative_to(package).parts
        if not parts or parts[0] in skip or any(p.startswith("_") for p in parts):
            continue
        names.append(".".join([prefix, *parts]))
    return names


def _public(module: ModuleType) -> dict[str, Any]:
    return {
        n: getattr(module, n)
        for n in dir(module)
        if not n.startswith("_") and not inspect.ismodule(getattr(module, n))
    }


def _ident(obj: Any) -> str | None:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return None
    return f"{module}.{qualname}"


def _tree(prefix: str, package: Path, skip: set[str]) -> tuple[list[str], dict[str, Any]]:
    modules = _module_names(package, prefix, skip)
    names: dict[str, Any] = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name, obj in _public(module).items():
            names[f"{module_name}.{name}"] = obj
    return modules, names


def _members(classes: list[type], instances: list[Any]) -> dict[str, Any]:
    """Public methods (with signatures), attributes, and methods kept only to raise, of
    several classes together: what a receiver may be (a Sequential or a functional model;
    any layer class)."""
    methods, attributes, stubs = {}, set(), {}
    for cls in classes:
        for name in dir(cls):
            if name.startswith("_") or name in methods:
                continue
            static = inspect.getattr_static(cls, name)
            if isinstance(static, (staticmethod, classmethod)) or inspect.isfunction(static):
                stub = _stub_message(getattr(static, "__func__", static))
                if stub is not None:
                    stubs.setdefault(name, stub)
                else:
                    methods[name] = method_signature(cls, name)
            else:
                attributes.add(name)
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            node = _function_node(init) if init is not None else None
            if node is not None:
                attributes |= self_attributes(node)
    for instance in instances:
        attributes |= {n for n in vars(instance) if not n.startswith("_")}
    stubs = {n: m for n, m in stubs.items() if n not in methods}
    return {
        "methods": methods,
        "attributes": sorted(attributes - set(methods) - set(stubs)),
        "stubs": stubs,
    }


def _member_names(cls: type) -> set[str]:
    """Public names of a class and the attributes its ``__init__`` methods set."""
    names = {n for n in dir(cls) if not n.startswith("_")}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        node = _function_node(init) if init is not None else None
        if node is not None:
            names |= self_attributes(node)
    return names


def _receivers(keras: Any) -> dict[str, Any]:
    import numpy as np
    from keras.src.models.functional import Functional

    sequential = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    inputs = keras.Input((2,))
    functional = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    for model in (sequential, functional):
        model.compile(optimizer="sgd", loss="mse")
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0)
    layers = [
        cls
        for cls in _public(keras.layers).values()
        if inspect.isclass(cls) and issubclass(cls, keras.layers.Layer)
    ]
    models = [keras.Model, keras.Sequential, Functional]
    base = _members([keras.layers.Layer], [sequential.layers[0]])
    known = set(base["methods"]) | set(base["attributes"]) | set(base["stubs"])
    # What each layer class adds to the base: `stateful` on RNNs is no removed attribute.
    extra = {}
    for cls in layers:
        added = _member_names(cls) - known
        if added:
            extra[cls.__name__] = sorted(added)
    return {
        "Model": _members(models, [sequential, functional]),
        "Sequential": _members(models, [sequential, functional]),
        "Layer": base | {"classes": extra},
        "Optimizer": _members([keras.optimizers.Optimizer], [sequential.optimizer]),
        "Callback": _members([keras.callbacks.Callback], [keras.callbacks.Callback()]),
    }


def resolvable(getter: Any, candidates: list[str]) -> list[str]:
    """The candidates Keras resolves (``keras.metrics.get(name)`` and the like)."""
    found = []
    for name in candidates:
        try:
            if getter(name) is not None:
                found.append(name)
        except Exception:  # Keras raises ValueError / TypeError for unknown identifiers
            continue
    return sorted(set(found))


def _metric_keys(keras: Any, strings: list[str]) -> dict[str, Any]:
    """The history key each metric string and each metric class logs (a one-output model:
    no output-name prefix), measured with compile()'s own resolution."""
    from keras.src.trainers.compile_utils import get_metric

    y_true = keras.ops.zeros((2, 1))
    y_pred = keras.ops.zeros((2, 1))
    string_keys = {}
    for string in strings:
        try:
            string_keys[string] = get_metric(string, y_true, y_pred).name
        except Exception:  # a metric that needs other shapes or arguments: not measured
            continue
    class_keys = {}
    for name, cls in _public(keras.metrics).items():
        if not (inspect.isclass(cls) and issubclass(cls, keras.metrics.Metric)):
            continue
        try:
            first, second = cls(), cls()
        except Exception:  # required constructor arguments
            continue
        class_keys[f"keras.metrics.{name}"] = {
            "key": first.name,
            "numbered": first.name != second.name,
        }
    # Instances share one counter per process; what a script's first instance logs is the
    # unnumbered base name.
    for row in class_keys.values():
        if row["numbered"]:
            row["key"] = row["key"].rsplit("_", 1)[0]
    return {"strings": string_keys, "classes": class_keys}


def extract(old_identifiers: list[str]) -> dict[str, Any]:
    """The snapshot of the installed Keras 3. ``old_identifiers``: loss and metric strings of
    older Keras, tried on Keras 3's ``losses.get`` / ``metrics.get`` / ``compile()``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    package = Path(keras.__file__).parent
    modules, names = _tree("keras", package, {"src"})
    tf_modules, tf_names = _tree(_TF_KERAS, package / "_tf_keras" / "keras", set())
    symbols: dict[str, str] = {}
    defs: dict[str, Any] = {}
    from keras.src.trainers.compile_utils import get_loss, get_metric

    probe = (keras.ops.zeros((2, 1)), keras.ops.zeros((2, 1)))
    metrics = resolvable(lambda s: get_metric(s, *probe), old_identifiers)
    losses = resolvable(lambda s: get_loss(s, *probe), old_identifiers)
    for path, obj in names.items():
        ident = _ident(obj) if (inspect.isclass(obj) or callable(obj)) else None
        ident = ident or f"value:{path}"
        symbols[path] = ident
        if ident not in defs:
            defs[ident] = signature(obj)
    return {
        "package": "keras",
        "version": keras.__version__,
        "modules": sorted(modules),
        "symbols": dict(sorted(symbols.items())),
        "defs": dict(sorted(defs.items())),
        "receivers": _receivers(keras),
        "losses_resolvable": losses,
        "metrics_resolvable": metrics,
        "metric_keys": _metric_keys(keras, metrics),
        # Spelled ``keras.*`` like every other path: what ``tensorflow.keras.*`` resolves to.
        "tf_keras_modules": sorted("keras" + m[len(_TF_KERAS) :] for m in tf_modules),
        "tf_keras_symbols": sorted(
            "keras" + p[len(_TF_KERAS) :] for p, obj in tf_names.items() if not _is_stub(obj)
        ),
    }
