import inspect

import structkit
import structkit._errors as errors


def test_all_is_explicit_and_importable():
    assert len(structkit.__all__) == len(set(structkit.__all__))
    for name in structkit.__all__:
        assert getattr(structkit, name) is not None, name


def test_every_public_error_is_exported_and_rooted():
    public = {n for n, o in vars(errors).items() if inspect.isclass(o) and issubclass(o, Exception)}
    assert public <= set(structkit.__all__)
    for name in public:
        assert issubclass(getattr(structkit, name), structkit.StructkitError)


def test_public_functions_take_options_by_keyword_only():
    for func in (structkit.diagnose, structkit.diagnose_many, structkit.run):
        params = list(inspect.signature(func).parameters.values())
        positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert len(positional) <= 2, func.__name__
        assert func.__doc__


def test_import_does_not_load_vllm():
    import subprocess
    import sys

    code = "import sys, structkit; print('vllm' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
