"""The public API of an unpacked Keras package, read with ``ast`` (never imported).

Two layouts are understood:

* generated API trees (keras 2.6+ and tf_keras): every public module is a package whose
  ``__init__.py`` re-exports names from the private source tree
  (``from keras.src.layers.core.dense import Dense``);
* the old layout (Keras 1.x, 2.0-2.3): every module of the package is public; its public names
  are the classes and functions it defines or imports from the package itself, star imports
  included.

For every public name the snapshot keeps where it is defined and, for classes and functions,
the signature: positional parameters in order with their literal defaults, keyword-only
parameters, and the keywords a class accepts through ``**kwargs`` (its bases' ``__init__``,
``kwargs.pop("x")``, a Keras 2 ``allowed_kwargs`` set, the DTensor ``*_layout`` keywords that
``allow_initializer_layout`` injects, and the Keras 1 names the Keras 2 legacy interfaces
convert). Methods and properties are kept for the classes rules see as receivers
(``Model``, ``Sequential``, ``Layer``, ``Optimizer``, ``Callback``, the image iterators).
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Public paths of the classes whose methods and attributes are recorded.
RECEIVERS = {
    "Model": "keras.models.Model",
    "Sequential": "keras.models.Sequential",
    "Layer": "keras.layers.Layer",
    "Optimizer": "keras.optimizers.Optimizer",
    "Callback": "keras.callbacks.Callback",
    # What ImageDataGenerator.flow_from_directory returns (flow's NumpyArrayIterator shares
    # its base); Keras 1 defined ``next`` on these subclasses, not on ``Iterator``.
    "Iterator": "keras.preprocessing.image.DirectoryIterator",
}
# Parts of a generated API tree that are not public API.
_PRIVATE_DIRS = frozenset({"src", "api", "protobuf", "__internal__", "tests", "integration_test"})
_LAYOUT_DECORATOR = "allow_initializer_layout"
MAX_DEPTH = 12


def literal(node: ast.expr | None) -> Any:
    """A JSON-able default value, or ``{"expr": source}`` when it is not a literal."""
    if node is None:
        return None
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return {"expr": ast.unparse(node)}
    if isinstance(value, (tuple, list)):
        return [v if isinstance(v, (bool, int, float, str, type(None))) else repr(v) for v in value]
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    return {"expr": ast.unparse(node)}


def _plain(node: ast.expr | None) -> Any:
    """A literal as Python builds it (nested tuples kept), or None."""
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _params(func: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> dict[str, Any]:
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    params = []
    for arg, default in zip(positional, defaults, strict=True):
        params.append([arg.arg] if default is None else [arg.arg, literal(default)])
    if method and params:
        params = params[1:]
    kwonly = [
        [a.arg] if d is None else [a.arg, literal(d)]
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    return {
        "params": params,
        "kwonly": kwonly,
        "var_positional": args.vararg is not None,
        "var_keyword": args.kwarg is not None,
    }


def kwargs_helpers(func: ast.FunctionDef) -> list[tuple[str, int]]:
    """``self._process_kwargs(kwargs)``: the methods a body hands its ``**kwargs`` dict to,
    with the position it is passed at."""
    kwarg = func.args.kwarg.arg if func.args.kwarg else None
    found = []
    for node in ast.walk(func):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "self"
        ):
            for index, arg in enumerate(node.args):
                if isinstance(arg, ast.Name) and arg.id == kwarg:
                    found.append((node.func.attr, index))
    return found


def helper_kwargs(helper: ast.FunctionDef, index: int) -> set[str]:
    """Keywords a helper takes out of the dict it receives at ``index``."""
    params = [a.arg for a in [*helper.args.posonlyargs, *helper.args.args]][1:]
    return kwargs_names(helper, params[index]) if index < len(params) else set()


def kwargs_names(func: ast.FunctionDef, kwarg: str | None = None) -> set[str]:
    """Keywords a body takes out of ``**kwargs`` (or the dict ``kwarg``) by hand."""
    found: set[str] = set()
    if kwarg is None:
        kwarg = func.args.kwarg.arg if func.args.kwarg else None
    for node in ast.walk(func):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("pop", "get")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == kwarg
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            and len(node.ops) == 1
            and isinstance(node.ops[0], (ast.In, ast.NotIn))
            and isinstance(node.comparators[0], ast.Name)
            and node.comparators[0].id == kwarg
        ):
            found.add(node.left.value)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "allowed_kwargs" for t in node.targets
        ):
            value = literal(node.value)
            if isinstance(value, list):
                found.update(v for v in value if isinstance(v, str))
            elif isinstance(node.value, ast.Set):
                found.update(
                    e.value
                    for e in node.value.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                )
    return found


def _popped_name(node: ast.AST, kwarg: str) -> str | None:
    """``kwargs.pop("x", ...)`` / ``kwargs.get("x")`` -> ``"x"``."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("pop", "get")
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == kwarg
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _warning_text(body: list[ast.stmt]) -> str | None:
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Call) and _decorator_name(node.func) in ("warn", "warning"):
            parts = [
                n.value
                for n in ast.walk(node)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
            return "".join(parts)
    return None


def ignored_keywords(func: ast.FunctionDef) -> dict[str, str]:
    """Keywords a body takes out of ``**kwargs`` only to warn and drop them
    (``if kwargs.pop("decay", None) is not None: warnings.warn(...)``), with the warning."""
    kwarg = func.args.kwarg.arg if func.args.kwarg else None
    if kwarg is None:
        return {}
    bound: dict[str, str] = {}  # variable -> keyword it was popped into
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            name = _popped_name(node.value, kwarg)
            if name is not None and isinstance(node.targets[0], ast.Name):
                bound[node.targets[0].id] = name
    loads: dict[str, list[ast.Name]] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.setdefault(node.id, []).append(node)
    found: dict[str, str] = {}
    for node in ast.walk(func):
        if not isinstance(node, ast.If):
            continue
        message = _warning_text(node.body)
        if message is None:
            continue
        in_test = {id(part) for part in ast.walk(node.test)}
        for part in ast.walk(node.test):
            name = _popped_name(part, kwarg)
            if name is not None:
                found[name] = message  # popped in the test itself: nothing keeps it
            elif (
                isinstance(part, ast.Name)
                and part.id in bound
                and all(id(use) in in_test for use in loads.get(part.id, []))
            ):
                # Read nowhere but in this test: the value is dropped after the warning.
                found[bound[part.id]] = message
    return found


def _decorator_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


@dataclass
class Module:
    name: str
    tree: ast.Module
    package: bool
    # name -> ("def", node) | ("import", module, name) | ("module", module) | ("alias", expr)
    bindings: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    stars: list[str] = field(default_factory=list)
    all_names: list[str] | None = None


@dataclass(frozen=True)
class Def:
    """Where a name is defined: a class or function node in a module."""

    module: str
    name: str
    node: ast.ClassDef | ast.FunctionDef | None

    @property
    def ident(self) -> str:
        return f"{self.module}.{self.name}"


class Package:
    """The source tree of one unpacked package (``root/keras`` or ``root/tf_keras``)."""

    def __init__(self, root: Path, top: str) -> None:
        self.root = root
        self.top = top
        self._modules: dict[str, Module | None] = {}
        self.interfaces = self._legacy_interfaces()
        self.layout_names = self._layout_names()

    # ------------------------------------------------------------------ modules
    def path_of(self, module: str) -> tuple[Path, bool] | None:
        base = self.root.joinpath(*module.split("."))
        if (base / "__init__.py").is_file():
            return base / "__init__.py", True
        if base.with_suffix(".py").is_file():
            return base.with_suffix(".py"), False
        return None

    def is_module(self, module: str) -> bool:
        return self.path_of(module) is not None

    def module(self, name: str) -> Module | None:
        if name in self._modules:
            return self._modules[name]
        found = self.path_of(name)
        result = None
        if found is not None:
            path, package = found
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Keras 1's "\d" in plain strings
                tree = ast.parse(path.read_text(encoding="utf-8"))
            result = Module(name, tree, package)
            self._bind(result, tree.body)
        self._modules[name] = result
        return result

    def absolute(self, module: Module, node: ast.ImportFrom) -> str | None:
        if not node.level:
            return node.module
        parts = module.name.split(".")
        if not module.package:
            parts = parts[:-1]
        if node.level > 1:
            parts = parts[: len(parts) - node.level + 1]
        return ".".join([*parts, node.module] if node.module else parts)

    def _bind(self, module: Module, body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                module.bindings[node.name] = ("def", node)
            elif isinstance(node, ast.ImportFrom):
                source = self.absolute(module, node)
                if source is None:
                    continue
                for alias in node.names:
                    if alias.name == "*":
                        module.stars.append(source)
                        continue
                    local = alias.asname or alias.name
                    if self.is_module(f"{source}.{alias.name}"):
                        module.bindings[local] = ("module", f"{source}.{alias.name}")
                    else:
                        module.bindings[local] = ("import", source, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        module.bindings[alias.asname] = ("module", alias.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:  # ``mse = MSE = mean_squared_error``
                    if not isinstance(target, ast.Name):
                        continue
                    if target.id == "__all__":
                        value = literal(node.value)
                        if isinstance(value, list):
                            module.all_names = [v for v in value if isinstance(v, str)]
                    else:
                        module.bindings[target.id] = ("alias", node.value)
            elif isinstance(node, ast.If):
                self._bind(module, node.body)
                self._bind(module, node.orelse)
            elif isinstance(node, ast.Try):
                self._bind(module, node.body)
                for handler in node.handlers:
                    self._bind(module, handler.body)

    # ------------------------------------------------------------------ names
    def in_package(self, module: str) -> bool:
        return module == self.top or module.startswith(self.top + ".")

    def resolve(self, module: str, name: str, depth: int = 0) -> Def | str | None:
        """The definition a name of a module stands for, a module path, or None."""
        if depth > MAX_DEPTH or not self.in_package(module):
            return None
        mod = self.module(module)
        if mod is None:
            return None
        binding = mod.bindings.get(name)
        if binding is None:
            for star in mod.stars:
                if name in self.public_names(star, depth + 1):
                    return self.resolve(star, name, depth + 1)
            if self.is_module(f"{module}.{name}"):
                return f"{module}.{name}"
            return None
        kind = binding[0]
        if kind == "def":
            return Def(module, name, binding[1])
        if kind == "module":
            return binding[1] if self.in_package(binding[1]) else None
        if kind == "import":
            return self.resolve(binding[1], binding[2], depth + 1)
        return self.resolve_expr(mod, binding[1], depth + 1) or Def(module, name, None)

    def resolve_expr(self, mod: Module, node: ast.expr, depth: int) -> Def | str | None:
        if isinstance(node, ast.Name):
            return self.resolve(mod.name, node.id, depth)
        if isinstance(node, ast.Attribute):
            base = self.resolve_expr(mod, node.value, depth)
            if isinstance(base, str):
                return self.resolve(base, node.attr, depth)
        if (
            isinstance(node, ast.Call)
            and node.args
            and _decorator_name(node.func)
            in (
                "keras_export",
                "tf_export",
            )
        ):
            return self.resolve_expr(mod, node.args[0], depth)
        return None

    def public_names(self, module: str, depth: int = 0) -> list[str]:
        """Names ``from module import *`` brings in that stand for classes or functions
        of this package (not other modules, not imported third-party names)."""
        mod = self.module(module)
        if mod is None or depth > MAX_DEPTH:
            return []
        if mod.all_names is not None:
            return mod.all_names
        names = []
        for name, binding in mod.bindings.items():
            if name.startswith("_"):
                continue
            # A module's own helpers imports are not its API; a package re-exports on purpose.
            reexport = binding[0] == "import" and mod.package
            if binding[0] == "def" or (
                (reexport or binding[0] == "alias") and self._defines(module, name, depth)
            ):
                names.append(name)
        for star in mod.stars:
            names += [n for n in self.public_names(star, depth + 1) if n not in names]
        return names

    def _defines(self, module: str, name: str, depth: int) -> bool:
        resolved = self.resolve(module, name, depth + 1)
        return isinstance(resolved, Def) and resolved.node is not None

    # ------------------------------------------------------------------ signatures
    def _legacy_interfaces(self) -> dict[str, dict[str, Any]]:
        """Keras 2.x ``legacy/interfaces.py``: decorator name -> conversions."""
        mod = self.module(f"{self.top}.legacy.interfaces")
        found: dict[str, dict[str, Any]] = {}
        if mod is None:
            return found
        for node in mod.tree.body:
            if not (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and _decorator_name(node.value.func)
                in ("generate_legacy_interface", "generate_legacy_method_interface")
                and isinstance(node.targets[0], ast.Name)
            ):
                continue
            keywords = {k.arg: k.value for k in node.value.keywords if k.arg}
            conversions = _plain(keywords.get("conversions")) or []
            allowed = _plain(keywords.get("allowed_positional_args"))
            values = _plain(keywords.get("value_conversions")) or {}
            found[node.targets[0].id] = {
                "renamed": {pair[0]: pair[1] for pair in conversions if len(pair) == 2},
                "values": {k: {str(a): b for a, b in v.items()} for k, v in values.items()},
                "positional": allowed if isinstance(allowed, list) else None,
            }
        return found

    def _layout_names(self) -> list[str]:
        """The variables ``allow_initializer_layout`` adds a ``<name>_layout`` keyword for."""
        mod = self.module(f"{self.top}.src.dtensor.utils") or self.module(
            f"{self.top}.dtensor.utils"
        )
        if mod is None:
            return []
        binding = mod.bindings.get("KERAS_VARIABLE_NAMES")
        if binding is None or binding[0] != "alias":
            return []
        value = literal(binding[1])
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    def bases(self, cls: Def) -> list[Def]:
        assert isinstance(cls.node, ast.ClassDef)
        mod = self.module(cls.module)
        assert mod is not None
        found = []
        for base in cls.node.bases:
            resolved = self.resolve_expr(mod, base, 0)
            if isinstance(resolved, Def) and isinstance(resolved.node, ast.ClassDef):
                found.append(resolved)
        return found

    def mro(self, cls: Def) -> list[Def]:
        order: list[Def] = []
        pending = [cls]
        while pending and len(order) < 50:
            current = pending.pop(0)
            if current.ident in {d.ident for d in order}:
                continue
            order.append(current)
            pending += self.bases(current)
        return order

    def member(self, cls: Def, name: str) -> ast.FunctionDef | None:
        for klass in self.mro(cls):
            assert isinstance(klass.node, ast.ClassDef)
            for node in klass.node.body:
                if isinstance(node, ast.FunctionDef) and node.name == name:
                    return node
        return None

    def signature(self, definition: Def) -> dict[str, Any] | None:
        node = definition.node
        if isinstance(node, ast.FunctionDef):
            info = _params(node, method=False)
            info["kind"] = "function"
            keywords = kwargs_names(node) if info["var_keyword"] else set()
            info["keywords"] = sorted(keywords - {p[0] for p in info["params"]})
            return info
        if not isinstance(node, ast.ClassDef):
            return None
        return {"kind": "class", **self.method_signature(definition, "__init__")}

    def method_signature(self, cls: Def, name: str) -> dict[str, Any]:
        """Parameters of a method, with the keywords its ``**kwargs`` reach up the bases."""
        info: dict[str, Any] | None = None
        keywords: set[str] = set()
        renamed: dict[str, str] = {}
        values: dict[str, dict[str, Any]] = {}
        for klass in self.mro(cls):
            assert isinstance(klass.node, ast.ClassDef)
            func = next(
                (n for n in klass.node.body if isinstance(n, ast.FunctionDef) and n.name == name),
                None,
            )
            if func is None:
                continue
            params = _params(func, method=True)
            if info is None:
                info = params
            else:
                keywords |= {p[0] for p in params["params"]} | {p[0] for p in params["kwonly"]}
            keywords |= kwargs_names(func)
            for helper, index in kwargs_helpers(func):
                node = self.member(cls, helper)
                if node is not None:
                    keywords |= helper_kwargs(node, index)
            for decorator in func.decorator_list:
                dname = _decorator_name(decorator)
                if dname == _LAYOUT_DECORATOR:
                    names = {p[0] for p in params["params"]} | {p[0] for p in params["kwonly"]}
                    keywords |= {
                        f"{v}_layout" for v in self.layout_names if f"{v}_initializer" in names
                    }
                elif dname in self.interfaces:
                    renamed.update(self.interfaces[dname]["renamed"])
                    values.update(self.interfaces[dname]["values"])
                    if info is params and self.interfaces[dname]["positional"] is not None:
                        info["positional_limit"] = len(self.interfaces[dname]["positional"])
            if not params["var_keyword"]:
                break
        if info is None:
            info = {"params": [], "kwonly": [], "var_positional": False, "var_keyword": False}
        own = {p[0] for p in info["params"]} | {p[0] for p in info["kwonly"]}
        info["keywords"] = sorted(keywords - own - {"self"})
        if renamed:
            info["renamed"] = dict(sorted(renamed.items()))
        if values:
            info["values"] = dict(sorted(values.items()))
        return info

    def members(self, cls: Def) -> dict[str, Any]:
        """Public methods (with signatures) and attributes of a class, bases included."""
        methods: dict[str, Any] = {}
        attributes: set[str] = set()
        for klass in reversed(self.mro(cls)):
            assert isinstance(klass.node, ast.ClassDef)
            for node in klass.node.body:
                if isinstance(node, ast.FunctionDef):
                    decorators = {_decorator_name(d) for d in node.decorator_list}
                    if node.name == "__init__":
                        attributes |= self_attributes(node)
                    if node.name.startswith("_"):
                        continue
                    if decorators & {"property", "setter", "cached_property"} or any(
                        isinstance(d, ast.Attribute) and d.attr in ("setter", "getter")
                        for d in node.decorator_list
                    ):
                        attributes.add(node.name)
                        methods.pop(node.name, None)
                    else:
                        methods[node.name] = None
                        attributes.discard(node.name)
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name) and not target.id.startswith("_"):
                            attributes.add(target.id)
        signatures = {m: self.method_signature(cls, m) for m in sorted(methods)}
        return {
            "methods": signatures,
            "attributes": sorted(a for a in attributes if a not in methods),
        }


def self_attributes(func: ast.FunctionDef) -> set[str]:
    found = set()
    for node in ast.walk(func):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                    and not target.attr.startswith("_")
                ):
                    found.add(target.attr)
    return found


def _public_module_names(root: Path, top: str, generated: bool) -> list[str]:
    names = []
    for path in sorted(root.joinpath(top).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        elif generated:
            continue  # a generated API tree has only packages
        inner = parts[1:]
        if any(p.startswith("_") or p in _PRIVATE_DIRS for p in inner):
            continue
        if any(p in ("tests", "test") or p.endswith("_test") for p in inner):
            continue
        names.append(".".join(parts))
    return names


def spelled(path: str, top: str) -> str:
    """``tf_keras.layers.Dense`` -> ``keras.layers.Dense``: rows are keyed by the keras path."""
    return "keras" + path[len(top) :] if path == top or path.startswith(top + ".") else path


def extract(root: Path, top: str = "keras") -> dict[str, Any]:
    """The snapshot of one unpacked package: public modules, names, signatures, receivers."""
    package = Package(root, top)
    generated = (root / top / "src").is_dir()
    modules = _public_module_names(root, top, generated)
    symbols: dict[str, str] = {}
    defs: dict[str, Any] = {}
    for module in modules:
        mod = package.module(module)
        if mod is None:
            continue
        names = (
            [n for n, b in mod.bindings.items() if b[0] in ("import", "def", "alias")]
            if generated
            else package.public_names(module)
        )
        for name in names:
            if name.startswith("_"):
                continue
            resolved = package.resolve(module, name)
            if not isinstance(resolved, Def):
                continue
            ident = spelled(resolved.ident, top)
            symbols[spelled(f"{module}.{name}", top)] = ident
            if ident not in defs:
                defs[ident] = package.signature(resolved) or {"kind": "value"}
    receivers = {}
    for receiver, path in RECEIVERS.items():
        module, _, name = path.replace("keras", top, 1).rpartition(".")
        resolved = package.resolve(module, name)
        if isinstance(resolved, Def) and isinstance(resolved.node, ast.ClassDef):
            receivers[receiver] = package.members(resolved)
    return {
        "modules": sorted(spelled(m, top) for m in modules),
        "symbols": dict(sorted(symbols.items())),
        "defs": dict(sorted(defs.items())),
        "receivers": receivers,
    }
