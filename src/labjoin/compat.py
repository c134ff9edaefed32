"""Run existing DataJoint code on labjoin without editing it: ``alias_datajoint()``.

After one call, ``import datajoint`` and ``import datajoint.<module>`` give labjoin::

    import labjoin.compat
    labjoin.compat.alias_datajoint()     # first, before anything imports datajoint

    import datajoint as dj                # labjoin, under DataJoint's name
    from datajoint.errors import DuplicateError
    from element_lab import lab           # third-party DataJoint code runs unchanged

or, for a script that must not change at all, ``python -m labjoin.compat script.py [args...]``.

The alias is an import hook (a finder and loader on ``sys.meta_path``, ahead of the regular
path finders), so it works even where the real ``datajoint`` package is installed. Where a
DataJoint module has an exact labjoin counterpart, ``datajoint.<module>`` *is* that labjoin
module (``datajoint.errors is labjoin.errors``); other modules are small stand-ins that forward
each name to where labjoin keeps it. The top-level ``datajoint`` is such a stand-in for
``labjoin``, so ``datajoint.Manual is labjoin.Manual`` and ``datajoint.config is labjoin.config``,
while submodule imports never overwrite attributes of labjoin's own packages.
``datajoint.__version__`` is the DataJoint API version labjoin follows (0.14.10);
``datajoint.__labjoin_version__`` is labjoin's.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import logging
import os
import re
import shutil
import sys
import types
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import errors

__all__ = ["DATAJOINT_API_VERSION", "MODULES", "alias_datajoint", "is_aliased", "main", "unalias_datajoint"]

DATAJOINT_API_VERSION = "0.14.10"

# datajoint.<module> -> labjoin modules searched in order for each name (the first is the module
# itself when the list has one entry and no extras: then datajoint.<module> is that module).
MODULES: dict[str, tuple[str, ...]] = {
    "datajoint.errors": ("labjoin.errors",),
    "datajoint.blob": ("labjoin.heading.blob",),
    "datajoint.settings": ("labjoin.settings",),
    "datajoint.connection": ("labjoin.connection.connection",),
    "datajoint.schemas": ("labjoin.schema",),
    "datajoint.table": ("labjoin.tables.table", "labjoin.tables.log"),
    "datajoint.user_tables": ("labjoin.tables.tiers",),
    "datajoint.expression": ("labjoin.tables.query", "labjoin.algebra.conditions"),
    "datajoint.condition": ("labjoin.algebra.conditions",),
    "datajoint.autopopulate": ("labjoin.populate.autopopulate",),
    "datajoint.jobs": ("labjoin.populate.jobs",),
    "datajoint.heading": ("labjoin.heading.heading",),
    "datajoint.dependencies": ("labjoin.graph.dependencies",),
    "datajoint.diagram": ("labjoin.graph.diagram_api",),
    "datajoint.hash": ("labjoin.populate.jobs",),
    "datajoint.utils": ("labjoin.tables.tiers",),
    "datajoint.fetch": ("labjoin.tables.query",),
    "datajoint.logging": (),
    "datajoint.version": (),
}


# -- names DataJoint has and labjoin keeps elsewhere, or not at all ----------------------------------
def user_choice(prompt: str, choices: Sequence[str] = ("yes", "no"), default: str | None = None) -> str:
    """Ask until one of ``choices`` is typed (DataJoint's ``utils.user_choice``)."""
    shown = "/".join(f"[{c}]" if c == default else c for c in choices)
    while True:
        answer = input(f"{prompt} [{shown}]: ").strip().lower()
        if not answer and default is not None:
            return default
        if answer in choices:
            return answer


def get_master(full_table_name: str) -> str:
    """The master's full name of a part table's full name, or ``''`` (DataJoint's ``utils.get_master``)."""
    m = re.fullmatch(r"(?P<master>`\w+`.`#?\w+)__\w+`", full_table_name)
    return m.group("master") + "`" if m else ""


def is_camel_case(s: str) -> bool:
    return bool(re.fullmatch(r"[A-Z][a-zA-Z0-9]*", s))


def to_camel_case(s: str) -> str:
    """``'all_the_things'`` -> ``'AllTheThings'``."""
    return re.sub(r"(^|[_\W])+([a-zA-Z])", lambda m: m.group(2).upper(), s)


def from_camel_case(s: str) -> str:
    """``'AllTheThings'`` -> ``'all_the_things'`` (a CamelCase name is required)."""
    from .tables.tiers import to_snake_case

    return to_snake_case(s)


def safe_write(filepath: str | os.PathLike[str], blob: bytes) -> None:
    """Write ``blob`` to a temporary file beside ``filepath``, then move it into place."""
    path = Path(filepath)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".saving")
        tmp.write_bytes(blob)
        tmp.replace(path)


def safe_copy(src: str | os.PathLike[str], dest: str | os.PathLike[str], overwrite: bool = False) -> None:
    """Copy ``src`` to ``dest`` through a temporary file (skipped when ``dest`` exists, unless overwrite)."""
    src, dest = Path(src), Path(dest)
    if not (dest.exists() and src.samefile(dest)) and (overwrite or not dest.is_file()):
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(dest.suffix + ".copying")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)


def uuid_from_buffer(buffer: bytes = b"", *, init_string: str = "") -> uuid.UUID:
    """The MD5 of ``init_string`` + ``buffer`` as a UUID (DataJoint's content hash for stores)."""
    h = hashlib.md5(init_string.encode())
    h.update(buffer)
    return uuid.UUID(bytes=h.digest())


def uuid_from_file(filepath: str | os.PathLike[str], *, init_string: str = "") -> uuid.UUID:
    h = hashlib.md5(init_string.encode())
    with open(filepath, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return uuid.UUID(bytes=h.digest())


class ClassProperty:
    """A read-only property of the class (DataJoint's ``utils.ClassProperty``)."""

    def __init__(self, f: Callable[[Any], Any]) -> None:
        self.f = f

    def __get__(self, obj: Any, owner: Any) -> Any:
        return self.f(owner)


def _extras() -> dict[str, dict[str, Any]]:
    from . import __version__

    logger = logging.getLogger("labjoin")
    return {
        "datajoint": {"__version__": DATAJOINT_API_VERSION, "__labjoin_version__": __version__,
                      "__labjoin__": True, "key": "KEY", "logger": logger,
                      "key_hash": _lazy("labjoin.populate.jobs", "key_hash")},
        "datajoint.utils": {"user_choice": user_choice, "get_master": get_master, "is_camel_case": is_camel_case,
                            "to_camel_case": to_camel_case, "from_camel_case": from_camel_case,
                            "safe_write": safe_write, "safe_copy": safe_copy, "ClassProperty": ClassProperty},
        "datajoint.hash": {"uuid_from_buffer": uuid_from_buffer, "uuid_from_file": uuid_from_file},
        "datajoint.fetch": {"key": "KEY"},
        "datajoint.logging": {"logger": logger},
        "datajoint.version": {"__version__": DATAJOINT_API_VERSION},
        "datajoint.table": {"Log": _lazy("labjoin.tables.log", "LogTable")},
        "datajoint.jobs": {"JobTable": _lazy("labjoin.populate.jobs", "JobTable")},
    }


class _Lazy:
    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def get(self) -> Any:
        return getattr(importlib.import_module(self.module), self.name)


def _lazy(module: str, name: str) -> _Lazy:
    return _Lazy(module, name)


# -- the import hook -------------------------------------------------------------------------------
def _stand_in(name: str, targets: tuple[str, ...], extras: dict[str, Any], module: types.ModuleType) -> None:
    """Make ``module`` forward every name to ``extras``, then to ``targets`` in order."""

    def __getattr__(attr: str) -> Any:
        if attr in extras:
            value = extras[attr]
            return value.get() if isinstance(value, _Lazy) else value
        if not attr.startswith("__"):
            for target in targets:
                mod = importlib.import_module(target)
                if hasattr(mod, attr):
                    return getattr(mod, attr)
        raise AttributeError(
            f"module {name!r} (labjoin's alias of DataJoint) has no attribute {attr!r}: labjoin does not provide "
            f"it under this name. See docs/compatibility.md for what the alias maps."
        )

    def __dir__() -> list[str]:
        names = set(extras)
        for target in targets:
            names.update(getattr(importlib.import_module(target), "__all__", ()))
        return sorted(names)

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    module.__dir__ = __dir__  # type: ignore[method-assign]
    module.__doc__ = f"labjoin's stand-in for {name} (forwards to {', '.join(targets) or 'its own names'})."
    public = set(extras)
    for target in targets:
        public.update(getattr(importlib.import_module(target), "__all__", ()))
    module.__all__ = sorted(n for n in public if not n.startswith("__"))  # type: ignore[attr-defined]
    for key, value in extras.items():
        if key.startswith("__") and not isinstance(value, _Lazy):
            setattr(module, key, value)


class _DataJointAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``datajoint`` and ``datajoint.*`` and loads labjoin in their place."""

    def __repr__(self) -> str:  # shown in repr(datajoint): <module 'datajoint' (labjoin's alias ...)>
        return "labjoin's alias of DataJoint"

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "datajoint" and not fullname.startswith("datajoint."):
            return None
        if fullname != "datajoint" and fullname not in MODULES:
            known = ", ".join(sorted(MODULES))
            err = errors.CompatibilityError(
                f"labjoin's datajoint alias has no module {fullname!r}. It maps {known}. Import the labjoin "
                "name instead, or open an issue if existing code needs this module."
            )
            err.name = fullname  # so `from datajoint import X` reports a missing name, as usual
            raise err
        return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname == "datajoint")

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # a plain module; exec_module fills it or swaps in labjoin's

    def exec_module(self, module: types.ModuleType) -> None:
        name = module.__name__
        extras = _extras()
        if name == "datajoint":
            module.__path__ = []  # a package, whose submodules only this finder provides
            _stand_in(name, ("labjoin",), extras["datajoint"], module)
            return
        targets = MODULES[name]
        if len(targets) == 1 and name not in extras:
            # An exact counterpart: the import returns labjoin's module itself (the import system
            # returns what sys.modules holds once the loader is done).
            sys.modules[name] = importlib.import_module(targets[0])
            return
        _stand_in(name, targets, extras.get(name, {}), module)


_FINDER = _DataJointAliasFinder()


def _loaded_by_alias() -> set[str]:
    out = set()
    for n, m in sys.modules.items():
        if n == "datajoint" or n.startswith("datajoint."):
            spec = getattr(m, "__spec__", None)
            if getattr(m, "__labjoin__", False) or (spec is not None and spec.loader is _FINDER) \
                    or getattr(m, "__name__", "").startswith("labjoin"):
                out.add(n)
    return out


def is_aliased() -> bool:
    """True when ``import datajoint`` gives labjoin in this process."""
    return _FINDER in sys.meta_path


def alias_datajoint() -> None:
    """Make ``import datajoint`` (and ``datajoint.*``) give labjoin in this process.

    Call it before anything imports ``datajoint``. Calling it again does nothing.

    Raises
    ------
    CompatibilityError
        The real ``datajoint`` package is already imported: its classes and labjoin's cannot be
        mixed in one process. Call ``alias_datajoint()`` first (at the top of the script, or run
        it with ``python -m labjoin.compat script.py``).
    """
    if is_aliased():
        return
    real = [n for n in sys.modules if (n == "datajoint" or n.startswith("datajoint."))
            and n not in _loaded_by_alias()]
    if real:
        where = getattr(sys.modules[real[0]], "__file__", None) or "an unknown location"
        raise errors.CompatibilityError(
            f"The real datajoint package is already imported ({', '.join(sorted(real)[:3])} from {where}), "
            "so labjoin cannot stand in for it in this process. Call labjoin.compat.alias_datajoint() before "
            "anything imports datajoint, or run the program with `python -m labjoin.compat script.py`."
        )
    sys.meta_path.insert(0, _FINDER)


def unalias_datajoint() -> None:
    """Remove the alias (and the ``datajoint`` modules it provided) from this process."""
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for n in _loaded_by_alias():
        del sys.modules[n]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m labjoin.compat script.py [args...]``: run a DataJoint script on labjoin."""
    import runpy

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m labjoin.compat script.py [args...]   (or -m module [args...])\n"
              "Runs the program with `import datajoint` giving labjoin.")
        return 0 if args else 2
    alias_datajoint()
    if args[0] == "-m" and len(args) > 1:
        sys.argv = args[1:]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    from labjoin.compat import main as _main  # the importable copy holds the one finder

    sys.exit(_main())
