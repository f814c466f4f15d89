"""The foundation every stage stands on: errors, paths, the reference files, atomic files, images, run settings and
shared figure helpers. Taught in ``00_environment_and_data.ipynb``.

Submodules: ``errors`` (one error class per stage), ``paths`` (project, reference, cache and build folders),
``assets`` (+ ``assets.toml``: the registered reference files, verified by sha256), ``files`` (atomic writes),
``images`` (reading any image safely), ``settings`` (QUICK mode, seeds, the machine), ``figures``, ``lazy``.
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "errors": "FasError positive_int",
    "figures": "image_grid",
    "files": "atomic_write atomic_write_text atomic_output",
    "images": "check_image read_image",
    "paths": "build_dir cache_dir project_root reference_dir shipped_model",
    "settings": "environment_rows quick_default seed_everything",
})
