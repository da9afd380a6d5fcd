"""What the stand-in packages of tools/cpu-reference share: a package whose submodules (any name below it) are
made on import, each resolving every attribute through one function of (module name, attribute name)."""
import importlib.abc
import importlib.machinery
import sys
import types


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, package, resolve):
        self.prefix, self.resolve = package + ".", resolve

    def find_spec(self, fullname, path, target=None):
        if fullname.startswith(self.prefix):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        cache = {}

        def attribute(name, _module=spec.name):
            if name.startswith("__"):
                raise AttributeError(name)
            if name not in cache:
                cache[name] = self.resolve(_module, name)
            return cache[name]

        module.__getattr__ = attribute
        return module

    def exec_module(self, module):
        pass


def serve_submodules(package, resolve):
    """Every `package.*` submodule imported from now on answers attributes with resolve(module, name)."""
    sys.meta_path.insert(0, _Finder(package, resolve))
